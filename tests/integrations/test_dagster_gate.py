"""The Dagster gate on a real instance: what the sensor launches, what the op refuses, what flows back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pytest
from dagster import (
    DagsterRunStatus,
    ExecuteInProcessResult,
    RunRequest,
    SensorResult,
    SkipReason,
    build_run_status_sensor_context,
    build_sensor_context,
)

from integrations.dagster.resource import TAG_PROPOSAL
from supervisor.models import Proposal
from tests.integrations.conftest import Deployment

pytestmark = pytest.mark.slow

UPDATE = "UPDATE orders SET status = 'placed' WHERE status = 'stuck' AND id < 100"


def now() -> datetime:
    return datetime.now(UTC)


def sql(text: str, **fields: Any) -> Proposal:
    return Proposal(**{"sql": text, "dialect": "duckdb", "agent": "fixer", "confidence": 0.9, "team": "data-platform", **fields})


def tick(dep: Deployment, cursor: str | None = None) -> tuple[list[RunRequest], str | None, str | None]:
    """Evaluate the gate sensor once: its run requests, its skip message and its new cursor."""
    context = build_sensor_context(instance=dep.instance, resources={"trustladder": dep.trustladder}, cursor=cursor)
    result = dep.gate(context)
    if isinstance(result, SkipReason):
        return [], result.skip_message, context.cursor
    assert isinstance(result, SensorResult)
    return list(result.run_requests or []), None, result.cursor


def execute(dep: Deployment, proposal_id: str, tags: dict[str, str] | None = None) -> ExecuteInProcessResult:
    config = {"ops": {"execute_proposal": {"config": {"proposal_id": proposal_id}}}}
    return dep.job.execute_in_process(run_config=config, instance=dep.instance, resources=dep.resources, tags=tags or {TAG_PROPOSAL: proposal_id}, raise_on_error=False)


def report(dep: Deployment, result: ExecuteInProcessResult) -> None:
    """Feed a finished run to the run-status sensor for its status."""
    run = dep.instance.get_run_by_id(result.run_id)
    assert run is not None
    event = result.get_run_success_event() if result.success else result.get_run_failure_event()
    sensor = next(s for s in dep.outcomes if s.name.endswith(run.status.value.lower()))
    sensor(build_run_status_sensor_context(sensor_name=sensor.name, dagster_event=event, dagster_instance=dep.instance, dagster_run=run, resources={"trustladder": dep.trustladder}))


def audit_events(dep: Deployment, subject: str) -> list[str]:
    return [entry.event for entry in dep.supervisor().audit_entries() if entry.subject == subject]


def step_failure(result: ExecuteInProcessResult) -> str:
    failures = [event for event in result.all_events if event.is_step_failure]
    assert failures, "the step did not fail"
    return str(failures[0].step_failure_data.error.message)


def test_sensor_launches_exactly_the_allowed_and_approved_once_each(deploy: Any) -> None:
    dep = deploy()
    sup = dep.supervisor()
    allowed = sup.propose(sql("SELECT count(*) FROM orders"), now=now()).proposal_id
    approved = sup.propose(sql(UPDATE), now=now()).proposal_id
    pending = sup.propose(sql("UPDATE orders SET amount = 0 WHERE id = 1"), now=now()).proposal_id
    rejected = sup.propose(sql("DELETE FROM events WHERE event_type = 'bot'"), now=now()).proposal_id
    expired = sup.propose(sql("DROP TABLE customers"), now=now() - timedelta(hours=2)).proposal_id
    sup.approve(approved, by="alice", now=now())
    sup.reject(rejected, by="bob", reason="keep bot events for the fraud model", now=now())

    requests, _, cursor = tick(dep)
    assert sorted(r.run_key for r in requests) == sorted([allowed, approved])
    assert {r.run_key: r.tags["trustladder/decision"] for r in requests} == {allowed: "allow", approved: "approved"}
    assert all(r.run_config == {"ops": {"execute_proposal": {"config": {"proposal_id": r.run_key}}}} for r in requests)
    assert "approval.expired" in audit_events(dep, expired)

    requests, skipped, _ = tick(dep, cursor)
    assert requests == [] and skipped is not None and "1 proposal(s) waiting for a human" in skipped
    sup.approve(pending, by="bob", now=now())
    assert [r.run_key for r in tick(dep, cursor)[0]] == [pending]


def test_a_backlog_is_worked_through_in_bounded_ticks(deploy: Any) -> None:
    dep = deploy(max_per_tick=3)
    sup = dep.supervisor()
    ids = [sup.propose(sql(f"SELECT {i}"), now=now()).proposal_id for i in range(7)]
    seen: list[str] = []
    cursor = None
    for _ in range(3):
        requests, _, cursor = tick(dep, cursor)
        assert len(requests) <= 3
        seen += [r.run_key for r in requests]
    assert sorted(seen) == sorted(ids)


def test_an_unreadable_cursor_starts_over(deploy: Any) -> None:
    dep = deploy()
    pid = dep.supervisor().propose(sql("SELECT 1"), now=now()).proposal_id
    assert [r.run_key for r in tick(dep, cursor="not json")[0]] == [pid]


def test_an_approved_update_runs_in_a_transaction_and_its_outcome_moves_the_ladder(deploy: Any) -> None:
    promotion = {"min_outcomes": 2, "min_days_at_level": 0, "sign_off": False, "max_error_rate": 0.9, "confidence": 0.5}
    dep = deploy(promotion=promotion, demotion={"window": 2})
    sup = dep.supervisor()
    stuck = dep.query("SELECT count(*) FROM orders WHERE status = 'stuck' AND id < 100")[0][0]
    for _ in range(2):
        pid = sup.propose(sql(UPDATE), now=now()).proposal_id
        sup.approve(pid, by="alice", now=now())
        (request,), _, _ = tick(dep)
        result = execute(dep, request.run_key, request.tags)
        assert result.success
        report(dep, result)
    assert stuck > 0 and dep.query("SELECT count(*) FROM orders WHERE status = 'stuck' AND id < 100")[0][0] == 0
    effects = [e for e in sup.audit_entries() if e.event == "execution.effect"]
    assert [json.loads(e.payload)["rows_affected"] for e in effects] == [stuck, 0]
    (write,) = [s for s in sup.ladder_status(now=now()) if s.action_type == "sql.write"]
    assert (write.level, write.successes) == (2, 2)

    # Level 2 notifies: the next one is launched without a human, and a failing one demotes.
    failing = sup.propose(sql("UPDATE orders SET amount = CAST(status AS DOUBLE) WHERE id = 1"), now=now()).proposal_id
    (request,), _, _ = tick(dep)
    assert request.run_key == failing and request.tags["trustladder/decision"] == "notify"
    result = execute(dep, failing, request.tags)
    assert not result.success
    report(dep, result)
    report(dep, result)  # a second report of the same run records nothing more
    (write,) = [s for s in sup.ladder_status(now=now()) if s.action_type == "sql.write"]
    assert (write.failures, write.level) == (1, 1)


@pytest.mark.parametrize("case", ["pending", "modified", "expired approval", "second execution"])
def test_the_op_refuses_and_audits_a_violation(deploy: Any, case: str) -> None:
    dep = deploy(action_types={"sql.write": {"initial": 2, "ceiling": 3}}, escalations={"min_confidence": 0.95})
    sup = dep.supervisor()
    before = dep.query("SELECT count(*) FROM orders WHERE status = 'stuck'")
    proposed = now() - timedelta(days=2) if case == "expired approval" else now()
    pid = sup.propose(sql(UPDATE), now=proposed).proposal_id  # confidence below 0.95: needs a human
    if case == "modified":
        sup.approve(pid, by="alice", now=now())
        with duckdb.connect(dep.trustladder.ledger_path) as ledger:
            ledger.execute("UPDATE proposals SET proposal = replace(proposal::VARCHAR, 'id < 100', 'id < 100000')::JSON WHERE id = ?", [pid])
    elif case == "expired approval":
        sup.approve(pid, by="alice", now=proposed + timedelta(minutes=5))
    elif case == "second execution":
        sup.approve(pid, by="alice", now=now())
        assert execute(dep, pid).success
        before = dep.query("SELECT count(*) FROM orders WHERE status = 'stuck'")
    result = execute(dep, pid)
    assert not result.success
    expected = {"pending": "not_approved", "modified": "changed", "expired approval": "approval_expired", "second execution": "already_executed"}[case]
    assert f"({expected})" in step_failure(result) and "policy violation" in step_failure(result)
    assert "policy.violation" in audit_events(dep, pid)
    assert dep.query("SELECT count(*) FROM orders WHERE status = 'stuck'") == before
    (write,) = [s for s in sup.ladder_status(now=now()) if s.action_type == "sql.write"]
    assert write.level == 1  # demoted from 2 by demotion.on_violation
    assert sup.verify_audit().ok


def test_reconciliation_records_an_outcome_the_run_status_sensor_missed(deploy: Any) -> None:
    dep = deploy()
    sup = dep.supervisor()
    pid = sup.propose(sql("SELECT count(*) FROM events"), now=now()).proposal_id
    (request,), _, cursor = tick(dep)
    result = execute(dep, pid, request.tags)
    assert result.success and sup.get(pid)[2] == []
    tick(dep, cursor)
    assert [row["outcome"] for row in sup.get(pid)[2]] == ["success"]
    tick(dep, cursor)
    assert [row["outcome"] for row in sup.get(pid)[2]] == ["success"]


def test_a_refused_run_counts_as_no_outcome(deploy: Any) -> None:
    dep = deploy()
    sup = dep.supervisor()
    pid = sup.propose(sql(UPDATE), now=now()).proposal_id
    result = execute(dep, pid)
    report(dep, result)
    assert sup.get(pid)[2] == []
    run = dep.instance.get_run_by_id(result.run_id)
    assert run is not None and run.status is DagsterRunStatus.FAILURE
    assert audit_events(dep, pid)[-1] == "run.finished"


def test_a_pipeline_action_runs_through_its_handler(deploy: Any) -> None:
    dep = deploy()
    sup = dep.supervisor()
    rotate = Proposal(action="rotate_credential", params={"credential": "warehouse_loader", "system": "duckdb"}, agent="fixer", confidence=0.9, team="data-platform")
    pid = sup.propose(rotate, now=now()).proposal_id
    sup.approve(pid, by="alice", now=now())
    (request,), _, _ = tick(dep)
    assert request.tags["trustladder/action_type"] == "pipeline.rotate_credential"
    assert execute(dep, pid, request.tags).success
    assert dep.query("SELECT proposal_id, action, params->>'credential' FROM ops_log") == [(pid, "rotate_credential", "warehouse_loader")]


def test_an_action_without_a_handler_fails_the_step_and_runs_nothing(deploy: Any) -> None:
    dep = deploy()
    sup = dep.supervisor()
    pid = sup.propose(Proposal(action="update_schema_mapping", params={"source": "crm", "mapping": '{"e_mail": "email"}'}, agent="fixer", confidence=0.9, team="data-platform"), now=now()).proposal_id
    sup.approve(pid, by="alice", now=now())
    result = execute(dep, pid)
    assert not result.success
    assert "no handler for action 'update_schema_mapping'" in step_failure(result)


def test_a_run_naming_an_unknown_proposal_is_skipped_not_fatal(deploy: Any) -> None:
    dep = deploy()
    sup = dep.supervisor()
    pid = sup.propose(sql("SELECT 1"), now=now()).proposal_id
    result = execute(dep, "not-a-proposal", {TAG_PROPOSAL: "not-a-proposal"})
    assert not result.success and "no proposal 'not-a-proposal'" in step_failure(result)
    report(dep, result)  # logged and skipped
    (request,), _, _ = tick(dep)
    assert request.run_key == pid
