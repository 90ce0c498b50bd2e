"""Promotion and demotion: pure functions from an action type's tracked outcomes to its next level.

Promotion is due when, at the current level, there are at least ``min_outcomes`` outcomes, at
least ``min_days_at_level`` days have passed, and the one-sided Wilson upper bound of the error
rate is below ``max_error_rate``; never above the ceiling. Demotion is immediate: one incident or
rollback drops a level, and so does an error rate over the last ``window`` outcomes at this
level above ``demotion.max_error_rate`` (counted against a full window, so a young level is not
demoted on its first failure but is on the first failures that could never fit in a window).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import Field

from supervisor.models import Model, Outcome
from supervisor.trust_ladder import Ladder, wilson_upper


class Evidence(Model):
    """What the ledger knows about one action type: the input of every level change."""

    action_type: str = Field(description="The trust-ladder key.")
    level: int = Field(ge=1, le=4, description="The level recorded in the ledger (before the ceiling).")
    since: datetime | None = Field(default=None, description="When the type reached this level (or was first proposed).")
    outcomes_at_level: int = Field(default=0, description="Outcomes recorded at this level since it was reached.")
    errors_at_level: int = Field(default=0, description="Of those, failures, incidents and rollbacks.")
    recent: tuple[bool, ...] = Field(default=(), description="Whether each of the latest outcomes at this level was an error, oldest first.")
    successes: int = Field(default=0, description="All-time successes.")
    failures: int = Field(default=0, description="All-time failures.")
    incidents: int = Field(default=0, description="All-time incidents.")
    rolled_back: int = Field(default=0, description="All-time rollbacks.")


class LadderStatus(Model):
    """One row of ``trustladder ladder``."""

    action_type: str = Field(description="The trust-ladder key.")
    level: int = Field(description="The level decisions use now (never above the ceiling).")
    ceiling: int = Field(description="The highest level it may reach.")
    initial: int = Field(description="Where it started.")
    successes: int = Field(description="All-time successes.")
    failures: int = Field(description="All-time failures.")
    incidents: int = Field(description="All-time incidents.")
    rolled_back: int = Field(description="All-time rollbacks.")
    outcomes_at_level: int = Field(description="Outcomes at the current level.")
    error_rate_upper: float | None = Field(description="Wilson upper bound of the error rate at this level.")
    days_at_level: float | None = Field(description="Days since the type reached this level.")
    promotion_due: bool = Field(description="Whether every promotion condition holds.")
    sign_off: bool = Field(description="Whether promotion waits for `ladder promote`.")
    blockers: tuple[str, ...] = Field(description="Why promotion is not due, one line each.")


class LevelChange(Model):
    """A decided change of level, with the evidence it rests on."""

    action_type: str = Field(description="The trust-ladder key.")
    from_level: int = Field(description="The level before.")
    to_level: int = Field(description="The level after.")
    reason: str = Field(description="incident, rolled_back, error_rate, promotion, manual.")
    message: str = Field(description="What happened, in words.")
    evidence: dict[str, object] = Field(description="The figures the change was based on.")


def status(evidence: Evidence, ladder: Ladder, *, now: datetime) -> LadderStatus:
    """Where an action type stands and whether promotion is due.

    Args:
        evidence: its outcomes from the ledger.
        ladder: the trust ladder.
        now: the moment of the evaluation.

    Returns:
        The status row.
    """
    policy = ladder.policy_for(evidence.action_type)
    rules = ladder.promotion_for(evidence.action_type)
    level = min(evidence.level, policy.ceiling)
    upper = wilson_upper(evidence.errors_at_level, evidence.outcomes_at_level, rules.confidence) if evidence.outcomes_at_level else None
    days = (now - evidence.since).total_seconds() / 86400 if evidence.since else None
    blockers = []
    if level >= policy.ceiling:
        blockers.append(f"at its ceiling ({policy.ceiling})")
    if evidence.outcomes_at_level < rules.min_outcomes:
        blockers.append(f"{evidence.outcomes_at_level} of {rules.min_outcomes} outcomes at level {level}")
    if upper is None or upper >= rules.max_error_rate:
        shown = "no outcomes" if upper is None else f"{upper:.3f}"
        blockers.append(f"error-rate upper bound {shown} is not below {rules.max_error_rate:g}")
    if days is None or days < rules.min_days_at_level:
        shown = "0" if days is None else f"{days:.1f}"
        blockers.append(f"{shown} of {rules.min_days_at_level:g} days at level {level}")
    return LadderStatus(
        action_type=evidence.action_type,
        level=level,
        ceiling=policy.ceiling,
        initial=policy.initial,
        successes=evidence.successes,
        failures=evidence.failures,
        incidents=evidence.incidents,
        rolled_back=evidence.rolled_back,
        outcomes_at_level=evidence.outcomes_at_level,
        error_rate_upper=upper,
        days_at_level=days,
        promotion_due=not blockers,
        sign_off=rules.sign_off,
        blockers=tuple(blockers),
    )


def after_outcome(evidence: Evidence, outcome: Outcome, ladder: Ladder, *, now: datetime) -> LevelChange | None:
    """The level change an outcome triggers, if any; ``evidence`` already includes the outcome.

    Args:
        evidence: the type's evidence including the new outcome.
        outcome: the outcome just recorded.
        ladder: the trust ladder.
        now: the moment it was recorded.

    Returns:
        A demotion, an automatic promotion (when no sign-off is configured), or None.
    """
    rules = ladder.demotion_for(evidence.action_type)
    level = min(evidence.level, ladder.policy_for(evidence.action_type).ceiling)
    facts = _facts(evidence)
    if level > 1 and outcome.is_severe and rules.on_incident:
        what = "an incident" if outcome is Outcome.INCIDENT else "a rollback"
        return LevelChange(
            action_type=evidence.action_type,
            from_level=level,
            to_level=level - 1,
            reason=outcome.value,
            message=f"{what} at level {level} drops {evidence.action_type} to level {level - 1}",
            evidence={**facts, "outcome": outcome.value},
        )
    window = evidence.recent[-rules.window :]
    errors = sum(window)
    if level > 1 and errors / rules.window > rules.max_error_rate:
        return LevelChange(
            action_type=evidence.action_type,
            from_level=level,
            to_level=level - 1,
            reason="error_rate",
            message=f"{errors} errors in the last {len(window)} outcomes (window {rules.window}) is above {rules.max_error_rate:g}",
            evidence={**facts, "window": rules.window, "window_errors": errors},
        )
    if outcome.is_error:  # a failure is never the moment to hand out more autonomy
        return None
    current = status(evidence, ladder, now=now)
    if current.promotion_due and not current.sign_off:
        return promotion(evidence, current, by=None)
    return None


def promotion(evidence: Evidence, current: LadderStatus, *, by: str | None) -> LevelChange:
    """The one-level promotion of a type whose promotion is due.

    Args:
        evidence: its evidence.
        current: its status, with ``promotion_due`` true.
        by: who signed it off, or None when automatic.

    Returns:
        The level change.
    """
    signed = f", signed off by {by}" if by else ""
    return LevelChange(
        action_type=evidence.action_type,
        from_level=current.level,
        to_level=current.level + 1,
        reason="promotion",
        message=f"{current.outcomes_at_level} outcomes at level {current.level}, error-rate upper bound "
        f"{current.error_rate_upper:.3f}{signed}",
        evidence={**_facts(evidence), "error_rate_upper": current.error_rate_upper, "days_at_level": current.days_at_level},
    )


def _facts(evidence: Evidence) -> dict[str, object]:
    return {
        "level": evidence.level,
        "since": evidence.since.isoformat() if evidence.since else None,
        "outcomes_at_level": evidence.outcomes_at_level,
        "errors_at_level": evidence.errors_at_level,
    }
