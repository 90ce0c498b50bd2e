"""Four OS processes share one ledger file: nothing is lost and the audit chain holds.

Each process proposes, approves what needs a human, clears and records outcomes through the
Python API at the same time as the others, so every kind of write transaction contends for the
file lock. Promotion is automatic after a few outcomes and incidents demote, so levels change
under the processes' feet too. Each process counts what the API told it it did; the ledger must
hold exactly that.
"""

from __future__ import annotations

import multiprocessing
import traceback
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier
from pathlib import Path
from typing import Any

import pytest

from supervisor import ledger
from supervisor.approvals import ApprovalState
from supervisor.models import Outcome, Proposal
from supervisor.service import Supervisor
from supervisor.trust_ladder import load_ladder
from tests.supervisor.conftest import T0, action, sql

pytestmark = pytest.mark.slow
PROCESSES = 4
PER_PROCESS = 25
# Generous: the processes take turns on the file, and the machine may be busy with other work.
RESULT_TIMEOUT_S = 120.0


def proposal(worker: int, i: int) -> Proposal:
    """The i-th proposal of a worker: SQL writes, drops, reads and pipeline actions in turn."""
    agent = f"agent-{worker}"
    kinds = (
        lambda: sql(f"UPDATE shop.orders SET status = 'retry' WHERE id = {worker * 1000 + i}", agent=agent),
        lambda: action("retry_task", {"job": f"etl_{worker}", "task": f"load_{i}"}, agent=agent),
        lambda: sql(f"DROP TABLE scratch.tmp_{worker}_{i}", agent=agent),
        lambda: action("scale_compute", {"resource": f"workers_{worker}", "replicas": 4, "from_replicas": 2}, agent=agent),
        lambda: sql(f"SELECT count(*) FROM shop.orders WHERE id = {i}", agent=agent),
        lambda: sql(f"UPDATE shop.orders SET note = 'x' WHERE id = {i}", agent=agent, confidence=0.3),
    )
    return kinds[i % len(kinds)]()


def outcome_of(i: int) -> Outcome:
    """Mostly successes, some failures and incidents, so types are promoted and demoted."""
    if i % 11 == 5:
        return Outcome.INCIDENT
    if i % 7 == 3:
        return Outcome.FAILURE
    return Outcome.SUCCESS


def work(worker: int, ladder_path: str, ledger_path: str, count: int) -> dict[str, Any]:
    """Run one worker's proposals through the API; returns what the API says it recorded."""
    sup = Supervisor(ladder=load_ladder(ladder_path), ledger=ledger_path)
    ids: list[str] = []
    events: Counter[str] = Counter()
    outcomes: Counter[tuple[str, str]] = Counter()
    for i in range(count):
        now = T0 + timedelta(minutes=worker * count + i)
        recorded = sup.propose(proposal(worker, i), now=now)
        ids.append(recorded.proposal_id)
        events["proposal.created"] += 1
        request = recorded.approval
        if request is not None:
            events["approval.requested"] += 1
            for voter in sup.ladder.approvers_of(request.group):
                if request.state is ApprovalState.APPROVED:
                    break
                request = sup.approve(recorded.proposal_id, by=voter, now=now)
                events["approval.vote"] += 1
            assert request.state is ApprovalState.APPROVED, request
            events["approval.approved"] += 1
        elif not recorded.decision.decision.may_run:
            continue
        # Another process may have demoted the type since: then the gate refuses and nothing runs.
        cleared = sup.authorize(recorded.proposal_id, now=now, actor=f"runner-{worker}")
        events["execution.cleared" if cleared.may_run else "execution.refused"] += 1
        if not cleared.may_run:
            continue
        result = sup.record_outcome(recorded.proposal_id, outcome_of(i), by=f"runner-{worker}", now=now)
        events["outcome.recorded"] += 1
        events["level.changed"] += 0 if result.level_change is None else 1
        outcomes[result.action_type, result.outcome.value] += 1
    return {"ids": ids, "events": dict(events), "outcomes": dict(outcomes)}


def run_worker(worker: int, ladder_path: str, ledger_path: str, count: int, start: Barrier, results: Queue[tuple[int, Any]]) -> None:
    """Process entry point: wait for the others, work, and report the result or the traceback."""
    try:
        start.wait(timeout=RESULT_TIMEOUT_S)
        results.put((worker, work(worker, ladder_path, ledger_path, count)))
    except BaseException:
        results.put((worker, traceback.format_exc()))  # or the parent waits for the timeout
        raise


def test_four_processes_lose_nothing(tmp_path: Path, ladder_file: Callable[..., Path]) -> None:
    ladder_path = ladder_file(
        promotion={"min_outcomes": 3, "max_error_rate": 0.6, "min_days_at_level": 0, "sign_off": False},
        action_types={"sql.write": {"initial": 1, "ceiling": 3, "approvals_required": 2}},
    )
    ledger_path = tmp_path / "ledger.duckdb"
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(PROCESSES)
    results: Queue[tuple[int, Any]] = context.Queue()
    processes = [
        context.Process(target=run_worker, args=(w, str(ladder_path), str(ledger_path), PER_PROCESS, start, results)) for w in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    try:
        reports = dict(results.get(timeout=RESULT_TIMEOUT_S) for _ in processes)
    finally:
        for process in processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
    failed = {w: report for w, report in reports.items() if isinstance(report, str)}
    assert not failed, "\n".join(f"worker {w}:\n{tb}" for w, tb in failed.items())

    ids = [pid for report in reports.values() for pid in report["ids"]]
    events = sum((Counter(report["events"]) for report in reports.values()), Counter[str]())
    outcomes = sum((Counter(report["outcomes"]) for report in reports.values()), Counter[tuple[str, str]]())
    assert len(ids) == len(set(ids)) == PROCESSES * PER_PROCESS
    # the run took every path: approvals by two people, refusals or not, level changes
    assert events["approval.approved"] and events["outcome.recorded"] and events["level.changed"]

    sup = Supervisor(ladder=load_ladder(ladder_path), ledger=ledger_path)
    with sup.store.transaction() as db:
        stored = {p.proposal_id for p in ledger.proposals_since(db, None)}
    assert stored == set(ids)

    now = T0 + timedelta(days=1)
    for row in sup.ladder_status(now=now):
        recorded = {o.value: outcomes.get((row.action_type, o.value), 0) for o in Outcome}
        assert (row.successes, row.failures, row.incidents, row.rolled_back) == tuple(recorded.values()), row.action_type
    assert sum(outcomes.values()) == events["outcome.recorded"]

    entries = list(sup.audit_entries())
    assert Counter(entry.event for entry in entries) == events
    created = Counter(entry.subject for entry in entries if entry.event == "proposal.created")
    assert created == Counter(ids)
    report = sup.verify_audit()
    assert report.ok, report
    assert report.entries == sum(events.values())
