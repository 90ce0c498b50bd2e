"""Re-execute a failed Dagster run from its failed steps, from a sensor or an op.

Dagster's public re-execution (``ReexecutionOptions``) runs in the calling process, and the UI's
needs a workspace. A sensor or op has neither, but it has the instance and the failed run, which
carries the origins of its code location: that is enough to build the run the UI would build
(failed and skipped steps only, with the parent's outputs as known state) and hand it to the
instance's run queue, from which the daemon launches it in the run's own code location.
"""

from __future__ import annotations

from collections.abc import Mapping

from dagster import DagsterInstance, DagsterRun, DagsterRunStatus
from dagster._core.execution.api import create_execution_plan
from dagster._core.execution.plan.state import KnownExecutionState
from dagster._core.run_coordinator.queued_run_coordinator import QueuedRunCoordinator
from dagster._core.storage.tags import (
    PARENT_RUN_ID_TAG,
    RESUME_RETRY_TAG,
    ROOT_RUN_ID_TAG,
)
from dagster._utils.hosted_user_process import recon_job_from_origin

from supervisor.errors import UsageError

# Tags a re-execution must not inherit from its parent: they belong to the parent's launch.
_NOT_INHERITED = ("dagster/sensor_name", "dagster/schedule_name", "dagster/run_key", "dagster/tick", "dagster/backfill")


def reexecute_from_failure(instance: DagsterInstance, run_id: str, *, tags: Mapping[str, str] | None = None) -> DagsterRun:
    """Queue a re-execution of a failed run's failed and skipped steps; returns the new run.

    Raises:
        UsageError: the run does not exist, did not fail, ran in process (no code location to
            launch in), or the instance has no run queue.
    """
    parent = instance.get_run_by_id(run_id)
    if parent is None:
        raise UsageError(f"no Dagster run {run_id} in this instance")
    if parent.status not in (DagsterRunStatus.FAILURE, DagsterRunStatus.CANCELED):
        raise UsageError(f"run {run_id} is {parent.status.value}; only a failed or canceled run is re-executed from failure")
    if parent.job_code_origin is None or parent.remote_job_origin is None:
        raise UsageError(f"run {run_id} ran in process and has no code location to launch in; re-execute it where it ran")
    if not isinstance(instance.run_coordinator, QueuedRunCoordinator):
        raise UsageError("re-execution needs the instance's run queue: set run_coordinator to QueuedRunCoordinator in dagster.yaml")
    recon = recon_job_from_origin(parent.job_code_origin)
    step_keys, known_state = KnownExecutionState.build_resume_retry_reexecution(instance, parent_run=parent)
    plan = create_execution_plan(recon, run_config=parent.run_config, step_keys_to_execute=step_keys, known_state=known_state, instance_ref=instance.get_ref())
    inherited = {key: value for key, value in parent.tags.items() if not key.startswith(_NOT_INHERITED)}
    run = instance.create_run_for_job(
        job_def=recon.get_definition(),
        execution_plan=plan,
        run_config=parent.run_config,
        tags={
            **inherited,
            **(tags or {}),
            PARENT_RUN_ID_TAG: parent.run_id,
            ROOT_RUN_ID_TAG: parent.root_run_id or parent.run_id,
            RESUME_RETRY_TAG: "true",
        },
        root_run_id=parent.root_run_id or parent.run_id,
        parent_run_id=parent.run_id,
        resolved_op_selection=parent.resolved_op_selection,
        remote_job_origin=parent.remote_job_origin,
        job_code_origin=parent.job_code_origin,
    )
    return instance.submit_run(run.run_id, workspace=None)  # type: ignore[arg-type]  # the queue needs no workspace
