"""The inline gate in a job the team already has, and the demo code location's wiring."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import duckdb
import pytest
import yaml
from dagster import (
    DagsterEventType,
    Definitions,
    JobDefinition,
    ReexecutionOptions,
    execute_job,
    instance_for_test,
    reconstructable,
)
from dagster._core.run_coordinator.queued_run_coordinator import QueuedRunCoordinator

from dagster_project.warehouse import seed
from integrations.dagster import reexecute_from_failure
from integrations.dagster.resource import utcnow
from supervisor.errors import UsageError
from supervisor.service import Supervisor

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
OLD_EVENTS = "SELECT count(*) FROM events WHERE ts < TIMESTAMP '2026-07-01'"


def nightly_cleanup() -> JobDefinition:
    """The demo's inline-gated job, built from the environment's paths (reconstructable in subprocesses)."""
    import dagster_project.definitions

    return importlib.reload(dagster_project.definitions).defs.resolve_job_def("nightly_cleanup")


def steps_started(instance: object, run_id: str) -> set[str]:
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_START).records  # type: ignore[attr-defined]
    return {record.event_log_entry.step_key for record in records}


def test_the_inline_gate_pauses_and_the_run_resumes_from_that_step_after_approval(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger, warehouse = tmp_path / "ledger.duckdb", tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("TRUSTLADDER_LADDER", str(ROOT / "trust_ladder.yaml"))
    monkeypatch.setenv("TRUSTLADDER_LEDGER", str(ledger))
    monkeypatch.setenv("TRUSTLADDER_WAREHOUSE", str(warehouse))
    with duckdb.connect(str(warehouse)) as conn:
        seed(conn)
        old = conn.execute(OLD_EVENTS).fetchall()[0][0]
    assert old > 0
    job = reconstructable(nightly_cleanup)
    with instance_for_test() as instance:
        with execute_job(job, instance) as first:
            assert not first.success
            (failure,) = [e for e in first.all_events if e.is_step_failure]
            message = str(failure.step_failure_data.error.message)
        match = re.search(r"proposal (dg-[0-9a-f]{12}) needs approval .*`trustladder approve \1 --by WHO`", message)
        assert match, message
        proposal_id = match.group(1)
        run = instance.get_run_by_id(first.run_id)
        assert run is not None and run.tags["trustladder/awaiting"] == proposal_id
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            assert conn.execute(OLD_EVENTS).fetchall()[0][0] == old  # nothing ran

        # An in-process run has no code location to launch a re-execution in; that is said plainly.
        with pytest.raises(UsageError, match="ran in process"):
            reexecute_from_failure(instance, first.run_id)

        sup = Supervisor.from_paths(ladder=ROOT / "trust_ladder.yaml", ledger=ledger)
        sup.approve(proposal_id, by="alice", now=utcnow())
        with execute_job(job, instance, reexecution_options=ReexecutionOptions.from_failure(first.run_id, instance)) as second:
            assert second.success
            assert steps_started(instance, second.run_id) == {"purge_old_events"}  # the count is not re-run
        with duckdb.connect(str(warehouse), read_only=True) as conn:
            assert conn.execute(OLD_EVENTS).fetchall()[0][0] == 0
        cleared = [e for e in sup.audit_entries() if e.subject == proposal_id and e.event == "execution.cleared"]
        assert len(cleared) == 1 and second.run_id in cleared[0].payload


def test_the_demo_code_location_loads_and_its_instance_queues_warehouse_writers_one_at_a_time(tmp_path: Path) -> None:
    from dagster_project import defs

    Definitions.validate_loadable(defs)
    assert {job.name for job in defs.resolve_all_job_defs()} >= {"trustladder_execute", "agent_proposes_fixes", "nightly_cleanup"}
    assert {sensor.name for sensor in defs.sensors or []} == {"trustladder_gate", "trustladder_outcome_success", "trustladder_outcome_failure", "trustladder_outcome_canceled"}
    settings = yaml.safe_load((ROOT / "dagster_project" / "dagster.yaml").read_text())
    with instance_for_test(overrides=settings) as instance:
        coordinator = instance.run_coordinator
        assert isinstance(coordinator, QueuedRunCoordinator)
        limits = coordinator.get_run_queue_config().tag_concurrency_limits
        assert {"key": "trustladder/warehouse", "value": "write", "limit": 1} in limits
