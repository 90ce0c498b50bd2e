"""``trust_ladder.yaml``: the version-controlled ladder, loaded into pydantic models the moment it is read.

The policy version recorded with every decision is the sha256 of the file's bytes, so two
decisions made under byte-identical files share a version and any edit makes a new one.
"""

from __future__ import annotations

import hashlib
import math
import re
from datetime import UTC, datetime
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, ValidationError, field_validator, model_validator

from supervisor.errors import PolicyConfigError
from supervisor.models import Category, Model

LEVEL_NAMES = {1: "Recommend", 2: "Act and notify", 3: "Act silently", 4: "Preventive"}
_SQL_TYPES = frozenset(f"sql.{category.value}" for category in Category)
_TYPE_KEY = re.compile(r"^(sql|pipeline)\.[a-z][a-z0-9_]*$")
_Level = Field(ge=1, le=4)


class PromotionRules(Model):
    """When an action type has earned the next level."""

    min_outcomes: int = Field(default=50, ge=1, description="Outcomes at the current level before promotion is considered.")
    max_error_rate: float = Field(default=0.05, gt=0, lt=1, description="The Wilson upper bound of the error rate must be below this.")
    confidence: float = Field(default=0.95, ge=0.5, lt=1, description="Confidence of the Wilson bound, e.g. 0.95.")
    min_days_at_level: float = Field(default=7, ge=0, description="Days at the current level before promotion is considered.")
    sign_off: bool = Field(default=True, description="A platform approver confirms with `trustladder ladder promote`.")


class DemotionRules(Model):
    """When an action type loses a level, at once and without sign-off."""

    on_incident: bool = Field(default=True, description="One incident or rollback drops the type one level.")
    max_error_rate: float = Field(default=0.10, gt=0, le=1, description="Error rate over the last `window` outcomes that drops a level.")
    window: int = Field(default=20, ge=1, description="How many recent outcomes at the current level the error rate looks at.")
    on_violation: bool = Field(default=True, description="An attempt to execute what the gate refused drops the type one level.")


class PromotionOverride(Model):
    """Per-type overrides of the promotion defaults; unset keys inherit."""

    min_outcomes: int | None = Field(default=None, ge=1, description="See promotion.min_outcomes.")
    max_error_rate: float | None = Field(default=None, gt=0, lt=1, description="See promotion.max_error_rate.")
    confidence: float | None = Field(default=None, ge=0.5, lt=1, description="See promotion.confidence.")
    min_days_at_level: float | None = Field(default=None, ge=0, description="See promotion.min_days_at_level.")
    sign_off: bool | None = Field(default=None, description="See promotion.sign_off.")


class DemotionOverride(Model):
    """Per-type overrides of the demotion defaults; unset keys inherit."""

    on_incident: bool | None = Field(default=None, description="See demotion.on_incident.")
    max_error_rate: float | None = Field(default=None, gt=0, le=1, description="See demotion.max_error_rate.")
    window: int | None = Field(default=None, ge=1, description="See demotion.window.")
    on_violation: bool | None = Field(default=None, description="See demotion.on_violation.")


class ActionTypePolicy(Model):
    """One rung entry: where a type starts, how high it may climb, and what it always needs."""

    initial: int = Field(default=1, ge=1, le=4, description="The level a type starts at.")
    ceiling: int = Field(default=1, ge=1, le=4, description="The level it never rises above.")
    non_negotiable: bool = Field(default=False, description="Always requires approval, whatever its level.")
    approvals_required: int = Field(default=1, ge=1, le=5, description="Distinct approvers needed.")
    promotion: PromotionOverride = Field(default_factory=PromotionOverride, description="Overrides of the promotion defaults.")
    demotion: DemotionOverride = Field(default_factory=DemotionOverride, description="Overrides of the demotion defaults.")

    @model_validator(mode="after")
    def _initial_within_ceiling(self) -> ActionTypePolicy:
        if self.initial > self.ceiling:
            raise ValueError(f"initial {self.initial} is above ceiling {self.ceiling}; lower initial or raise ceiling")
        return self


class Escalations(Model):
    """Conditions that always require a human, whatever the level."""

    min_confidence: float = Field(default=0.7, ge=0, le=1, description="Writes proposed with less confidence need approval.")
    cost_ceiling_usd: float = Field(default=10000, ge=0, description="Estimated cost above this needs approval.")
    backfill_max_hours: float = Field(default=24, gt=0, description="A backfill spanning more than this is costly.")


class Review(Model):
    """After-the-fact review of a sample of the actions that ran without a human (levels 3 and 4)."""

    sample: float = Field(default=0.05, ge=0, le=1, description="Share of level 3 and 4 executions queued for review; 0 turns sampling off.")
    weights: dict[str, float] = Field(
        default_factory=dict, description="Action-type glob -> risk weight: a type of weight w is sampled at w x sample (at most every one)."
    )
    group: str | None = Field(default=None, description="Who reviews; default: the approval route of each type.")

    @field_validator("weights")
    @classmethod
    def _non_negative(cls, value: dict[str, float]) -> dict[str, float]:
        for pattern, weight in value.items():
            if not weight >= 0:
                raise ValueError(f"weights[{pattern!r}] is {weight}; use a number of 0 or more")
        return value

    def share_for(self, action_type: str) -> float:
        """The chance one execution of a type is sampled: the most specific weight glob times ``sample``."""
        matches = [pattern for pattern in self.weights if fnmatchcase(action_type, pattern)]
        weight = self.weights[max(matches, key=_specificity)] if matches else 1.0
        return min(1.0, self.sample * weight)


class Approvals(Model):
    """Who approves what, and how long a request waits before it escalates."""

    timeout_minutes: float = Field(default=30, gt=0, description="Minutes a request waits before it escalates or expires.")
    valid_minutes: float = Field(default=1440, gt=0, description="Minutes an approval stays good for execution once granted.")
    approvers: dict[str, list[str]] = Field(default_factory=dict, description="Group name -> the people in it.")
    routes: dict[str, str] = Field(default_factory=dict, description="Action-type glob -> the group that approves it.")
    escalate_to: dict[str, str] = Field(default_factory=dict, description="Group -> the group a timed-out request moves to.")
    ladder_group: str | None = Field(default=None, description="Group allowed to sign off level changes; default: the group routed for '*'.")

    @model_validator(mode="after")
    def _groups_exist(self) -> Approvals:
        known = set(self.approvers)
        for pattern, group in self.routes.items():
            if group not in known:
                raise ValueError(f"routes[{pattern!r}] names group {group!r}, which is not under approvers; add it there")
        for source, group in self.escalate_to.items():
            if source not in known or group not in known:
                raise ValueError(f"escalate_to {source!r} -> {group!r} names a group that is not under approvers; add it there")
        if self.ladder_group is not None and self.ladder_group not in known:
            raise ValueError(f"ladder_group {self.ladder_group!r} is not under approvers; add it there")
        return self


class FreezeWindow(Model):
    """A period when nothing matching runs without a human, e.g. quarter close."""

    start: datetime = Field(description="When the freeze starts (ISO 8601; UTC when no offset is given).")
    end: datetime = Field(description="When it ends.")
    action_types: list[str] = Field(default_factory=lambda: ["*"], description="Action-type globs it covers.")
    reason: str = Field(default="freeze window", description="Shown to reviewers.")

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    @model_validator(mode="after")
    def _ordered(self) -> FreezeWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class DenyRule(Model):
    """Never allowed, not even with approval."""

    action_types: list[str] = Field(default_factory=lambda: ["*"], description="Action-type globs.")
    objects: list[str] = Field(default_factory=lambda: ["*"], description="Object globs (table, asset, job).")
    agents: list[str] = Field(default_factory=lambda: ["*"], description="Agent globs.")
    message: str = Field(description="Why it is denied, shown to the agent and reviewers.")


class Ladder(Model):
    """The whole ``trust_ladder.yaml``."""

    version: Literal[1] = Field(description="Format version of the file.")
    mode: Literal["enforce", "observe"] = Field(default="enforce", description="observe: decide and record, never let anything run.")
    action_types: dict[str, ActionTypePolicy] = Field(default_factory=dict, description="Every known type; unknown ones get initial 1, ceiling 1.")
    promotion: PromotionRules = Field(default_factory=PromotionRules, description="Promotion defaults.")
    demotion: DemotionRules = Field(default_factory=DemotionRules, description="Demotion defaults.")
    escalations: Escalations = Field(default_factory=Escalations, description="Never-negotiable escalations.")
    approvals: Approvals = Field(default_factory=Approvals, description="Approvers, routes and timeouts.")
    review: Review = Field(default_factory=Review, description="Sampled after-the-fact review of silent actions.")
    ownership: dict[str, str] = Field(default_factory=dict, description="Table/asset glob -> owning team.")
    compliance: dict[str, list[str]] = Field(default_factory=dict, description="Table/asset glob -> compliance tags, e.g. [pii].")
    freezes: list[FreezeWindow] = Field(default_factory=list, description="Freeze windows.")
    deny: list[DenyRule] = Field(default_factory=list, description="Rules that deny outright.")
    policy_version: str = Field(default="", description="sha256 of the file's bytes; computed by the loader, not written in the file.")
    source: str = Field(default="<memory>", description="Where the ladder was read from.")

    @field_validator("action_types")
    @classmethod
    def _known_type_names(cls, value: dict[str, ActionTypePolicy]) -> dict[str, ActionTypePolicy]:
        for name in value:
            if not _TYPE_KEY.match(name):
                raise ValueError(f"{name!r} is not an action type; use sql.<category> or pipeline.<action>")
            if name.startswith("sql.") and name not in _SQL_TYPES:
                raise ValueError(f"{name!r} is not a SQL action type; use one of {', '.join(sorted(_SQL_TYPES))}")
        return value

    def policy_for(self, action_type: str) -> ActionTypePolicy:
        """The entry for a type; unknown types get initial 1, ceiling 1."""
        return self.action_types.get(action_type) or _UNKNOWN

    def promotion_for(self, action_type: str) -> PromotionRules:
        """The promotion rules of a type: its overrides on top of the defaults."""
        override = self.policy_for(action_type).promotion.model_dump(exclude_none=True)
        return self.promotion.model_copy(update=override) if override else self.promotion

    def demotion_for(self, action_type: str) -> DemotionRules:
        """The demotion rules of a type: its overrides on top of the defaults."""
        override = self.policy_for(action_type).demotion.model_dump(exclude_none=True)
        return self.demotion.model_copy(update=override) if override else self.demotion

    def route(self, action_type: str) -> str | None:
        """The approver group for a type: the most specific matching route glob."""
        matches = [pattern for pattern in self.approvals.routes if fnmatchcase(action_type, pattern)]
        if not matches:
            return None
        return self.approvals.routes[max(matches, key=_specificity)]

    def approvers_of(self, group: str | None) -> list[str]:
        """The people in an approver group (none for an unknown group)."""
        return list(self.approvals.approvers.get(group, [])) if group else []

    def review_group(self, action_type: str) -> str | None:
        """The group that reviews sampled executions of a type."""
        return self.review.group or self.route(action_type)

    def ladder_group(self) -> str | None:
        """The group that signs off level changes."""
        return self.approvals.ladder_group or self.approvals.routes.get("*")


_UNKNOWN = ActionTypePolicy()


def _specificity(pattern: str) -> tuple[int, int]:
    """Fewer wildcards first, then longer patterns: ``sql.drop`` beats ``sql.*`` beats ``*``."""
    return (-sum(pattern.count(c) for c in "*?["), len(pattern))


def match_object(name: str, patterns: dict[str, Any]) -> str | None:
    """The most specific glob in ``patterns`` that names ``name`` or one of its dotted suffixes.

    ``shop.*`` matches ``shop.orders`` and ``warehouse.shop.orders``; matching ignores case, as
    most warehouses do for unquoted names.

    Args:
        name: a table, asset or job name.
        patterns: a mapping keyed by globs (ownership, compliance).

    Returns:
        The matching glob, or None.
    """
    parts = name.lower().split(".")
    suffixes = [".".join(parts[i:]) for i in range(len(parts))]
    matches = [p for p in patterns if any(fnmatchcase(s, p.lower()) for s in suffixes)]
    return max(matches, key=_specificity) if matches else None


def parse_ladder(data: bytes, *, source: str = "trust_ladder.yaml") -> Ladder:
    """Validate the bytes of a ladder file.

    Args:
        data: the file's bytes.
        source: the file's name, used in error messages.

    Returns:
        The ladder, with ``policy_version`` set to the sha256 of ``data``.

    Raises:
        PolicyConfigError: naming the file, the key path and the fix.
    """
    try:
        raw = yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError as error:
        raise PolicyConfigError(f"not UTF-8 at byte {error.start}; save the file as UTF-8", location=source) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark is not None else ""
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise PolicyConfigError(f"{where}invalid YAML ({problem}); fix the syntax there", location=source) from None
    if not isinstance(raw, dict):
        raise PolicyConfigError("expected a mapping at the top level, e.g. 'version: 1'; see trust_ladder.yaml in the repository", location=source)
    for computed in ("policy_version", "source"):
        if computed in raw:
            raise PolicyConfigError(f"{computed}: is computed by trustladder; remove the key", location=source)
    try:
        return Ladder.model_validate({**raw, "policy_version": hashlib.sha256(data).hexdigest(), "source": source})
    except ValidationError as error:
        raise PolicyConfigError(_first_problem(error, raw), location=source) from None


def load_ladder(path: str | Path) -> Ladder:
    """Read and validate a ladder file.

    Args:
        path: the file, usually ``trust_ladder.yaml``.

    Returns:
        The ladder.

    Raises:
        PolicyConfigError: the file is missing, unreadable or invalid.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise PolicyConfigError(
            "no such ladder file; run from the directory that has trust_ladder.yaml, or pass --ladder PATH (env TRUSTLADDER_LADDER)",
            location=str(path),
        ) from None
    except OSError as error:
        raise PolicyConfigError(f"cannot read the ladder ({error.strerror}); check the path and its permissions", location=str(path)) from None
    return parse_ladder(data, source=str(path))


def _first_problem(error: ValidationError, raw: dict[str, Any]) -> str:
    problem = error.errors()[0]
    loc = [str(part) for part in problem["loc"]]
    where = ".".join(loc) or "(top level)"
    kind = problem["type"]
    message = str(problem["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return f"{where}: unknown key; remove it or fix its spelling (known keys here: {', '.join(_known_keys(loc[:-1]))})"
    if kind == "missing":
        return f"{where}: required key is missing; add it, e.g. {loc[-1]}: 1"
    if kind == "value_error":
        return f"{where}: {message}"
    got = problem.get("input")
    shown = "" if isinstance(got, dict | list) or got is None else f" (got {got!r})"
    return f"{where}: {message}{shown}; fix the value in the file"


def _known_keys(loc: list[str]) -> list[str]:
    """The keys a model accepts at ``loc``, for the "unknown key" message."""
    model: Any = Ladder
    container = False  # the previous part named a dict or list of models: this part is a key or index
    for part in loc:
        if container:
            container = False
            continue
        fields = getattr(model, "model_fields", {})
        if part not in fields:
            return []
        nested = _CONTAINERS.get(part)
        if nested is not None:
            model, container = nested, True
        else:
            model = fields[part].annotation
    return sorted(name for name in getattr(model, "model_fields", {}) if name not in ("policy_version", "source"))


_CONTAINERS: dict[str, Any] = {"action_types": ActionTypePolicy, "freezes": FreezeWindow, "deny": DenyRule}


def level_name(level: int) -> str:
    """``Recommend``, ``Act and notify``, ``Act silently`` or ``Preventive``."""
    return LEVEL_NAMES.get(level, f"level {level}")


def wilson_upper(errors: int, total: int, confidence: float) -> float:
    """One-sided upper bound of the Wilson score interval for an error rate.

    "The error rate is below 5% with 95% confidence" is a one-sided claim, so ``z`` is the
    ``confidence`` quantile of the normal distribution (1.645 at 0.95).

    Args:
        errors: failed outcomes.
        total: all outcomes.
        confidence: one-sided confidence, e.g. 0.95.

    Returns:
        The upper bound in [0, 1]; 1.0 when there are no outcomes.

    Example:
        >>> round(wilson_upper(0, 52, 0.95), 4)
        0.0495
    """
    if total <= 0:
        return 1.0
    z = _z(confidence)
    p = errors / total
    denominator = 1 + z * z / total
    centre = p + z * z / (2 * total)
    margin = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total))
    return min(1.0, (centre + margin) / denominator)


def _z(confidence: float) -> float:
    """The normal quantile for ``confidence``, by bisection on erf (no scipy needed)."""
    target = 2 * confidence - 1
    low, high = 0.0, 10.0
    for _ in range(80):
        mid = (low + high) / 2
        if math.erf(mid / math.sqrt(2)) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2
