"""The ledger's summaries (``outcome_counts``, ``action_types``, ``open_proposals``, ``awaiting_runs``) against a full recount.

``ledger.evidence`` reads the summary and the latest outcomes instead of every outcome; these
tests recount every outcome the plain way and require the same evidence, after random outcomes,
supersedes and level changes (out of time order, across months, back to earlier levels), after a
migration from schema 1, and after a bulk load followed by ``ledger.rebuild_summary``. The gate's
search for proposals that may run (``open_proposals``) and for launches no run has reported on
(``awaiting_runs``) must find what a search of every proposal, decision, launch and run finds. A summary edited behind trustladder's back fails ``audit verify``.
"""

from __future__ import annotations

import contextlib
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from supervisor import ledger
from supervisor.errors import UsageError
from supervisor.models import Outcome
from supervisor.promotion import Evidence, LevelChange
from supervisor.service import Supervisor
from supervisor.store import MIGRATIONS, SCHEMA_VERSION
from tests.supervisor.conftest import T0, action, sql, verify_after_edit

pytestmark = pytest.mark.slow
WRITE = "UPDATE shop.orders SET status = 'retry' WHERE id = 42"
TYPES = ("sql.write", "sql.drop", "pipeline.retry_task", "pipeline.unheard_of")


def recount(db: duckdb.DuckDBPyConnection, initial: dict[str, int], *, window: int, only: str | None = None) -> dict[str, Evidence]:
    """The evidence of every type (or of one), from every row of the ledger: what the summary must reproduce."""
    current = {name: (level, since) for name, level, since in db.execute(
        "SELECT action_type, arg_max(to_level, seq), max(changed_at) FROM level_changes GROUP BY 1").fetchall()}
    first = dict(db.execute("SELECT action_type, min(created_at) FROM proposals GROUP BY 1").fetchall())
    result = {}
    for name in [only] if only else sorted(set(current) | set(first) | set(initial)):
        level, since = current.get(name, (initial.get(name, 1), first.get(name)))
        at_level = [outcome for (outcome,) in db.execute(
            """SELECT outcome FROM outcomes WHERE action_type = ? AND level = ? AND NOT superseded AND recorded_at >= ?
               ORDER BY seq DESC""", [name, level, since or datetime(1, 1, 1)]).fetchall()]
        totals = dict(db.execute("SELECT outcome, count(*) FROM outcomes WHERE action_type = ? AND NOT superseded GROUP BY 1", [name]).fetchall())
        result[name] = Evidence(
            action_type=name,
            level=level,
            since=ledger.utc(since) if since else None,
            outcomes_at_level=len(at_level),
            errors_at_level=sum(outcome != "success" for outcome in at_level),
            recent=tuple(reversed([outcome != "success" for outcome in at_level[:window]])),
            successes=totals.get("success", 0),
            failures=totals.get("failure", 0),
            incidents=totals.get("incident", 0),
            rolled_back=totals.get("rolled_back", 0),
        )
    return result


def assert_summary_matches(sup: Supervisor) -> None:
    initial = sup._initial()
    with sup.store.transaction() as db:
        assert ledger.summary_mismatch(db) is None
        for window in (1, 3, 20):
            assert ledger.evidence(db, initial, window=window) == recount(db, initial, window=window), window
        for name in TYPES:
            assert ledger.evidence(db, initial, window=3, action_type=name) == recount(db, initial, window=3, only=name)


def random_history(sup: Supervisor, rng: random.Random, steps: int) -> None:
    """Outcomes (often superseding), level changes and proposals at random times within four months."""
    for name, proposal in (("sql.write", sql(WRITE)), ("sql.drop", sql("DROP TABLE scratch.t")), ("pipeline.retry_task", action("retry_task", {"job": "j", "task": "t"}))):
        sup.propose(proposal, now=T0 + timedelta(days=rng.randint(0, 60)))
    with sup.store.transaction() as db:
        levels = dict.fromkeys(TYPES, 1)
        for step in range(steps):
            at = T0 + timedelta(minutes=rng.randint(0, 120 * 24 * 60))
            name = rng.choice(TYPES)
            if rng.random() < 0.06:
                to_level = rng.choice([level for level in (1, 2, 3, 4) if level != levels[name]])
                change = LevelChange(action_type=name, from_level=levels[name], to_level=to_level, reason="manual", message="test", evidence={})
                ledger.insert_level_change(db, change, actor=None, policy_version="test", now=at)
                levels[name] = to_level
                continue
            # Mostly the type's current level, sometimes another, so that every summary row kind occurs.
            level = levels[name] if rng.random() < 0.8 else rng.randint(1, 4)
            outcome = rng.choice([Outcome.SUCCESS] * 6 + [Outcome.FAILURE, Outcome.INCIDENT, Outcome.ROLLED_BACK])
            ledger.insert_outcome(
                db, proposal_id=f"p{rng.randint(0, step // 2)}", action_type=name, level=level, outcome=outcome, note=None, actor=None, now=at
            )


@pytest.mark.parametrize("seed", range(4))
def test_the_summary_matches_a_full_recount_after_random_outcomes_and_level_changes(make_supervisor: Callable[..., Supervisor], seed: int) -> None:
    sup = make_supervisor()
    random_history(sup, random.Random(seed), 400)
    assert_summary_matches(sup)


def test_the_summary_counts_from_the_moment_a_level_was_reached_within_its_month(make_supervisor: Callable[..., Supervisor]) -> None:
    sup = make_supervisor()
    sup.propose(sql(WRITE), now=T0)
    with sup.store.transaction() as db:
        for minutes, level in ((0, 1), (10, 2), (20, 2), (40, 2), (50, 2)):  # level 2 before and after it is reached again
            ledger.insert_outcome(db, proposal_id=f"p{minutes}", action_type="sql.write", level=level, outcome=Outcome.FAILURE, note=None, actor=None,
                                  now=T0 + timedelta(minutes=minutes))
        for minutes, (before, after) in ((5, (1, 2)), (15, (2, 3)), (30, (3, 2))):
            change = LevelChange(action_type="sql.write", from_level=before, to_level=after, reason="manual", message="test", evidence={})
            ledger.insert_level_change(db, change, actor=None, policy_version="test", now=T0 + timedelta(minutes=minutes))
        found = ledger.evidence(db, sup._initial(), window=20, action_type="sql.write")["sql.write"]
    assert (found.level, found.outcomes_at_level, found.errors_at_level, found.recent) == (2, 2, 2, (True, True))
    assert_summary_matches(sup)


def test_a_schema_1_ledger_is_migrated_with_its_summary(tmp_path: Path, make_supervisor: Callable[..., Supervisor]) -> None:
    path = tmp_path / "ledger.duckdb"
    with duckdb.connect(str(path)) as raw:
        for statement in MIGRATIONS[0]:
            raw.execute(statement)
        raw.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        raw.execute("INSERT INTO proposals SELECT 'old' || i, TIMESTAMP '2026-01-01' + to_minutes(i), 'a', 't', 'sql.write', 'h', '{}', '{}' FROM range(3) r(i)")
        raw.execute(
            """INSERT INTO outcomes SELECT i + 1, 'old' || (i % 3), 'sql.write', 1 + (i > 150)::INT,
                      CASE WHEN i % 7 = 0 THEN 'failure' ELSE 'success' END, NULL, NULL, TIMESTAMP '2026-01-01' + to_hours(i), i < 3
               FROM range(300) r(i)"""
        )
        raw.execute("INSERT INTO level_changes VALUES (1, 'sql.write', 1, 2, 'promotion', '{}', NULL, TIMESTAMP '2026-01-01' + to_hours(150), 'v')")
    sup = make_supervisor()
    assert_summary_matches(sup)
    with sup.store.transaction() as db:
        assert db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    random_history(sup, random.Random(7), 100)  # and it is kept up to date from there on
    assert_summary_matches(sup)


def test_rows_loaded_directly_need_rebuild_summary(make_supervisor: Callable[..., Supervisor], tmp_path: Path) -> None:
    sup = make_supervisor()
    sup.propose(sql(WRITE), now=T0)
    with duckdb.connect(str(tmp_path / "ledger.duckdb")) as raw:
        raw.execute("INSERT INTO outcomes SELECT i + 1, 'bulk' || i, 'sql.write', 1, 'success', NULL, NULL, TIMESTAMP '2026-03-02' + to_minutes(i), false FROM range(50) r(i)")
    with sup.store.transaction() as db:
        assert "the outcome summary disagrees with the outcomes table (sql.write at level 1" in (ledger.summary_mismatch(db) or "")
        ledger.rebuild_summary(db)
    assert_summary_matches(sup)


@pytest.mark.parametrize(
    ("edit", "problem"),
    [
        ("UPDATE outcome_counts SET n = n + 1", "the outcome summary disagrees with the outcomes table"),
        ("UPDATE outcome_counts SET first_seq = first_seq + 1", "the outcome summary disagrees with the outcomes table"),
        ("DELETE FROM outcome_counts", "the outcome summary disagrees with the outcomes table"),
        ("UPDATE action_types SET first_proposed = first_proposed - INTERVAL 1 DAY", "the action_types summary disagrees with the proposals table"),
        ("INSERT INTO open_proposals SELECT id, created_at FROM proposals", "the open_proposals summary disagrees with the proposals table"),
        ("INSERT INTO open_proposals SELECT 'x' || i, TIMESTAMP '2026-01-01' FROM range(2) r(i)", "the open_proposals summary disagrees"),
        ("INSERT INTO awaiting_runs SELECT id, id, created_at FROM proposals", "the awaiting_runs summary disagrees with the launches table"),
    ],
)
def test_editing_the_summary_is_caught_by_audit_verify(make_supervisor: Callable[..., Supervisor], tmp_path: Path, edit: str, problem: str) -> None:
    report = verify_after_edit(make_supervisor(), tmp_path / "ledger.duckdb", edit)
    assert not report.ok and problem in (report.problem or ""), report.problem


# What may run, from every proposal and decision: the definition ``ledger.ready_candidates`` keeps.
READY_RECOUNT = """
    WITH latest AS (SELECT proposal_id, arg_max(decision, seq) AS decision FROM decisions GROUP BY 1)
    SELECT p.id FROM proposals p JOIN latest l ON l.proposal_id = p.id LEFT JOIN approvals a ON a.proposal_id = p.id
    WHERE (l.decision IN ('allow', 'notify') OR a.state = 'approved')
      AND p.id NOT IN (SELECT proposal_id FROM launches) AND p.id NOT IN (SELECT proposal_id FROM executions)
      AND p.id NOT IN (SELECT proposal_id FROM outcomes)
    ORDER BY coalesce(a.resolved_at, p.created_at), p.id"""
# Launches no run has reported on, from every launch and run.
WAITING_RECOUNT = """SELECT proposal_id, run_key, requested_at FROM launches WHERE proposal_id NOT IN (SELECT proposal_id FROM runs)
                     ORDER BY requested_at, proposal_id"""
PROPOSALS = (
    sql("SELECT status, count(*) FROM shop.orders GROUP BY 1"),
    sql(WRITE),
    sql("DELETE FROM shop.orders WHERE id = 7"),
    action("retry_task", {"job": "j", "task": "t"}),
)


@pytest.mark.parametrize("seed", range(3))
def test_the_gate_finds_what_a_search_of_every_proposal_and_launch_finds(make_supervisor: Callable[..., Supervisor], seed: int) -> None:
    rng = random.Random(seed)
    # Reads run at once, retries act and notify, writes wait for a human; approvals outlast the walk.
    sup = make_supervisor(action_types={"pipeline.retry_task": {"initial": 2, "ceiling": 2}}, approvals={"timeout_minutes": 720})
    ids: list[str] = []
    seen_ready = launched = 0
    for step in range(120):
        now = T0 + timedelta(minutes=step)
        move = rng.random()
        if move < 0.4 or not ids:
            ids.append(sup.propose(rng.choice(PROPOSALS), now=now).proposal_id)
        elif move < 0.55:
            pending = [stored.proposal_id for stored, _ in sup.queue()]
            if pending:
                sup.approve(rng.choice(pending), by="alice", now=now)
        elif move < 0.62:
            sup.authorize(rng.choice(ids), now=now, actor="worker")
        elif move < 0.7:
            waiting = [pid for pid, _, _ in sup.launched_without_run(limit=100)]
            if waiting:  # the run the launch asked for starts, and meets the gate
                pid = rng.choice(waiting)
                sup.authorize(pid, now=now, actor="worker", run_id=f"run-{pid}")
        elif move < 0.8:
            with contextlib.suppress(UsageError):  # a second plain outcome for one proposal is refused
                sup.record_outcome(rng.choice(ids), rng.choice([Outcome.SUCCESS, Outcome.FAILURE]), now=now)
        else:
            launched += len(sup.launch_ready(now=now, limit=rng.randint(1, 4)).ready)
        with sup.store.transaction() as db:
            expected = [row[0] for row in db.execute(READY_RECOUNT).fetchall()]
            found = [pid for pid, _ in ledger.ready_candidates(db, after=None, limit=10_000)]
            waiting = db.execute(WAITING_RECOUNT).fetchall()
            assert [(pid, key, ledger.utc(at)) for pid, key, at in waiting] == ledger.launches_without_run(db, limit=10_000), step
            assert ledger.summary_mismatch(db) is None
        assert found == expected, step
        seen_ready = max(seen_ready, len(found))
    assert seen_ready >= 3 and launched >= 3, "the walk must leave proposals ready and launch some, or the comparison proves little"


def test_a_launched_proposal_listed_as_open_again_is_not_launched_twice(make_supervisor: Callable[..., Supervisor], tmp_path: Path) -> None:
    sup = make_supervisor()
    pid = sup.propose(sql("SELECT status, count(*) FROM shop.orders GROUP BY 1"), now=T0).proposal_id
    assert [ready.proposal_id for ready in sup.launch_ready(now=T0).ready] == [pid]
    with duckdb.connect(str(tmp_path / "ledger.duckdb")) as raw:
        raw.execute("INSERT INTO open_proposals SELECT id, created_at FROM proposals")
    assert "the open_proposals summary disagrees" in (sup.verify_audit().problem or "")

    batch = sup.launch_ready(now=T0 + timedelta(minutes=1))

    assert batch.ready == () and [(b.proposal_id, b.reason.code) for b in batch.blocked] == [(pid, "already_launched")]
    assert sup.verify_audit().ok  # the gate settled it again
    assert sup.launch_ready(now=T0 + timedelta(minutes=2)).blocked == ()
