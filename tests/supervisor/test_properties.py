"""Properties that must hold for every input: no outcome sequence lifts a type above its ceiling,
and no destructive proposal is ever allowed to run without a human."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from classifiers import assess
from supervisor.models import Decision, Outcome
from supervisor.policy import decide
from supervisor.promotion import Evidence, after_outcome
from supervisor.service import Supervisor
from supervisor.trust_ladder import Ladder, parse_ladder
from tests.supervisor.conftest import T0, sql

OUTCOMES = st.sampled_from(list(Outcome))


def _ladder(ceiling: int, initial: int, sign_off: bool = False) -> Ladder:
    return parse_ladder(
        f"""
version: 1
action_types:
  pipeline.retry_task: {{initial: {initial}, ceiling: {ceiling}}}
  sql.drop: {{initial: {initial}, ceiling: {ceiling}}}
  sql.unscoped_delete: {{initial: {initial}, ceiling: {ceiling}}}
  sql.truncate: {{initial: {initial}, ceiling: {ceiling}}}
  sql.unscoped_update: {{initial: {initial}, ceiling: {ceiling}}}
  sql.overwrite: {{initial: {initial}, ceiling: {ceiling}}}
promotion: {{min_outcomes: 3, max_error_rate: 0.9, min_days_at_level: 0, sign_off: {str(sign_off).lower()}}}
demotion: {{window: 5, max_error_rate: 0.5}}
""".encode()
    )


def _replay(ladder: Ladder, action_type: str, outcomes: list[Outcome]) -> list[int]:
    """Levels after each outcome, applying level changes the way the ledger does."""
    level, at_level, totals, levels = ladder.policy_for(action_type).initial, [], dict.fromkeys(Outcome, 0), []
    for i, outcome in enumerate(outcomes):
        at_level.append(outcome)
        totals[outcome] += 1
        evidence = Evidence(
            action_type=action_type,
            level=level,
            since=T0,
            outcomes_at_level=len(at_level),
            errors_at_level=sum(o.is_error for o in at_level),
            recent=tuple(o.is_error for o in at_level[-5:]),
        )
        change = after_outcome(evidence, outcome, ladder, now=T0 + timedelta(hours=i))
        if change is not None:
            assert abs(change.to_level - change.from_level) == 1
            level, at_level = change.to_level, []
        levels.append(level)
    return levels


@settings(max_examples=300, deadline=None)
@given(ceiling=st.integers(1, 4), data=st.data(), outcomes=st.lists(OUTCOMES, max_size=120))
def test_no_outcome_sequence_lifts_a_type_above_its_ceiling(ceiling: int, data: st.DataObject, outcomes: list[Outcome]) -> None:
    initial = data.draw(st.integers(1, ceiling))
    ladder = _ladder(ceiling, initial)
    levels = _replay(ladder, "pipeline.retry_task", outcomes)
    assert all(1 <= level <= ceiling for level in levels)


@settings(max_examples=100, deadline=None)
@given(outcomes=st.lists(OUTCOMES, min_size=1, max_size=60))
def test_an_incident_or_rollback_never_leaves_a_type_higher(outcomes: list[Outcome]) -> None:
    ladder = _ladder(4, 2)
    levels = [2, *_replay(ladder, "pipeline.retry_task", outcomes)]
    for before, after, outcome in zip(levels, levels[1:], outcomes):
        if outcome.is_severe:
            assert after == max(1, before - 1)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(outcomes=st.lists(OUTCOMES, min_size=1, max_size=12), ceiling=st.integers(1, 3))
def test_the_ledger_agrees_with_the_ceiling(make_supervisor: Callable[..., Supervisor], outcomes: list[Outcome], ceiling: int) -> None:
    sup = make_supervisor(
        action_types={"sql.write": {"initial": 1, "ceiling": ceiling}},
        promotion={"sign_off": False, "min_outcomes": 2, "max_error_rate": 0.9, "min_days_at_level": 0},
    )
    start = T0
    with sup.store.transaction() as db:  # hypothesis reuses the fixture's ledger: start each example empty
        for table in ("outcomes", "level_changes", "approvals", "votes", "decisions", "proposals", "executions", "audit"):
            db.execute(f"DELETE FROM {table}")
    for i, outcome in enumerate(outcomes):
        now = start + timedelta(minutes=i)
        recorded = sup.propose(sql("UPDATE shop.orders SET s = 1 WHERE id = 2"), now=now)
        if recorded.approval is not None:
            sup.approve(recorded.proposal_id, by="alice", now=now)
        sup.record_outcome(recorded.proposal_id, outcome, now=now)
        row = next(r for r in sup.ladder_status(now=now) if r.action_type == "sql.write")
        assert 1 <= row.level <= ceiling


DESTRUCTIVE = [
    "DROP TABLE shop.orders",
    "drop view if exists shop.v",
    "TRUNCATE TABLE shop.orders",
    "DELETE FROM shop.orders",
    "DELETE FROM shop.orders WHERE 1 = 1",
    "DELETE FROM shop.orders WHERE id > 0 OR TRUE",
    "UPDATE shop.orders SET status = 'x'",
    "UPDATE shop.orders SET status = 'x' WHERE NOT FALSE",
    "CREATE OR REPLACE TABLE shop.orders AS SELECT 1 AS id",
    "ALTER TABLE shop.orders DROP COLUMN status",
    "WITH d AS (DELETE FROM shop.orders RETURNING *) SELECT * FROM d",
]
PREFIXES = ["", "SELECT 1;\n", "-- a harmless fix\n", "/* DROP nothing */ ", "INSERT INTO shop.log VALUES (1);\n"]


def _casing(text: str, flips: list[bool]) -> str:
    return "".join(c.swapcase() if flip and c.isalpha() else c for c, flip in zip(text, flips + [False] * len(text)))


@settings(max_examples=400, deadline=None)
@given(
    statement=st.sampled_from(DESTRUCTIVE),
    prefix=st.sampled_from(PREFIXES),
    flips=st.lists(st.booleans(), max_size=12),
    level=st.integers(1, 4),
    ceiling=st.integers(1, 4),
    confidence=st.none() | st.floats(0, 1),
    team=st.none() | st.sampled_from(["commerce", "finance"]),
    mode=st.sampled_from(["enforce", "observe"]),
    hours=st.integers(0, 24 * 60),
)
def test_a_destructive_proposal_is_never_allowed_without_approval(
    statement: str, prefix: str, flips: list[bool], level: int, ceiling: int, confidence: float | None, team: str | None, mode: str, hours: int
) -> None:
    # even a ladder that lifted every destructive type to level 4 and dropped non_negotiable
    ladder = _ladder(ceiling, 1).model_copy(update={"mode": mode})
    fields: dict[str, Any] = {"confidence": confidence, "team": team}
    proposal = sql(prefix + _casing(statement, flips), **fields)
    assessment = assess(proposal)
    assert assessment.destructive
    decision = decide(proposal, assessment, ladder, level=level, now=T0 + timedelta(hours=hours))
    assert not decision.decision.may_run
    assert decision.decision in (Decision.REQUIRE_APPROVAL, Decision.DENY)


@pytest.mark.parametrize("statement", DESTRUCTIVE)
def test_destructive_statements_are_destructive(statement: str) -> None:
    assert assess(sql(statement)).destructive
