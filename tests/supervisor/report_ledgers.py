"""Ledgers with known histories for the report tests, built through the real API.

Each builder records what it did in plain Python (counts, waits, verdicts), so the tests compare
the report with figures computed here, not with what the report itself computed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from statistics import NormalDist
from typing import Any

from supervisor.models import Decision, Outcome
from supervisor.review import Verdict
from supervisor.service import Supervisor
from supervisor.trust_ladder import load_ladder
from tests.supervisor.conftest import T0, action, sql

WRITE = "UPDATE shop.orders SET status = 'pending' WHERE id = {i}"
SCRIPT = "<script>alert(1)</script>"
# Waits (minutes) before each sql.write decision in the over-gated history: a known p50 and p95.
WAITS = [5, 7, 10, 12, 15, 30, 45, 60, 240, 600, 3, 8, 20, 25, 90, 120, 35, 50, 70, 11]
DROP_REASONS = ["never drop orders"] * 3 + ["use a view instead"] * 2 + [f"not now {SCRIPT}"] * 2 + ["ask the owner", "wrong table", "zzz last"]


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (numpy's default, R type 7)."""
    ordered = sorted(values)
    position = q * (len(ordered) - 1)
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def wilson(errors: int, total: int, confidence: float) -> float:
    """The one-sided Wilson upper bound, written out here from the textbook formula."""
    z = NormalDist().inv_cdf(confidence)
    p = errors / total
    return (p + z * z / (2 * total) + z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))) / (1 + z * z / total)


@dataclass
class History:
    """What a builder recorded: the supervisor, the end of the history, and per-type facts."""

    supervisor: Supervisor
    end: datetime
    facts: dict[str, Any] = field(default_factory=dict)


def enforce_history(make_supervisor: Callable[..., Supervisor], start: datetime = T0) -> History:
    """Approvals, rejections with reasons, waits, a promotion and an incident demotion, in enforce mode.

    - sql.write: 20 decisions, 19 approved, 1 rejected, after the ``WAITS``; then 5 successes,
      promotion to 2 (signed off), one more notify-level write that ends in an incident: back to 1.
    - pipeline.retry_task: 19 approved (too few decisions to flag).
    - pipeline.scale_compute: 18 approved, 2 rejected (90%: not flagged).
    - sql.drop: 10 rejected with ``DROP_REASONS``, and one left to expire.
    """
    # Requests wait up to 12 hours here, so the slowest decisions (10 hours) are still in time.
    sup = make_supervisor(promotion={"min_outcomes": 5, "max_error_rate": 0.5, "min_days_at_level": 0}, approvals={"timeout_minutes": 720})
    t = start
    waits: dict[str, list[float]] = {"sql.write": [], "pipeline.retry_task": [], "pipeline.scale_compute": [], "sql.drop": []}
    with sup.held():
        write_ids = []
        for i, wait in enumerate(WAITS):
            pid = sup.propose(sql(WRITE.format(i=i)), now=t).proposal_id
            if i == 7:
                sup.reject(pid, by="bob", reason="wrong order id", now=t + timedelta(minutes=wait))
            else:
                sup.approve(pid, by="alice", now=t + timedelta(minutes=wait))
                write_ids.append(pid)
            waits["sql.write"].append(wait)
            t += timedelta(hours=12)
        for pid in write_ids[:5]:
            sup.record_outcome(pid, Outcome.SUCCESS, now=t)
        t += timedelta(hours=1)
        for i in range(19):
            pid = sup.propose(action("retry_task", {"job": "etl", "task": f"load_{i}"}), now=t).proposal_id
            sup.approve(pid, by="alice", now=t + timedelta(minutes=2))
            waits["pipeline.retry_task"].append(2)
            t += timedelta(minutes=30)
        for i in range(20):
            pid = sup.propose(action("scale_compute", {"resource": "workers", "replicas": 4 + i, "from_replicas": 2}), now=t).proposal_id
            if i < 2:
                sup.reject(pid, by="bob", reason="costs too much", now=t + timedelta(minutes=1))
            else:
                sup.approve(pid, by="alice", now=t + timedelta(minutes=1))
            waits["pipeline.scale_compute"].append(1)
            t += timedelta(minutes=30)
        for i, reason in enumerate(DROP_REASONS):
            pid = sup.propose(sql(f"DROP TABLE shop.orders_{i}", reason=f"agent says {SCRIPT}"), now=t).proposal_id
            sup.reject(pid, by="alice", reason=reason, now=t + timedelta(minutes=4))
            waits["sql.drop"].append(4)
            t += timedelta(minutes=10)
        expired = sup.propose(sql("DROP TABLE shop.old_orders"), now=t).proposal_id
        t += timedelta(hours=13)
        report = sup.tick(now=t)
        assert [r.proposal_id for r in report.expired] == [expired]
    promotion_due_at = t
    sup.promote("sql.write", by="bob", now=t)
    t += timedelta(days=1)
    notified = sup.propose(sql(WRITE.format(i=99)), now=t)
    assert notified.decision.decision is Decision.NOTIFY
    assert sup.authorize(notified.proposal_id, now=t).may_run
    record = sup.record_outcome(notified.proposal_id, Outcome.INCIDENT, note="locked shop.orders", now=t + timedelta(hours=1))
    assert record.level_change is not None and record.level_change.to_level == 1
    return History(
        supervisor=sup,
        end=t + timedelta(days=1),
        facts={"waits": waits, "promoted_at": promotion_due_at, "demoted_at": t + timedelta(hours=1), "start": start},
    )


def observe_history(make_supervisor: Callable[..., Supervisor], ladder_file: Callable[..., Path], ledger: Path, start: datetime = T0) -> History:
    """Observe mode with both kinds of disagreement, after one enforce-mode proposal that must not count.

    - pipeline.retry_task (level 2: the ladder would notify): 3 approved (agree), 1 rejected (dangerous).
    - sql.write (level 1: the ladder asks a human): 2 rejected (agree), 1 approved (over-gated), 1 pending.
    """
    types = {"pipeline.retry_task": {"initial": 2, "ceiling": 2}}
    enforcing = Supervisor(ladder=load_ladder(ladder_file("enforce.yaml", action_types=types)), ledger=ledger)
    t = start
    before = enforcing.propose(sql(WRITE.format(i=0)), now=t).proposal_id
    enforcing.reject(before, by="alice", reason="enforce-mode rejection", now=t + timedelta(minutes=1))
    sup = Supervisor(ladder=load_ladder(ladder_file("observe.yaml", mode="observe", action_types=types)), ledger=ledger)
    t += timedelta(hours=1)
    ids: dict[str, list[tuple[str, datetime]]] = {"retry": [], "write": []}
    for i in range(4):
        reason = f"task stuck {SCRIPT}" if i == 3 else "task stuck"
        recorded = sup.propose(action("retry_task", {"job": "etl", "task": f"t{i}"}, reason=reason), now=t)
        assert (recorded.decision.decision, recorded.decision.ladder_decision) == (Decision.DENY, Decision.NOTIFY)
        ids["retry"].append((recorded.proposal_id, t))
        t += timedelta(minutes=10)
    for i in range(4):
        recorded = sup.propose(sql(WRITE.format(i=10 + i)), now=t)
        assert recorded.decision.ladder_decision is Decision.REQUIRE_APPROVAL
        ids["write"].append((recorded.proposal_id, t))
        t += timedelta(minutes=10)
    soon = timedelta(minutes=5)
    for pid, at in ids["retry"][:3]:
        sup.approve(pid, by="alice", now=at + soon)
    dangerous, at = ids["retry"][3]
    sup.reject(dangerous, by="bob", reason="the task is failing for a reason: do not retry blindly", now=at + soon)
    for pid, at in ids["write"][:2]:
        sup.reject(pid, by="alice", reason="wrong rows", now=at + soon)
    sup.approve(ids["write"][2][0], by="bob", now=ids["write"][2][1] + soon)
    return History(supervisor=sup, end=t + timedelta(hours=1), facts={"dangerous": dangerous, "enforce": before})


def review_history(make_supervisor: Callable[..., Supervisor], start: datetime = T0) -> History:
    """Four silent level-3 writes, all sampled: one reviewed good, one bad (an incident: 3 -> 2), two pending."""
    sup = make_supervisor(review={"sample": 1.0, "weights": {"sql.*": 1}}, action_types={"sql.write": {"initial": 3, "ceiling": 3}})
    ids = []
    for i in range(4):
        recorded = sup.propose(sql(WRITE.format(i=i)), now=start + timedelta(minutes=i))
        assert recorded.decision.decision is Decision.ALLOW
        assert sup.authorize(recorded.proposal_id, now=start + timedelta(minutes=i)).may_run
        ids.append(recorded.proposal_id)
    sup.review(ids[0], Verdict.GOOD, by="alice", now=start + timedelta(hours=1))
    bad = sup.review(ids[1], Verdict.BAD, by="bob", note="updated the wrong orders", now=start + timedelta(hours=2))
    assert bad.outcome is not None and bad.outcome.level_change is not None
    return History(supervisor=sup, end=start + timedelta(hours=3), facts={"ids": ids})
