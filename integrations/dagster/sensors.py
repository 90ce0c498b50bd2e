"""The gate sensor, which launches only what the ledger clears, and the sensors that report back.

Each gate tick processes approval timeouts, reconciles runs whose results the ledger has not seen,
and hands out at most ``max_per_tick`` cleared proposals: one ``RunRequest`` of the execution job
each (``run_key`` = proposal id, so Dagster never starts two), or, for a step an inline gate
paused, a re-execution of that run from the paused step. A cursor walks a backlog in bounded
steps, so a tick stays far inside Dagster's 60 s limit whatever the queue holds.
"""

# No `from __future__ import annotations` here: Dagster reads the annotations of op, asset and
# sensor functions at definition time to find their context and resources.

import logging
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime, timedelta

from dagster import (
    DagsterInstance,
    DagsterRun,
    DagsterRunStatus,
    DefaultSensorStatus,
    JobDefinition,
    RunRequest,
    RunsFilter,
    RunStatusSensorContext,
    SensorDefinition,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_status_sensor,
    sensor,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from integrations.dagster.reexecute import reexecute_from_failure
from integrations.dagster.resource import (
    TAG_ACTION_TYPE,
    TAG_AWAITING,
    TAG_DECISION,
    TAG_PROPOSAL,
    TrustLadderResource,
    utcnow,
)
from supervisor.errors import SupervisorError
from supervisor.service import Ready, RunRecord, Supervisor

_FINISHED = {DagsterRunStatus.SUCCESS: True, DagsterRunStatus.FAILURE: False, DagsterRunStatus.CANCELED: False}
_log = logging.getLogger(__name__)

# Requests a launch again: the run requests to yield (re-executions are queued directly).
Relauncher = Callable[[DagsterInstance, str], Sequence[RunRequest]]


class GateCursor(BaseModel):
    """The gate sensor's cursor: where the next tick resumes a backlog."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = Field(default=1, description="Version of this cursor's shape.")
    launch: str | None = Field(default=None, description="The ledger's launch cursor, when a backlog is being worked through.")


def build_gate_sensor(
    *,
    job: JobDefinition,
    name: str = "trustladder_gate",
    minimum_interval_seconds: int = 30,
    max_per_tick: int = 50,
    relaunch_after_seconds: float = 300,
    default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED,
) -> SensorDefinition:
    """A sensor that launches ``job`` once for each proposal the ledger clears.

    Args:
        job: the execution job (``build_execution_job``), configured by ``proposal_id``.
        name: the sensor's name.
        minimum_interval_seconds: seconds between ticks.
        max_per_tick: proposals looked at per tick; the cursor takes the rest next tick.
        relaunch_after_seconds: a launch with no run after this long is requested again (the
            same run key, so Dagster starts it at most once).
        default_status: whether the sensor starts running when the code location loads.

    Returns:
        The sensor. It needs the ``trustladder`` resource (``TrustLadderResource``).
    """
    if max_per_tick < 1:
        raise ValueError(f"max_per_tick must be at least 1, got {max_per_tick}")
    op_name = "execute_proposal"

    def run_request(ready: Ready) -> RunRequest:
        return RunRequest(
            run_key=ready.proposal_id,
            job_name=job.name,
            run_config={"ops": {op_name: {"config": {"proposal_id": ready.proposal_id}}}},
            tags={TAG_PROPOSAL: ready.proposal_id, TAG_DECISION: ready.decision.decision.value if ready.decision.decision.may_run else "approved", TAG_ACTION_TYPE: ready.action_type},
        )

    @sensor(name=name, job=job, minimum_interval_seconds=minimum_interval_seconds, default_status=default_status, description="Launches proposals the trust ladder allows or a human approved.")
    def gate(context: SensorEvaluationContext, trustladder: TrustLadderResource) -> SensorResult | SkipReason:
        sup = trustladder.supervisor()
        now = utcnow()
        sup.tick(now=now)
        requests = list(reconcile(context.instance, sup, now=now, max_runs=max_per_tick, relaunch_after=timedelta(seconds=relaunch_after_seconds), request=_relaunch(sup, run_request)))
        batch = sup.launch_ready(now=now, limit=max_per_tick, cursor=_load_cursor(context.cursor).launch, by=f"dagster sensor {name}")
        resumed = []
        for ready in batch.ready:
            if ready.proposal.context.get("dagster_run_id"):
                resumed += _resume(context.instance, ready.proposal_id)
            else:
                requests.append(run_request(ready))
        cursor = GateCursor(launch=batch.cursor).model_dump_json()
        for blocked in batch.blocked:
            context.log.info(f"proposal {blocked.proposal_id} was cleared earlier and may not run now: {blocked.reason.message}")
        if requests or resumed:
            return SensorResult(run_requests=requests, cursor=cursor)
        context.update_cursor(cursor)
        return SkipReason(f"nothing cleared to run; {batch.pending} proposal(s) waiting for a human (trustladder queue)")

    return gate


def build_outcome_sensors(
    *, name_prefix: str = "trustladder", minimum_interval_seconds: int = 30, default_status: DefaultSensorStatus = DefaultSensorStatus.STOPPED
) -> list[SensorDefinition]:
    """Run-status sensors that record each finished run's outcome in the ledger, once per run.

    They cover success, failure and cancellation of every job in the code location: the
    execution job's runs and runs in which an inline gate cleared something. The gate sensor
    reconciles whatever they miss.
    """

    def build(status: DagsterRunStatus) -> SensorDefinition:
        @run_status_sensor(
            run_status=status,
            name=f"{name_prefix}_outcome_{status.value.lower()}",
            minimum_interval_seconds=minimum_interval_seconds,
            default_status=default_status,
            description=f"Records the trust-ladder outcome of runs that end in {status.value}.",
        )
        def outcome(context: RunStatusSensorContext, trustladder: TrustLadderResource) -> None:
            for record in record_finished(trustladder.supervisor(), context.dagster_run, now=utcnow()):
                if record.recorded:
                    context.log.info(f"run {record.run_id}: proposal {record.proposal_id} {'outcome ' + record.outcome.outcome.value if record.outcome else 'not executed'}")

        return outcome

    return [build(status) for status in _FINISHED]


def record_finished(sup: Supervisor, run: DagsterRun, *, now: datetime) -> list[RunRecord]:
    """Record a finished run's result for every proposal it executed or was launched for.

    A run naming a proposal this ledger does not hold (a ledger replaced under a running
    deployment) is logged and skipped, so one bad run cannot stop outcomes for the rest.
    """
    succeeded = _FINISHED.get(run.status)
    if succeeded is None:
        return []
    try:
        return sup.record_run(run.run_id, succeeded=succeeded, status=run.status.value, now=now, proposal_id=run.tags.get(TAG_PROPOSAL))
    except SupervisorError as error:
        _log.warning("run %s: its result was not recorded: %s", run.run_id, error)
        return []


def reconcile(
    instance: DagsterInstance,
    sup: Supervisor,
    *,
    now: datetime,
    max_runs: int,
    relaunch_after: timedelta,
    request: Relauncher,
) -> Iterator[RunRequest]:
    """Record results the run-status sensors missed, and request again launches that never started.

    Run-status sensors look at a few runs per tick and start from "now" on their first tick, so a
    run can finish unseen. Every run the ledger saw clear a proposal, and every launch with no run
    recorded, is looked up in the instance; finished ones are recorded (idempotently).
    """
    for run_id, _ in sup.unfinished_runs(limit=max_runs):
        run = instance.get_run_by_id(run_id)
        if run is not None and run.status in _FINISHED:
            record_finished(sup, run, now=now)
    for proposal_id, _, requested_at in sup.launched_without_run(limit=max_runs):
        runs = instance.get_runs(filters=RunsFilter(tags={TAG_PROPOSAL: proposal_id}), limit=1)
        if runs:
            if runs[0].status in _FINISHED:
                record_finished(sup, runs[0], now=now)
        elif now - requested_at > relaunch_after:
            yield from request(instance, proposal_id)


def _relaunch(sup: Supervisor, run_request: Callable[[Ready], RunRequest]) -> Relauncher:
    def again(instance: DagsterInstance, proposal_id: str) -> Sequence[RunRequest]:
        stored = sup.lookup(proposal_id)
        if stored is None:
            return []
        if stored.proposal.context.get("dagster_run_id"):
            _resume(instance, proposal_id)
            return []
        ready = Ready(proposal_id=proposal_id, proposal=stored.proposal, action_type=stored.assessment.action_type, decision=stored.decision, ready_at=stored.created_at)
        return [run_request(ready)]

    return again


def _resume(instance: DagsterInstance, proposal_id: str) -> list[str]:
    """Re-execute, from the paused step, the latest run an inline gate paused for this proposal."""
    paused = instance.get_runs(filters=RunsFilter(tags={TAG_AWAITING: proposal_id}, statuses=list(_FINISHED)), limit=1)
    if not paused:
        _log.warning("proposal %s was approved but no failed run awaits it; run its job again", proposal_id)
        return []
    try:
        run = reexecute_from_failure(instance, paused[0].run_id, tags={TAG_PROPOSAL: proposal_id})
    except SupervisorError as error:
        _log.warning("cannot resume run %s for proposal %s: %s", paused[0].run_id, proposal_id, error)
        return []
    return [run.run_id]


def _load_cursor(raw: str | None) -> GateCursor:
    if not raw:
        return GateCursor()
    try:
        return GateCursor.model_validate_json(raw)
    except ValidationError:
        _log.warning("the gate sensor's cursor %r does not parse; starting from the oldest ready proposal", raw)
        return GateCursor()
