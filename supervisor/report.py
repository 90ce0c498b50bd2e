"""``trustladder report``: how the ladder is doing, per action type, for a platform team.

The figures come from ``supervisor.report_queries`` (aggregates read in one ledger transaction)
and the ladder's status; ``build_report`` folds them into one frozen ``Report`` without touching
the ledger, so rendering (``report_text``, ``report_html``) never holds the ledger file.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pydantic import Field

from supervisor.models import Model, Outcome
from supervisor.promotion import LadderStatus
from supervisor.report_queries import Figures
from supervisor.trust_ladder import Ladder, wilson_upper

SCHEMA_VERSION = 1
# A type whose human decisions are approvals this often is probably gated more than it needs,
# once there are enough decisions for the share to mean something.
OVER_GATED_PERCENT = 95
OVER_GATED_MIN_DECIDED = 20
DEMOTION_DAYS = 30
TOP_REASONS = 5


class OutcomeCounts(Model):
    """Outcomes by kind (superseded ones not counted)."""

    success: int = Field(default=0, description="Successes.")
    failure: int = Field(default=0, description="Failures.")
    incident: int = Field(default=0, description="Incidents.")
    rolled_back: int = Field(default=0, description="Rollbacks.")
    total: int = Field(default=0, description="All of them.")
    errors: int = Field(default=0, description="Failures, incidents and rollbacks: what the error rate counts.")


class Week(Model):
    """One week (Monday to Sunday, UTC) of the whole ledger or of one type."""

    week: date = Field(description="The Monday that starts it.")
    proposals: int = Field(default=0, description="Proposals created.")
    needs_human: int = Field(default=0, description="Of those, how many the ladder sent to a human (ladder decision require_approval).")
    needs_human_share: float | None = Field(default=None, description="needs_human / proposals; None without proposals.")
    executions: int = Field(default=0, description="Executions cleared by the gate.")
    outcomes: OutcomeCounts = Field(default_factory=OutcomeCounts, description="Outcomes recorded.")


class LevelPoint(Model):
    """The level from a moment on."""

    at: datetime = Field(description="When the type reached it (or the start of the chart).")
    level: int = Field(description="The level recorded in the ledger.")
    reason: str = Field(description="start (the level the range opens at), or the change's reason: promotion, incident, rolled_back, error_rate, manual, violation.")


class Approvals(Model):
    """Approval requests of a type's proposals and what humans made of them."""

    requested: int = Field(default=0, description="Approval requests.")
    approved: int = Field(default=0, description="Approved by enough people (including approvals that later lapsed unused).")
    rejected: int = Field(default=0, description="Rejected.")
    expired: int = Field(default=0, description="Expired without a human decision.")
    lapsed: int = Field(default=0, description="Approved, but not run within approvals.valid_minutes.")
    pending: int = Field(default=0, description="Still waiting.")
    gated_decided: int = Field(default=0, description="Requests the ladder itself asked for (not only observed) that a human approved or rejected.")
    approval_rate: float | None = Field(default=None, description="Approved / gated_decided; None without decisions.")
    over_gated: bool = Field(default=False, description=f"Approved {OVER_GATED_PERCENT}% of the time or more over at least {OVER_GATED_MIN_DECIDED} decisions.")
    note: str | None = Field(default=None, description="What to consider when over-gated.")


class Waits(Model):
    """Time from an approval request to a human's decision (approved or rejected)."""

    decided: int = Field(default=0, description="Requests a human decided.")
    p50_minutes: float | None = Field(default=None, description="Median wait, linear interpolation between ranks.")
    p95_minutes: float | None = Field(default=None, description="95th percentile wait, linear interpolation between ranks.")


class RejectionReason(Model):
    """A reason given for rejecting, and how often."""

    reason: str = Field(description="The reviewer's words, as typed (trimmed).")
    count: int = Field(description="Rejection votes with this reason.")


class Agreement(Model):
    """Observe mode: the ladder's decision against the human's, over proposals first decided in observe mode."""

    decided: int = Field(default=0, description="Observed proposals a human approved or rejected.")
    agreed: int = Field(default=0, description="The ladder would have run what the human approved, or gated what the human rejected.")
    agreement_rate: float | None = Field(default=None, description="agreed / decided; None without decisions.")
    ran_what_human_rejected: int = Field(default=0, description="Dangerous: the ladder would have run (allow, notify) what a human rejected.")
    gated_what_human_approved: int = Field(default=0, description="Over-gated: the ladder asked for approval (or denied) and a human approved.")


class Disagreement(Model):
    """An observed proposal the ladder would have run and a human rejected."""

    proposal_id: str = Field(description="The proposal.")
    action_type: str = Field(description="Its action type.")
    created_at: datetime = Field(description="When it was proposed.")
    agent: str | None = Field(description="The proposing agent.")
    summary: str | None = Field(description="What it does, as the classifier put it.")
    reason: str | None = Field(description="The agent's diagnosis.")
    ladder_decision: str = Field(description="What the ladder would have done: allow or notify.")
    rejected_by: str | None = Field(description="Who rejected it.")
    rejection: str | None = Field(description="Why, in their words.")


class Reviews(Model):
    """Sampled after-the-fact reviews of executions that ran without a human."""

    sampled: int = Field(default=0, description="Executions queued for review.")
    reviewed: int = Field(default=0, description="Reviewed.")
    good: int = Field(default=0, description="Found good.")
    bad: int = Field(default=0, description="Found bad: each counted as an incident for the type.")
    pending: int = Field(default=0, description="Still to review.")


class ActionTypeReport(Model):
    """Everything the report says about one action type."""

    action_type: str = Field(description="The trust-ladder key.")
    level: int = Field(description="The level decisions use now.")
    ceiling: int = Field(description="The highest level it may reach.")
    initial: int = Field(description="The level it starts at.")
    levels: tuple[LevelPoint, ...] = Field(description="Its level over the range, oldest first; it holds until the next point or the report's end.")
    proposals: int = Field(description="Proposals in the range.")
    needs_human: int = Field(description="Of those, how many the ladder sent to a human.")
    denied: int = Field(description="Of those, how many the ladder denied.")
    executions: int = Field(description="Executions in the range.")
    outcomes: OutcomeCounts = Field(description="Outcomes in the range.")
    weeks: tuple[Week, ...] = Field(description="The same, per week (the report's weeks).")
    error_rate: float | None = Field(description="errors / outcomes in the range; None without outcomes.")
    error_rate_upper: float | None = Field(description="One-sided Wilson upper bound of the error rate at the type's promotion confidence.")
    confidence: float = Field(description="The confidence of that bound (promotion.confidence).")
    approvals: Approvals = Field(description="Approval requests and the approval rate.")
    time_to_decision: Waits = Field(description="How long humans took to decide.")
    rejection_reasons: tuple[RejectionReason, ...] = Field(description=f"The {TOP_REASONS} most given reasons for rejecting, most frequent first.")
    rejections: int = Field(description="All rejection votes, whatever their reason.")
    agreement: Agreement = Field(description="Observe mode: ladder against humans.")
    reviews: Reviews = Field(description="Sampled reviews.")
    promotion_due: bool = Field(description="Whether promotion is due now.")
    promotion_blockers: tuple[str, ...] = Field(description="Why promotion is not due, one line each.")


class PromotionCandidate(Model):
    """A type whose promotion is due now."""

    action_type: str = Field(description="The trust-ladder key.")
    from_level: int = Field(description="Its level now.")
    to_level: int = Field(description="The level it would reach.")
    outcomes_at_level: int = Field(description="Outcomes at its current level.")
    error_rate_upper: float | None = Field(description="Wilson upper bound of the error rate at this level.")
    days_at_level: float | None = Field(description="Days at this level.")
    sign_off: bool = Field(description="Whether it waits for `trustladder ladder promote`.")


class Demotion(Model):
    """A level change downwards."""

    action_type: str = Field(description="The trust-ladder key.")
    at: datetime = Field(description="When.")
    from_level: int = Field(description="The level before.")
    to_level: int = Field(description="The level after.")
    reason: str = Field(description="incident, rolled_back, error_rate, manual or violation.")
    actor: str | None = Field(description="Who demoted it; None when the ladder did.")
    evidence: dict[str, Any] = Field(description="The figures recorded with it.")


class Totals(Model):
    """The headline figures over every action type."""

    proposals: int = Field(default=0, description="Proposals in the range.")
    needs_human: int = Field(default=0, description="Of those, how many the ladder sent to a human.")
    needs_human_share: float | None = Field(default=None, description="needs_human / proposals.")
    denied: int = Field(default=0, description="Of those, how many the ladder denied.")
    executions: int = Field(default=0, description="Executions in the range.")
    outcomes: OutcomeCounts = Field(default_factory=OutcomeCounts, description="Outcomes in the range.")
    approvals: Approvals = Field(default_factory=Approvals, description="Approval requests over every type.")
    time_to_decision: Waits = Field(default_factory=Waits, description="How long humans took to decide, over every type.")
    agreement: Agreement = Field(default_factory=Agreement, description="Observe mode, over every type.")
    reviews: Reviews = Field(default_factory=Reviews, description="Sampled reviews, over every type.")


class Report(Model):
    """``trustladder report``: approval rates, waits, outcomes and levels over time."""

    schema_version: int = Field(default=SCHEMA_VERSION, description="Version of this document's shape.")
    generated_at: datetime = Field(description="The report's now: the end of its range.")
    since: datetime | None = Field(description="The start of its range; None for the whole ledger.")
    mode: str = Field(description="The ladder's mode: enforce or observe.")
    over_gated_percent: int = Field(default=OVER_GATED_PERCENT, description="Approval rate (in %) from which a type is flagged over-gated.")
    over_gated_min_decided: int = Field(default=OVER_GATED_MIN_DECIDED, description="Human decisions a type needs before it can be flagged.")
    totals: Totals = Field(description="Headline figures.")
    weeks: tuple[Week, ...] = Field(description="Headline figures per week, from the first week with activity to the report's week.")
    action_types: tuple[ActionTypeReport, ...] = Field(description="Every action type with activity in the range, by name.")
    disagreements: tuple[Disagreement, ...] = Field(description="Observe mode: the latest proposals the ladder would have run and a human rejected, newest first.")
    promotion_candidates: tuple[PromotionCandidate, ...] = Field(description="Types whose promotion is due now (whatever the range).")
    demotions_since: datetime = Field(description="Demotions from this moment on are listed.")
    recent_demotions: tuple[Demotion, ...] = Field(description="Level changes downwards, newest first.")

    @property
    def empty(self) -> bool:
        """Whether the range holds no activity at all."""
        return not self.action_types


def build_report(
    figures: Figures, statuses: list[LadderStatus], ladder: Ladder, *, now: datetime, since: datetime | None = None, demotion_days: int = DEMOTION_DAYS
) -> Report:
    """Fold the ledger's aggregates and the ladder's status into a report; pure.

    Args:
        figures: what ``report_queries.gather`` read for this range.
        statuses: ``Supervisor.ladder_status`` rows read in the same transaction.
        ladder: the trust ladder.
        now: the end of the range.
        since: the start of the range, or None for the whole ledger.
        demotion_days: without ``since``, demotions of the last this many days are listed.

    Returns:
        The report.
    """
    by_status = {row.action_type: row for row in statuses}
    per_type: dict[str, dict[date, dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
    for row in figures.proposals:
        cell = per_type[row["action_type"]][row["week"]]
        for key in ("proposals", "needs_human", "denied"):
            cell[key] += int(row[key])
    for row in figures.outcomes:
        per_type[row["action_type"]][row["week"]][row["outcome"]] += int(row["n"])
    for row in figures.executions:
        per_type[row["action_type"]][row["week"]]["executions"] += int(row["n"])
    start = since or datetime.min.replace(tzinfo=UTC)
    changes_in_range = [row for row in figures.level_changes if row["changed_at"] >= start]
    approvals = {row["action_type"]: row for row in figures.approvals}
    reviews = {row["action_type"]: row for row in figures.reviews}
    reasons: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in figures.rejections:
        reasons[row["action_type"]].append(row)
    names = sorted(set(per_type) | {name for name in approvals if name is not None} | set(reviews) | {row["action_type"] for row in changes_in_range})
    weeks = _weeks([week for cells in per_type.values() for week in cells], now)
    types = tuple(
        _type_report(name, per_type[name], weeks, approvals.get(name, {}), reviews.get(name, {}), reasons[name], figures, by_status.get(name), ladder, start=start, now=now)
        for name in names
    )
    demotions_since = since or now - timedelta(days=demotion_days)
    demotions = [
        Demotion(action_type=row["action_type"], at=row["changed_at"], from_level=row["from_level"], to_level=row["to_level"], reason=row["reason"], actor=row["actor"], evidence=_json(row["evidence"]))
        for row in figures.level_changes
        if row["to_level"] < row["from_level"] and row["changed_at"] >= demotions_since
    ]
    return Report(
        generated_at=now,
        since=since,
        mode=ladder.mode,
        totals=_totals(types, approvals.get(None, {}), list(reviews.values())),
        weeks=tuple(_sum_weeks([t.weeks for t in types], weeks)),
        action_types=types,
        disagreements=tuple(Disagreement.model_validate(row) for row in figures.disagreements),
        promotion_candidates=tuple(_candidate(row) for row in statuses if row.promotion_due),
        demotions_since=demotions_since,
        recent_demotions=tuple(sorted(demotions, key=lambda d: d.at, reverse=True)),
    )


def _type_report(
    name: str,
    cells: dict[date, dict[str, int]],
    weeks: list[date],
    approvals: dict[str, Any],
    reviews: dict[str, Any],
    reasons: list[dict[str, Any]],
    figures: Figures,
    current: LadderStatus | None,
    ladder: Ladder,
    *,
    start: datetime,
    now: datetime,
) -> ActionTypeReport:
    policy = ladder.policy_for(name)
    confidence = ladder.promotion_for(name).confidence
    typed_weeks = [_week(week, cells.get(week, {})) for week in weeks]
    outcomes = _sum_outcomes([w.outcomes for w in typed_weeks])
    level = current.level if current else policy.initial
    ceiling = current.ceiling if current else policy.ceiling
    return ActionTypeReport(
        action_type=name,
        level=level,
        ceiling=ceiling,
        initial=policy.initial,
        levels=_levels(name, figures, policy.initial, start=start, now=now),
        proposals=sum(w.proposals for w in typed_weeks),
        needs_human=sum(w.needs_human for w in typed_weeks),
        denied=sum(int(cell.get("denied", 0)) for cell in cells.values()),
        executions=sum(w.executions for w in typed_weeks),
        outcomes=outcomes,
        weeks=tuple(typed_weeks),
        error_rate=outcomes.errors / outcomes.total if outcomes.total else None,
        error_rate_upper=wilson_upper(outcomes.errors, outcomes.total, confidence) if outcomes.total else None,
        confidence=confidence,
        approvals=_approvals(approvals, level=level, ceiling=ceiling),
        time_to_decision=_waits(approvals),
        rejection_reasons=tuple(RejectionReason(reason=row["reason"], count=int(row["n"])) for row in reasons),
        rejections=int(reasons[0]["total"]) if reasons else 0,
        agreement=_agreement(approvals),
        reviews=_reviews(reviews),
        promotion_due=current.promotion_due if current else False,
        promotion_blockers=current.blockers if current else (),
    )


def _levels(name: str, figures: Figures, initial: int, *, start: datetime, now: datetime) -> tuple[LevelPoint, ...]:
    """The level at the chart's start (the type's first proposal, or the range's start), then each change until now."""
    changes = [row for row in figures.level_changes if row["action_type"] == name]
    first = figures.first_proposed.get(name)
    seen = ([first] if first else []) + ([changes[0]["changed_at"]] if changes else [])
    opened = max(start, min(seen)) if seen else start
    before = [row for row in changes if row["changed_at"] <= opened]
    level = int(before[-1]["to_level"]) if before else int(changes[0]["from_level"]) if changes else initial
    points = [LevelPoint(at=min(opened, now), level=level, reason="start")]
    points += [LevelPoint(at=row["changed_at"], level=int(row["to_level"]), reason=row["reason"]) for row in changes if row["changed_at"] > opened]
    return tuple(points)


def flags(report: Report) -> list[tuple[str, str]]:
    """What deserves a platform engineer's look, as (action type, what) pairs, for every renderer."""
    found = []
    for t in report.action_types:
        if t.approvals.over_gated and t.approvals.note:
            found.append((t.action_type, t.approvals.note))
        if t.agreement.ran_what_human_rejected:
            found.append((t.action_type, f"the ladder would have run {t.agreement.ran_what_human_rejected} proposal(s) a human rejected (observe mode)"))
        if t.reviews.bad:
            found.append((t.action_type, f"{t.reviews.bad} sampled review(s) found an execution bad, each counted as an incident"))
    return found


def _approvals(row: dict[str, Any], *, level: int, ceiling: int, flag: bool = True) -> Approvals:
    approved, decided = int(row.get("gated_approved") or 0), int(row.get("gated_approved") or 0) + int(row.get("gated_rejected") or 0)
    rate = approved / decided if decided else None
    over = flag and decided >= OVER_GATED_MIN_DECIDED and approved * 100 >= OVER_GATED_PERCENT * decided
    note = None
    if over:
        fix = "consider raising its level (trustladder ladder promote) or a standing approval" if level < ceiling else (
            f"it is at its ceiling ({ceiling}): consider a standing approval, or a higher ceiling in trust_ladder.yaml"
        )
        note = f"approved {approved} of {decided} human decisions ({rate:.0%}): probably over-gated; {fix}"
    return Approvals(
        requested=int(row.get("requested") or 0),
        approved=int(row.get("approved") or 0),
        rejected=int(row.get("rejected") or 0),
        expired=int(row.get("expired") or 0),
        lapsed=int(row.get("lapsed") or 0),
        pending=int(row.get("pending") or 0),
        gated_decided=decided,
        approval_rate=rate,
        over_gated=over,
        note=note,
    )


def _waits(row: dict[str, Any]) -> Waits:
    def minutes(value: float | None) -> float | None:
        return None if value is None else float(value) / 60

    return Waits(decided=int(row.get("decided") or 0), p50_minutes=minutes(row.get("wait_p50_s")), p95_minutes=minutes(row.get("wait_p95_s")))


def _agreement(row: dict[str, Any]) -> Agreement:
    decided, agreed = int(row.get("observed") or 0), int(row.get("agreed") or 0)
    return Agreement(
        decided=decided,
        agreed=agreed,
        agreement_rate=agreed / decided if decided else None,
        ran_what_human_rejected=int(row.get("ran_what_human_rejected") or 0),
        gated_what_human_approved=int(row.get("gated_what_human_approved") or 0),
    )


def _reviews(row: dict[str, Any]) -> Reviews:
    sampled, reviewed = int(row.get("sampled") or 0), int(row.get("reviewed") or 0)
    return Reviews(sampled=sampled, reviewed=reviewed, good=int(row.get("good") or 0), bad=int(row.get("bad") or 0), pending=sampled - reviewed)


def _week(week: date, cell: dict[str, int]) -> Week:
    proposals, needs = int(cell.get("proposals", 0)), int(cell.get("needs_human", 0))
    return Week(
        week=week,
        proposals=proposals,
        needs_human=needs,
        needs_human_share=needs / proposals if proposals else None,
        executions=int(cell.get("executions", 0)),
        outcomes=_outcome_counts({kind.value: int(cell.get(kind.value, 0)) for kind in Outcome}),
    )


def _outcome_counts(counts: dict[str, int]) -> OutcomeCounts:
    errors = sum(n for kind, n in counts.items() if Outcome(kind).is_error)
    return OutcomeCounts(**counts, total=sum(counts.values()), errors=errors)


def _sum_outcomes(parts: list[OutcomeCounts]) -> OutcomeCounts:
    return _outcome_counts({kind.value: sum(getattr(part, kind.value) for part in parts) for kind in Outcome})


def _sum_weeks(per_type: list[tuple[Week, ...]], weeks: list[date]) -> list[Week]:
    summed = []
    for index, week in enumerate(weeks):
        same = [typed[index] for typed in per_type]
        proposals, needs = sum(w.proposals for w in same), sum(w.needs_human for w in same)
        summed.append(
            Week(
                week=week,
                proposals=proposals,
                needs_human=needs,
                needs_human_share=needs / proposals if proposals else None,
                executions=sum(w.executions for w in same),
                outcomes=_sum_outcomes([w.outcomes for w in same]),
            )
        )
    return summed


def _weeks(active: list[date], now: datetime) -> list[date]:
    """Every Monday from the first active week to the report's week, so quiet weeks show as zero."""
    if not active:
        return []
    today = now.astimezone(UTC).date()
    first, last = min(active), today - timedelta(days=today.weekday())
    return [first + timedelta(weeks=n) for n in range((max(last, max(active)) - first).days // 7 + 1)]


def _totals(types: tuple[ActionTypeReport, ...], approvals: dict[str, Any], reviews: list[dict[str, Any]]) -> Totals:
    proposals, needs = sum(t.proposals for t in types), sum(t.needs_human for t in types)
    return Totals(
        proposals=proposals,
        needs_human=needs,
        needs_human_share=needs / proposals if proposals else None,
        denied=sum(t.denied for t in types),
        executions=sum(t.executions for t in types),
        outcomes=_sum_outcomes([t.outcomes for t in types]),
        approvals=_approvals(approvals, level=0, ceiling=0, flag=False),
        time_to_decision=_waits(approvals),
        agreement=_agreement(approvals),
        reviews=_reviews({key: sum(int(row[key]) for row in reviews) for key in ("sampled", "reviewed", "good", "bad")}),
    )


def _candidate(row: LadderStatus) -> PromotionCandidate:
    return PromotionCandidate(
        action_type=row.action_type,
        from_level=row.level,
        to_level=row.level + 1,
        outcomes_at_level=row.outcomes_at_level,
        error_rate_upper=row.error_rate_upper,
        days_at_level=row.days_at_level,
        sign_off=row.sign_off,
    )


def _json(value: Any) -> dict[str, Any]:
    import json

    if isinstance(value, dict):
        return value
    try:
        loaded = json.loads(value) if value else {}
    except (TypeError, ValueError):
        return {"raw": str(value)}
    return loaded if isinstance(loaded, dict) else {"value": loaded}
