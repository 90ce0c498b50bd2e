"""``decide()``: the gate's answer, a pure function of proposal, assessment, ladder, level and time.

Order: deny rules first; then the escalations no level overrides (destructive, unknown effect,
low confidence, another team's objects, compliance tags, cost, freeze windows, non-negotiable
types); then the level: 1 requires approval, 2 notifies, 3 and 4 allow. Pure reads are allowed.
In ``observe`` mode the decision is recorded as the ladder would make it, and nothing runs.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime
from fnmatch import fnmatchcase

from supervisor.models import Assessment, Decision, PolicyDecision, Proposal, Reason
from supervisor.standing import StandingApproval, covering
from supervisor.trust_ladder import Ladder, level_name, match_object


def decide(
    proposal: Proposal,
    assessment: Assessment,
    ladder: Ladder,
    *,
    level: int,
    now: datetime,
    standing: tuple[StandingApproval, ...] = (),
) -> PolicyDecision:
    """Decide whether a proposal may run now, needs a human, or is denied.

    Args:
        proposal: what the agent wants done.
        assessment: what the classifiers found about it.
        ladder: the trust ladder.
        level: the action type's current level from the ledger (before the ceiling is applied).
        now: the moment of the decision (timezone-aware).
        standing: standing approvals in the ledger; one covering a proposal that needs a human
            only because of its level lets it run at the notify level.

    Returns:
        The decision, the level it was made at, and the reasons, most important first.
    """
    policy = ladder.policy_for(assessment.action_type)
    effective = max(1, min(level, policy.ceiling, assessment.max_level or 4))

    def decided(decision: Decision, reasons: list[Reason]) -> PolicyDecision:
        return PolicyDecision(
            decision=decision,
            ladder_decision=decision,
            level=effective,
            action_type=assessment.action_type,
            categories=assessment.categories,
            reasons=tuple(reasons),
            policy_version=ladder.policy_version,
            proposal_hash=proposal_hash(proposal),
            mode=ladder.mode,
        )

    denied = _deny_rules(proposal, assessment, ladder)
    if denied:
        return decided(Decision.DENY, denied)
    if not assessment.writes:
        return _observe(decided(Decision.ALLOW, [Reason(code="read", message=f"{assessment.action_type} only reads; reads are never gated")]))
    escalations = _escalations(proposal, assessment, ladder, now)
    # what else the classifier found (a long backfill, a schema change): the reviewer should read it
    findings = [n for n in assessment.notes if n.code not in _ESCALATED_NOTES]
    decision = Decision.REQUIRE_APPROVAL if escalations or effective == 1 else Decision.NOTIFY if effective == 2 else Decision.ALLOW
    reasons = [*escalations, *findings, _level_reason(assessment.action_type, effective, level, policy.ceiling)]
    covered = covering(standing, proposal, assessment, now=now) if decision is Decision.REQUIRE_APPROVAL and not escalations else None
    if covered is not None:
        decision = Decision.NOTIFY
        until = covered.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        reasons.append(Reason(code="standing_approval", message=f"standing approval {covered.standing_id} by {covered.granted_by} covers {covered.scope()} until {until}"))
    return _observe(decided(decision, reasons))


def proposal_hash(proposal: Proposal) -> str:
    """sha256 of the normalised action: what would run, and against what.

    SQL is hashed as written, with line endings and surrounding whitespace normalised: any other
    change to the text is a different statement and needs a new approval.

    Args:
        proposal: the proposal.

    Returns:
        A hex digest.
    """
    if proposal.sql is not None:
        action: dict[str, object] = {"sql": proposal.sql.replace("\r\n", "\n").strip(), "dialect": (proposal.dialect or "").lower()}
    else:
        action = {"action": proposal.action, "params": proposal.params}
    action["target"] = proposal.target
    return hashlib.sha256(json.dumps(action, sort_keys=True, default=str).encode()).hexdigest()


def _observe(decision: PolicyDecision) -> PolicyDecision:
    if decision.mode != "observe" or not decision.decision.may_run:
        return decision
    reason = Reason(code="observe_mode", message=f"the ladder is in observe mode: recorded as '{decision.decision.value}', nothing runs")
    return decision.model_copy(update={"decision": Decision.DENY, "reasons": (reason, *decision.reasons)})


def _deny_rules(proposal: Proposal, assessment: Assessment, ladder: Ladder) -> list[Reason]:
    reasons = []
    objects = assessment.objects or ((proposal.target,) if proposal.target else ())
    for rule in ladder.deny:
        if not any(fnmatchcase(assessment.action_type, p) for p in rule.action_types):
            continue
        if not any(fnmatchcase(proposal.agent or "", p) for p in rule.agents):
            continue
        if rule.objects != ["*"] and not any(match_object(o, dict.fromkeys(rule.objects)) for o in objects):
            continue
        reasons.append(Reason(code="deny_rule", message=rule.message))
    return reasons


def _escalations(proposal: Proposal, assessment: Assessment, ladder: Ladder, now: datetime) -> list[Reason]:
    """The never-negotiable reasons a write needs a human, in a fixed order."""
    limits = ladder.escalations
    reasons: list[Reason] = []
    if assessment.destructive:
        messages = [n.message for n in assessment.notes if n.code in _DESTRUCTIVE_NOTES] or [f"{assessment.action_type} loses data"]
        reasons.extend(Reason(code="destructive", message=m) for m in messages)
    if assessment.unknown:
        messages = [n.message for n in assessment.notes if n.code in _UNKNOWN_NOTES] or ["its effect cannot be known"]
        reasons.extend(Reason(code="unknown", message=m) for m in messages)
    if ladder.policy_for(assessment.action_type).non_negotiable:
        reasons.append(Reason(code="non_negotiable", message=f"{assessment.action_type} always needs a human (non_negotiable in {_file(ladder)})"))
    if proposal.confidence is None:
        reasons.append(Reason(code="low_confidence", message=f"no confidence given; writes need at least {limits.min_confidence:g}"))
    elif proposal.confidence < limits.min_confidence:
        reasons.append(Reason(code="low_confidence", message=f"agent confidence {proposal.confidence:g} is below {limits.min_confidence:g}"))
    objects = _objects(proposal, assessment)
    for name in objects:
        owner_glob = match_object(name, ladder.ownership)
        if owner_glob is None:
            continue
        owner = ladder.ownership[owner_glob]
        if owner != proposal.team:
            acting = f"team {proposal.team}" if proposal.team else "no team"
            reasons.append(Reason(code="cross_team", message=f"{name} is owned by team {owner}; the agent acts for {acting}"))
    for name in objects:
        tag_glob = match_object(name, ladder.compliance)
        if tag_glob is not None and ladder.compliance[tag_glob]:
            tags = ", ".join(ladder.compliance[tag_glob])
            reasons.append(Reason(code="compliance", message=f"{name} holds compliance-tagged data ({tags})"))
    reasons.extend(_cost(proposal, limits.cost_ceiling_usd))
    for window in ladder.freezes:
        if window.start <= now < window.end and any(fnmatchcase(assessment.action_type, p) for p in window.action_types):
            until = window.end.strftime("%Y-%m-%d %H:%M UTC")
            reasons.append(Reason(code="freeze", message=f"{window.reason}: changes are frozen until {until}"))
    return reasons


_DESTRUCTIVE_NOTES = frozenset({"drop", "truncate", "unscoped_delete", "unscoped_update", "overwrite", "stop", "discard"})
_UNKNOWN_NOTES = frozenset({"parse_error", "opaque", "unknown_action"})
_ESCALATED_NOTES = _DESTRUCTIVE_NOTES | _UNKNOWN_NOTES


def _objects(proposal: Proposal, assessment: Assessment) -> tuple[str, ...]:
    if proposal.target and proposal.target not in assessment.objects:
        return (*assessment.objects, proposal.target)
    return assessment.objects


def _cost(proposal: Proposal, ceiling: float) -> list[Reason]:
    estimate = proposal.context.get("estimated_cost_usd")
    if estimate is None:
        return []
    try:
        value = float(estimate)
    except (TypeError, ValueError):
        return [Reason(code="cost", message=f"estimated cost {estimate!r} is not a number, so it cannot be checked against the ceiling")]
    if value < 0:
        return [Reason(code="cost", message=f"estimated cost {estimate!r} is negative, so it cannot be checked against the ceiling")]
    if math.isnan(value) or value > ceiling:  # NaN cannot be shown to be under the ceiling
        return [Reason(code="cost", message=f"estimated cost ${value:,.0f} is above the ceiling of ${ceiling:,.0f}")]
    return []


def _level_reason(action_type: str, effective: int, level: int, ceiling: int) -> Reason:
    what = {1: "a human approves first", 2: "it runs and the owners are notified", 3: "it runs", 4: "it runs, and may run proactively"}[effective]
    capped = f" (capped from {level})" if level > effective else ""
    return Reason(code="level", message=f"{action_type} is at level {effective}{capped}, {level_name(effective)}: {what}; ceiling {ceiling}")


def _file(ladder: Ladder) -> str:
    return ladder.source.rsplit("/", 1)[-1]
