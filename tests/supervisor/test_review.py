"""Sampled review of silent actions, and observe mode: what humans would have decided."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from supervisor.cli import main
from supervisor.errors import ApprovalError, UsageError
from supervisor.models import Decision, Outcome
from supervisor.policy import decide
from supervisor.review import Verdict, draw, sample
from supervisor.service import Supervisor
from supervisor.trust_ladder import load_ladder
from tests.supervisor.conftest import T0, action, sql

pytestmark = pytest.mark.slow
SILENT_WRITE = {"action_types": {"sql.write": {"initial": 3, "ceiling": 3}}}


def cleared_writes(supervisor: Supervisor, count: int) -> list[str]:
    """Propose and clear ``count`` distinct scoped writes; returns their ids."""
    ids = []
    with supervisor.held():
        for i in range(count):
            recorded = supervisor.propose(sql(f"UPDATE shop.orders SET status = 'x' WHERE id = {i}"), now=T0)
            assert recorded.decision.decision is Decision.ALLOW
            assert supervisor.authorize(recorded.proposal_id, now=T0).may_run
            ids.append(recorded.proposal_id)
    return ids


@pytest.mark.parametrize(
    ("share", "weights", "expected"),
    [(0.05, {"sql.*": 1}, 0.05), (0.2, {"sql.*": 1}, 0.2), (0.1, {"sql.*": 3}, 0.3), (0.5, {"sql.*": 3}, 1.0), (0.5, {"sql.*": 1, "sql.write": 0}, 0.0)],
)
def test_the_sample_is_the_configured_share_of_silent_writes(
    ladder_file: Callable[..., Path], share: float, weights: dict[str, float], expected: float
) -> None:
    ladder = load_ladder(ladder_file(review={"sample": share, "weights": weights}, **SILENT_WRITE))
    proposal = sql("UPDATE shop.orders SET status = 'x' WHERE id = 1")
    assessment = Supervisor(ladder=ladder, ledger=Path("unused")).assess(proposal)
    allowed = decide(proposal, assessment, ladder, level=3, now=T0)
    assert allowed.decision is Decision.ALLOW
    n = 20_000
    picked = sum(sample(f"p{i:06d}", assessment, allowed, ladder) is not None for i in range(n))
    sd = (n * expected * (1 - expected)) ** 0.5
    assert abs(picked - n * expected) <= 4 * sd


def test_only_writes_that_ran_without_a_human_are_candidates(make_supervisor: Callable[..., Supervisor]) -> None:
    ladder = make_supervisor(review={"sample": 1.0, "weights": {"sql.*": 1}}, **SILENT_WRITE).ladder

    def decided(proposal: Any, level: int) -> tuple[Any, Any]:
        assessment = make_supervisor().assess(proposal)
        return assessment, decide(proposal, assessment, ladder, level=level, now=T0)

    read = decided(sql("SELECT * FROM shop.orders"), 4)
    notify = decided(sql("UPDATE shop.orders SET status = 'x' WHERE id = 1"), 2)
    approval = decided(sql("UPDATE shop.orders SET status = 'x' WHERE id = 1", confidence=0.2), 3)
    silent = decided(action("scale_compute", {"resource": "workers", "replicas": 4, "from_replicas": 2}), 3)
    assert [sample("p1", a, d, ladder) for a, d in (read, notify, approval)] == [None, None, None]
    assert silent[1].decision is Decision.ALLOW and sample("p1", *silent, ladder) == 1.0


def test_executions_are_queued_exactly_as_drawn_and_a_bad_review_demotes(make_supervisor: Callable[..., Supervisor]) -> None:
    supervisor = make_supervisor(review={"sample": 0.25, "weights": {"sql.*": 1}}, **SILENT_WRITE)
    ids = cleared_writes(supervisor, 60)
    queued = supervisor.reviews()
    assert {r.proposal_id for r in queued} == {pid for pid in ids if draw(pid) < 0.25}
    assert queued and all(r.level == 3 and r.group == "data-platform" and r.verdict is None for r in queued)

    first, second = queued[0].proposal_id, queued[1].proposal_id
    supervisor.record_outcome(first, Outcome.SUCCESS, now=T0)
    good = supervisor.review(second, Verdict.GOOD, by="alice", now=T0 + timedelta(hours=1))
    assert good.outcome is None and [s.level for s in supervisor.ladder_status(now=T0) if s.action_type == "sql.write"] == [3]

    bad = supervisor.review(first, Verdict.BAD, by="bob", note="updated the wrong orders", now=T0 + timedelta(hours=2))
    assert bad.outcome is not None and bad.outcome.outcome is Outcome.INCIDENT
    assert bad.outcome.level_change is not None and (bad.outcome.level_change.from_level, bad.outcome.level_change.to_level) == (3, 2)
    outcomes = supervisor.get(first)[2]
    assert [(o["outcome"], o["superseded"]) for o in outcomes] == [("success", True), ("incident", False)]
    assert {r.proposal_id for r in supervisor.reviews()} == {r.proposal_id for r in queued} - {first, second}
    assert {r.proposal_id: r.verdict for r in supervisor.reviews(pending=False)} == {first: Verdict.BAD, second: Verdict.GOOD}
    events = [e.event for e in supervisor.audit_entries()]
    assert events.count("review.sampled") == len(queued) and events.count("review.recorded") == 2
    assert supervisor.verify_audit().ok


def test_reviews_are_refused_to_the_wrong_people_and_twice(make_supervisor: Callable[..., Supervisor]) -> None:
    supervisor = make_supervisor(review={"sample": 1.0, "weights": {"sql.*": 1}}, **SILENT_WRITE)
    [pid] = cleared_writes(supervisor, 1)
    with pytest.raises(ApprovalError, match="cannot review"):
        supervisor.review(pid, Verdict.GOOD, by="fixer", now=T0)
    with pytest.raises(ApprovalError, match="not in group data-platform"):
        supervisor.review(pid, Verdict.GOOD, by="mallory", now=T0)
    with pytest.raises(UsageError, match="needs a note"):
        supervisor.review(pid, Verdict.BAD, by="alice", now=T0)
    supervisor.review(pid, Verdict.GOOD, by="alice", now=T0)
    with pytest.raises(ApprovalError, match="already reviewed"):
        supervisor.review(pid, Verdict.BAD, by="bob", note="late", now=T0)
    never_run = supervisor.propose(sql("UPDATE shop.orders SET status = 'y' WHERE id = 2"), now=T0).proposal_id
    with pytest.raises(UsageError, match="was not sampled"):
        supervisor.review(never_run, Verdict.GOOD, by="alice", now=T0)


def test_review_from_the_command_line(tmp_path: Path, ladder_file: Callable[..., Path], capsys: pytest.CaptureFixture[str]) -> None:
    ladder = ladder_file(review={"sample": 1.0, "weights": {"sql.*": 1}}, **SILENT_WRITE)
    base = ["--ladder", str(ladder), "--ledger", str(tmp_path / "ledger.duckdb")]
    [pid] = cleared_writes(Supervisor(ladder=load_ladder(ladder), ledger=tmp_path / "ledger.duckdb"), 1)
    capsys.readouterr()
    assert main([*base, "review", "--json"]) == 0
    assert [r["proposal_id"] for r in json.loads(capsys.readouterr().out)["reviews"]] == [pid]
    assert main([*base, "review", pid, "bad", "--by", "alice", "--note", "wrong rows"]) == 0
    out = capsys.readouterr().out
    assert "counted as an incident for sql.write" in out and "level 3 -> 2" in out
    assert main([*base, "review"]) == 0
    assert "no sampled executions await review" in capsys.readouterr().out
    assert main([*base, "review", pid]) == 2
    assert capsys.readouterr().err.count("\n") == 1


def test_observe_mode_puts_every_write_to_a_human_and_never_runs_it(make_supervisor: Callable[..., Supervisor], ladder_file: Callable[..., Path], tmp_path: Path) -> None:
    supervisor = make_supervisor(mode="observe", action_types={"pipeline.retry_task": {"initial": 2, "ceiling": 2}})
    notify = supervisor.propose(action("retry_task", {"job": "etl", "task": "load"}), now=T0)
    approval = supervisor.propose(sql("DROP TABLE shop.orders"), now=T0)
    read = supervisor.propose(sql("SELECT * FROM shop.orders"), now=T0)
    assert (notify.decision.decision, notify.decision.ladder_decision) == (Decision.DENY, Decision.NOTIFY)
    assert (approval.decision.decision, approval.decision.ladder_decision) == (Decision.REQUIRE_APPROVAL,) * 2
    assert notify.approval is not None and approval.approval is not None and read.approval is None
    assert {stored.proposal_id for stored, _ in supervisor.queue()} == {notify.proposal_id, approval.proposal_id}

    supervisor.approve(notify.proposal_id, by="alice", now=T0)
    supervisor.reject(approval.proposal_id, by="alice", reason="never drop orders", now=T0)
    refused = supervisor.authorize(notify.proposal_id, now=T0)
    assert not refused.may_run and refused.reasons[0].code == "observe_mode"

    # Switching to enforce does not turn what was only observed into a permission to run.
    enforcing = Supervisor(ladder=load_ladder(ladder_file(action_types={"pipeline.retry_task": {"initial": 2, "ceiling": 2}})), ledger=tmp_path / "ledger.duckdb")
    still = enforcing.authorize(notify.proposal_id, now=T0)
    assert not still.may_run and "proposed in observe mode" in still.reasons[0].message
