"""The pipeline-action catalog: the actions an agent may propose, their typed params and their risk.

Each action is a pydantic model of its params; unknown params are rejected. Params arrive as
strings from ``--param KEY=VALUE``, so validation is lax: ``"3"`` becomes 3, ``"true"`` True. A
dict param may be given as a JSON object, a list param as a JSON list or as ``a,b,c``. Dates are
``YYYY-MM-DD`` or ``YYYYMMDD``, datetimes ``YYYY-MM-DDTHH:MM[:SS][+HH:MM]``.
That parsing, and the wording of what is wrong with a param, live in ``classifiers.params``.

Actions and params (``?`` marks an optional one):

======================  ==================================================================
retry_task              job, task, run_id?, max_attempts? (>= 1)
rotate_credential       credential, system?
clear_stuck_task        job, task, run_id?
scale_compute           resource, replicas (>= 0), from_replicas? (>= 0)
adjust_timeout          job, task?, timeout_seconds (> 0), from_seconds? (> 0)
dequeue_dlq             queue, count? (>= 1; omitted means all), disposition? (replay|discard)
pre_rotate_credential   credential, system?, expires_at? (date or datetime)
materialize_cte         model, cte
trigger_backfill        asset or job; then start? and end? (dates or datetimes) or
                        partitions? (daily keys); with no range, every partition
modify_schedule         job, cron? (5 fields), from_cron?, enabled? (bool); cron or enabled
update_schema_mapping   source, mapping (JSON object, source column -> target column)
change_source_config    source, settings (JSON object)
schema_migration        target, sql?, description?
pipeline_logic_change   target, description?, diff?
======================  ==================================================================

A ``target`` param that is left out comes from the proposal's ``--target``. A backfill's
``end`` date is inclusive (Dagster partition ranges are), a datetime ``end`` exclusive.

Notes a reviewer must see; each caps the level at 1, so a human approves: ``stop`` (scale to
zero, pause a schedule), ``large_scale`` (more than 4x the replicas), ``discard`` (dead letters
dropped, not replayed), ``long_backfill`` (over ``backfill_max_hours``, or open-ended) and
``unknown_action`` (not in this catalog: the gate fails closed on what it does not understand).
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from difflib import get_close_matches
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
    model_validator,
)

from classifiers.params import (
    Cron,
    Days,
    Name,
    When,
    format_number,
    is_plain,
    lower,
    one_line,
    parse_json,
    to_classification_error,
    to_instant,
)
from supervisor.errors import ClassificationError
from supervisor.models import Assessment, Reason

_ACTION_NAME = re.compile(r"[a-z][a-z0-9_]*")
# The params of an unknown action that name what it touches, so the reviewer still sees them.
_OBJECT_KEYS = frozenset(
    {"job", "task", "asset", "credential", "queue", "resource", "source", "model", "table", "target"}
)


def _run(run_id: str | None) -> str:
    return "" if run_id is None else f" (run {run_id[:8]}…)" if len(run_id) > 8 else f" (run {run_id})"


@dataclass(frozen=True)
class Effect:
    """What the params add to the action's type; every note caps the level at 1."""

    notes: tuple[Reason, ...] = ()
    destructive: bool = False
    span_hours: float | None = None


def _cap(code: str, message: str, *, destructive: bool = False, span_hours: float | None = None) -> Effect:
    return Effect((Reason(code=code, message=message),), destructive, span_hours)


class PipelineAction(BaseModel):
    """Base of every catalog entry: the params of one action, validated laxly as the CLI sends them."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True, allow_inf_nan=False)

    name: ClassVar[str]
    touches: ClassVar[tuple[str, ...]]  # the params that name what the action changes

    @abstractmethod
    def summary(self) -> str:
        """One line a reviewer understands."""

    def effect(self, *, backfill_max_hours: float) -> Effect:
        """The notes, destructiveness and span that the params, not the type, imply."""
        return Effect()

    def objects(self) -> tuple[str, ...]:
        """The names of what the action changes, in param order."""
        return tuple(str(value) for value in (getattr(self, key) for key in self.touches) if value is not None)


class _TaskAction(PipelineAction):
    touches = ("job", "task")
    job: Name = Field(description="The job the task belongs to.")
    task: Name = Field(description="The op, step or asset in the job.")
    run_id: Name | None = Field(default=None, description="The run concerned; the latest if omitted.")


class RetryTask(_TaskAction):
    name = "retry_task"
    max_attempts: int | None = Field(default=None, ge=1, description="How many attempts at most.")

    def summary(self) -> str:
        attempts = f", up to {self.max_attempts} attempts" if self.max_attempts else ""
        return f"retry task {self.task} of job {self.job}{_run(self.run_id)}{attempts}"


class ClearStuckTask(_TaskAction):
    name = "clear_stuck_task"

    def summary(self) -> str:
        return f"clear stuck task {self.task} of job {self.job}{_run(self.run_id)}"


class RotateCredential(PipelineAction):
    name = "rotate_credential"
    touches = ("credential",)
    credential: Name = Field(description="The secret, key or token to replace.")
    system: Name | None = Field(default=None, description="Where the credential lives, e.g. snowflake.")

    def summary(self) -> str:
        return f"rotate credential {self.credential}" + (f" of {self.system}" if self.system else "")


class PreRotateCredential(RotateCredential):
    name = "pre_rotate_credential"
    expires_at: When | None = Field(default=None, description="When the current credential expires.")

    def summary(self) -> str:
        expiry = f" on {self.expires_at.isoformat()}" if self.expires_at else ""
        return f"{super().summary()} before it expires{expiry}"


class ScaleCompute(PipelineAction):
    name = "scale_compute"
    touches = ("resource",)
    resource: Name = Field(description="The worker pool, deployment or warehouse to scale.")
    replicas: int = Field(ge=0, description="The replica count to scale to; 0 stops it.")
    from_replicas: int | None = Field(default=None, ge=0, description="The replica count now.")

    def summary(self) -> str:
        was = f" from {self.from_replicas}" if self.from_replicas is not None else ""
        return f"scale {self.resource}{was} to {self.replicas} replicas" + ("" if self.replicas else " (a stop)")

    def effect(self, *, backfill_max_hours: float) -> Effect:
        if self.replicas == 0:
            return _cap("stop", f"scaling {self.resource} to 0 replicas stops it", destructive=True)
        # Starting from zero, more than 4 replicas counts as large.
        was = self.from_replicas
        if was is not None and self.replicas > 4 * max(was, 1):
            size = "more than 4 at once" if was == 0 else f"{self.replicas / was:.3g}x, more than 4x"
            return _cap("large_scale", f"scaling {self.resource} from {was} to {self.replicas} replicas is {size}")
        return Effect()


class AdjustTimeout(PipelineAction):
    name = "adjust_timeout"
    touches = ("job", "task")
    job: Name = Field(description="The job whose timeout changes.")
    task: Name | None = Field(default=None, description="One op or step of the job; the whole job if omitted.")
    timeout_seconds: float = Field(gt=0, description="The new timeout, in seconds.")
    from_seconds: float | None = Field(default=None, gt=0, description="The timeout now, in seconds.")

    def summary(self) -> str:
        what = f"task {self.task} of job {self.job}" if self.task else f"job {self.job}"
        was = f" (was {format_number(self.from_seconds)}s)" if self.from_seconds is not None else ""
        return f"set the timeout of {what} to {format_number(self.timeout_seconds)}s{was}"


class DequeueDlq(PipelineAction):
    name = "dequeue_dlq"
    touches = ("queue",)
    queue: Name = Field(description="The dead-letter queue to drain.")
    count: int | None = Field(default=None, ge=1, description="How many messages; every message if omitted.")
    disposition: Annotated[Literal["replay", "discard"], BeforeValidator(lower)] = Field(
        default="replay", description="replay the messages to their source, or discard them."
    )

    def summary(self) -> str:
        many = "all messages" if self.count is None else f"{self.count} message{'s' * (self.count != 1)}"
        return f"{self.disposition} {many} from dead-letter queue {self.queue}"

    def effect(self, *, backfill_max_hours: float) -> Effect:
        if self.disposition == "replay":
            return Effect()
        many = "every message" if self.count is None else f"{self.count} message(s)"
        return _cap("discard", f"discarding {many} from {self.queue} loses them; replay to keep them", destructive=True)


class MaterializeCte(PipelineAction):
    name = "materialize_cte"
    touches = ("model", "cte")
    model: Name = Field(description="The model whose CTE becomes a model of its own.")
    cte: Name = Field(description="The CTE to materialize.")

    def summary(self) -> str:
        return f"materialize CTE {self.cte} of model {self.model} as its own model"


class TriggerBackfill(PipelineAction):
    name = "trigger_backfill"
    touches = ("asset", "job")
    asset: Name | None = Field(default=None, description="The asset to backfill (or give job).")
    job: Name | None = Field(default=None, description="The partitioned job to backfill (or give asset).")
    start: When | None = Field(default=None, description="The first partition (a date) or instant (a datetime).")
    end: When | None = Field(default=None, description="The last partition, inclusive, or the end instant, exclusive.")
    partitions: Days | None = Field(default=None, min_length=1, description="Daily partition keys, instead of a range.")

    @model_validator(mode="after")
    def _one_range(self) -> TriggerBackfill:
        if (self.asset is None) == (self.job is None):
            raise ValueError("give exactly one of params 'asset' or 'job', e.g. --param asset=orders")
        if self.partitions is not None and (self.start is not None or self.end is not None):
            raise ValueError("give either param 'partitions' or params 'start'/'end', not both")
        if self.start is not None and self.end is not None and to_instant(self.end, end=True) <= to_instant(self.start):
            raise ValueError(
                f"param 'end' ({self.end.isoformat()}) is before param 'start' ({self.start.isoformat()}); "
                "pass an end after the start"
            )
        return self

    def summary(self) -> str:
        what = f"asset {self.asset}" if self.asset else f"job {self.job}"
        if self.partitions is not None:
            days = sorted(set(self.partitions))
            many = f"{len(days)} partition{'s' * (len(days) != 1)}"
            return f"backfill {what} for {many} ({days[0].isoformat()} … {days[-1].isoformat()})"
        start = self.start.isoformat() if self.start else "the first partition"
        return f"backfill {what} from {start} to {self.end.isoformat() if self.end else 'the latest partition'}"

    def effect(self, *, backfill_max_hours: float) -> Effect:
        if self.partitions is not None:
            span: float | None = 24.0 * len(set(self.partitions))  # each daily partition is a day of data
        elif self.start is not None and self.end is not None:
            span = (to_instant(self.end, end=True) - to_instant(self.start)).total_seconds() / 3600
        else:
            span = None
        what = self.asset or self.job
        if span is None:
            message = f"backfill of {what} has no complete range: it is open-ended, every partition may run"
        elif span > backfill_max_hours:
            message = f"backfill of {what} spans {format_number(span)}h, more than the {format_number(backfill_max_hours)}h limit"
        else:
            return Effect(span_hours=span)
        return _cap("long_backfill", message, span_hours=span)


class ModifySchedule(PipelineAction):
    name = "modify_schedule"
    touches = ("job",)
    job: Name = Field(description="The job whose schedule changes.")
    cron: Cron | None = Field(default=None, examples=["0 6 * * *"], description="The new 5-field cron expression.")
    from_cron: Cron | None = Field(default=None, examples=["0 5 * * *"], description="The cron expression now.")
    enabled: bool | None = Field(default=None, description="false pauses the schedule, true resumes it.")

    @model_validator(mode="after")
    def _changes_something(self) -> ModifySchedule:
        if self.cron is None and self.enabled is None:
            raise ValueError("give param 'cron' or 'enabled' (or both), e.g. --param cron='0 6 * * *'")
        return self

    def summary(self) -> str:
        head = {None: "reschedule job", True: "resume the schedule of job", False: "pause the schedule of job"}
        was = f" (was '{self.from_cron}')" if self.from_cron else ""
        cron = "" if self.cron is None else f"{' to' if self.enabled is None else ', cron'} '{self.cron}'{was}"
        return f"{head[self.enabled]} {self.job}{cron}"

    def effect(self, *, backfill_max_hours: float) -> Effect:
        # A paused job stops producing data, but nothing already stored is lost: not destructive.
        if self.enabled is False:
            return _cap("stop", f"pausing the schedule of {self.job} stops its runs")
        return Effect()


class UpdateSchemaMapping(PipelineAction):
    name = "update_schema_mapping"
    touches = ("source",)
    source: Name = Field(description="The source whose column mapping changes.")
    mapping: Annotated[dict[str, str], BeforeValidator(parse_json)] = Field(
        min_length=1, examples=['{"cust_id": "customer_id"}'], description="Source column -> target column."
    )

    def summary(self) -> str:
        pairs = ", ".join(f"{key} → {value}" for key, value in list(self.mapping.items())[:3])
        more = f" and {len(self.mapping) - 3} more" if len(self.mapping) > 3 else ""
        return f"remap columns of source {self.source}: {pairs}{more}"


class ChangeSourceConfig(PipelineAction):
    name = "change_source_config"
    touches = ("source",)
    source: Name = Field(description="The source whose settings change.")
    settings: Annotated[dict[str, JsonValue], BeforeValidator(parse_json)] = Field(
        min_length=1, examples=['{"batch_size": 500}'], description="The settings to set, name -> value."
    )

    def summary(self) -> str:
        return f"change settings {', '.join(self.settings)} of source {self.source}"


class _CodeChange(PipelineAction):
    touches = ("target",)
    verb: ClassVar[str]
    target: Name = Field(description="The table, asset, job or model that changes.")
    description: str | None = Field(default=None, description="What the change does, in words.")

    def summary(self) -> str:
        return f"{self.verb} {self.target}" + (f": {one_line(self.description)}" if self.description else "")


class SchemaMigration(_CodeChange):
    name = "schema_migration"
    verb = "migrate the schema of"
    sql: str | None = Field(default=None, description="The migration's DDL, for the reviewer.")


class PipelineLogicChange(_CodeChange):
    name = "pipeline_logic_change"
    verb = "change the logic of"
    diff: str | None = Field(default=None, description="The code change as a unified diff, for the reviewer.")


CATALOG: Mapping[str, type[PipelineAction]] = {
    action.name: action
    for action in (RetryTask, RotateCredential, ClearStuckTask, ScaleCompute, AdjustTimeout, DequeueDlq,
                   PreRotateCredential, MaterializeCte, TriggerBackfill, ModifySchedule, UpdateSchemaMapping,
                   ChangeSourceConfig, SchemaMigration, PipelineLogicChange)
}


def action_names() -> tuple[str, ...]:
    """List the pipeline actions the catalog knows.

    Returns:
        Their names, sorted.
    """
    return tuple(sorted(CATALOG))


def assess_action(
    action: str,
    params: Mapping[str, Any],
    *,
    target: str | None = None,
    backfill_max_hours: float = 24.0,
) -> Assessment:
    """Validate a pipeline action's params and say what it would do and what a reviewer must know.

    Args:
        action: the action's name, e.g. ``retry_task``.
        params: its params, as the CLI passes them (strings) or as typed values.
        target: the proposal's target; added to ``objects``, and the ``target`` param of the
            actions that take one when it is not given.
        backfill_max_hours: a backfill spanning more than this is capped at level 1.

    Returns:
        The assessment, with ``action_type`` ``pipeline.<action>``. An action the catalog does
        not know is ``unknown`` and capped at level 1, never an error.

    Raises:
        ClassificationError: the name is malformed, or the params do not fit a known action;
            the one-line message names the param and the fix.
    """
    if not _ACTION_NAME.fullmatch(action):
        raise ClassificationError(
            f"pipeline action name {action!r} is not valid; use lower-case letters, digits and '_', "
            "starting with a letter, e.g. --action retry_task"
        )
    model = CATALOG.get(action)
    if model is None:
        return _unknown(action, params, target)
    given = dict(params)
    if target and "target" in model.model_fields and "target" not in given:
        given["target"] = target
    try:
        parsed = model.model_validate(given)
    except ValidationError as error:
        raise to_classification_error(action, model, error) from None
    effect = parsed.effect(backfill_max_hours=backfill_max_hours)
    return Assessment(
        action_type=f"pipeline.{action}",
        writes=True,
        destructive=effect.destructive,
        objects=tuple(dict.fromkeys((*parsed.objects(), *([target] if target else [])))),
        span_hours=effect.span_hours,
        max_level=1 if effect.notes else None,
        notes=effect.notes,
        summary=parsed.summary(),
    )


def _unknown(action: str, params: Mapping[str, Any], target: str | None) -> Assessment:
    for key, value in params.items():
        if not is_plain(value):
            raise ClassificationError(
                f"{action}: param {key!r} has a value of type {type(value).__name__}; pipeline params are strings, numbers, "
                "booleans, lists or JSON objects, e.g. --param key=value"
            )
    guess = get_close_matches(action, CATALOG, n=1)
    message = (
        f"{action} is not in the pipeline-action catalog, so its effect is unknown and a human must approve it; "
        + (f"did you mean {guess[0]}? " if guess else "")
        + f"known actions: {', '.join(action_names())}"
    )
    named = [value for key, value in params.items() if key in _OBJECT_KEYS and isinstance(value, str) and value]
    shown = ", ".join(f"{key}={one_line(str(value), 40)}" for key, value in params.items())
    return Assessment(
        action_type=f"pipeline.{action}",
        writes=True,
        unknown=True,
        objects=tuple(dict.fromkeys((*named, *([target] if target else [])))),
        max_level=1,
        notes=(Reason(code="unknown_action", message=message),),
        summary=f"unknown pipeline action {action}" + (f" ({shown})" if shown else ""),
    )
