"""decide() against a table of proposals: every escalation, the level rules, deny and observe."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from classifiers import assess
from supervisor.models import Decision, Proposal
from supervisor.policy import decide, proposal_hash
from supervisor.trust_ladder import Ladder, parse_ladder
from tests.supervisor.conftest import LADDER, T0, merged, sql

TABLE = yaml.safe_load((Path(__file__).resolve().parents[1] / "fixtures" / "supervisor" / "decisions.yaml").read_text())
CASES = TABLE["cases"]


def _ladder(**overrides: Any) -> Ladder:
    data = merged(yaml.safe_load(LADDER.read_text()), {**TABLE["ladder"], **overrides})
    return parse_ladder(yaml.safe_dump(data).encode())


def _proposal(fields: dict[str, Any]) -> Proposal:
    defaults: dict[str, Any] = {"agent": "fixer", "confidence": 0.9, "team": "commerce"}
    if "sql" in fields:
        defaults["dialect"] = "duckdb"
    return Proposal(**{**defaults, **fields})


@pytest.mark.parametrize("case", CASES, ids=[case["title"] for case in CASES])
def test_decision_table(case: dict[str, Any]) -> None:
    ladder = _ladder()
    proposal = _proposal(case["proposal"])
    assessment = assess(proposal)
    level = case.get("level", ladder.policy_for(assessment.action_type).initial)
    now = datetime.fromisoformat(case["now"]) if "now" in case else T0
    decision = decide(proposal, assessment, ladder, level=level, now=now)
    expect = case["expect"]
    assert (decision.decision.value, decision.level, [r.code for r in decision.reasons]) == (expect["decision"], expect["level"], expect["reasons"])
    assert decision.policy_version == ladder.policy_version
    assert all(reason.message for reason in decision.reasons)


def test_reasons_name_what_triggered_them() -> None:
    ladder = _ladder()
    proposal = sql("DELETE FROM finance.ledger WHERE 1 = 1", confidence=0.4, context={"estimated_cost_usd": 20000})
    decision = decide(proposal, assess(proposal), ladder, level=1, now=T0)
    messages = {reason.code: reason.message for reason in decision.reasons}
    assert "finance.ledger" in messages["destructive"]
    assert "0.4" in messages["low_confidence"] and "0.7" in messages["low_confidence"]
    assert messages["cross_team"] == "finance.ledger is owned by team finance; the agent acts for team commerce"
    assert "$20,000" in messages["cost"] and "$10,000" in messages["cost"]


def test_observe_mode_records_the_ladder_decision_and_lets_nothing_run() -> None:
    ladder = _ladder(mode="observe")
    allowed = sql("INSERT INTO shop.orders VALUES (1)")
    decision = decide(allowed, assess(allowed), ladder, level=3, now=T0)
    assert decision.decision is Decision.DENY and decision.ladder_decision is Decision.ALLOW
    assert decision.reasons[0].code == "observe_mode"
    needs_human = sql("DROP TABLE shop.orders")
    decision = decide(needs_human, assess(needs_human), ladder, level=1, now=T0)
    assert decision.decision is Decision.REQUIRE_APPROVAL


def test_unknown_action_type_starts_at_one_with_ceiling_one() -> None:
    ladder = _ladder()
    proposal = Proposal(action="custom_fix", params={"x": "1"}, agent="fixer", confidence=0.99)
    decision = decide(proposal, assess(proposal), ladder, level=ladder.policy_for("pipeline.custom_fix").initial, now=T0)
    assert (decision.level, decision.decision) == (1, Decision.REQUIRE_APPROVAL)


@pytest.mark.parametrize(
    ("first", "second", "same"),
    [
        ("DELETE FROM t WHERE id = 1", "  DELETE FROM t WHERE id = 1\r\n", True),
        ("DELETE FROM t WHERE id = 1", "DELETE FROM t WHERE id = 2", False),
        ("DELETE FROM t WHERE id = 1", "DELETE FROM t WHERE id = 1 OR 1 = 1", False),
    ],
)
def test_proposal_hash_changes_exactly_when_the_action_does(first: str, second: str, same: bool) -> None:
    assert (proposal_hash(sql(first)) == proposal_hash(sql(second))) is same


def test_proposal_hash_covers_dialect_target_and_params() -> None:
    base = sql("DELETE FROM t WHERE id = 1")
    assert proposal_hash(base) != proposal_hash(sql("DELETE FROM t WHERE id = 1", dialect="postgres"))
    assert proposal_hash(base) != proposal_hash(sql("DELETE FROM t WHERE id = 1", target="other"))
    retry = Proposal(action="retry_task", params={"job": "a", "task": "b"})
    assert proposal_hash(retry) == proposal_hash(Proposal(action="retry_task", params={"task": "b", "job": "a"}, agent="x"))
    assert proposal_hash(retry) != proposal_hash(Proposal(action="retry_task", params={"job": "a", "task": "c"}))
