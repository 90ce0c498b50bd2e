"""``trustladder report`` as readable tables for a terminal.

Text that comes from the ledger (agents' reasons, reviewers' words, names) is untrusted: control
characters are shown escaped, so a reason cannot move the cursor or recolour the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from supervisor.report import ActionTypeReport, OutcomeCounts, Report
from supervisor.report import flags as report_flags

_ABSENT = "-"


def render_report(report: Report) -> str:
    """The report as text: headline, weeks, per-type tables, flags, levels, promotions, demotions.

    Args:
        report: a report from ``Supervisor.report``.

    Returns:
        Text ending in a newline.
    """
    span = f"since {moment(report.since)}" if report.since else "whole ledger"
    lines = [f"trustladder report: {span}, to {moment(report.generated_at)} UTC; ladder mode {report.mode}", ""]
    if report.empty:
        lines += [
            "No proposals, outcomes, reviews or level changes in this range: nothing to report yet.",
            "Agents' proposals appear here once recorded with 'trustladder propose' (or the API and Dagster sensors).",
            "",
        ]
    else:
        lines += _headline(report) + [""]
        lines += [*_weeks(report), ""]
        lines += ["Action types", _types(report.action_types), ""]
        flags = _flags(report)
        if flags:
            lines += ["Worth a look", *flags, ""]
        lines += _agreement(report)
        lines += _reasons(report.action_types)
        lines += _reviews(report.action_types)
        lines += ["Levels over time", *(_levels(t) for t in report.action_types), ""]
    lines += _promotions(report) + [""] + _demotions(report)
    return "\n".join(lines).rstrip("\n") + "\n"


def _headline(report: Report) -> list[str]:
    totals = report.totals
    waits = totals.time_to_decision
    lines = [
        f"proposals        {totals.proposals:,}; needed a human {totals.needs_human:,} ({percent(totals.needs_human_share)}); denied {totals.denied:,}",
        f"executions       {totals.executions:,}; outcomes {_outcomes(totals.outcomes)}",
        (
            f"human decisions  {waits.decided:,}; approval rate {percent(totals.approvals.approval_rate)} of {totals.approvals.gated_decided:,} the ladder asked for; "
            f"time to decision p50 {duration(waits.p50_minutes)}, p95 {duration(waits.p95_minutes)}"
        ),
        f"awaiting a human {totals.approvals.pending:,}; expired undecided {totals.approvals.expired:,}",
    ]
    reviews = totals.reviews
    if reviews.sampled:
        lines.append(f"sampled reviews  {reviews.sampled:,} sampled, {reviews.reviewed:,} reviewed, {reviews.bad:,} bad, {reviews.pending:,} pending")
    agreement = totals.agreement
    if agreement.decided:
        lines.append(
            f"observe mode     ladder and humans agreed on {agreement.agreed:,} of {agreement.decided:,} ({percent(agreement.agreement_rate)}); "
            f"{agreement.ran_what_human_rejected:,} the ladder would have run were rejected"
        )
    return lines


def _weeks(report: Report, shown: int = 12) -> list[str]:
    active = [w for w in report.weeks if w.proposals or w.executions or w.outcomes.total]
    head = "Per week (weeks start on Monday, UTC; quiet weeks left out"
    head += f"; the latest {shown} of {len(active)}, --json or --html for all)" if len(active) > shown else ")"
    rows = [
        (
            f"{w.week:%Y-%m-%d}",
            f"{w.proposals:,}",
            f"{w.needs_human:,}",
            percent(w.needs_human_share),
            f"{w.executions:,}",
            *(f"{n:,}" for n in _kinds(w.outcomes)),
        )
        for w in active[-shown:]
    ]
    return [head, _table(("week", "proposals", "needed a human", "share", "executions", "success", "failure", "incident", "rolled back"), rows)]


def _types(types: Sequence[ActionTypeReport]) -> str:
    rows = [
        (
            _clean(t.action_type),
            f"{t.level} (ceiling {t.ceiling})",
            f"{t.proposals:,}",
            f"{t.needs_human:,}",
            f"{percent(t.approvals.approval_rate)} of {t.approvals.gated_decided:,}" if t.approvals.gated_decided else _ABSENT,
            duration(t.time_to_decision.p50_minutes),
            duration(t.time_to_decision.p95_minutes),
            "/".join(f"{n:,}" for n in _kinds(t.outcomes)),
            f"{percent(t.error_rate)} (<= {percent(t.error_rate_upper)})" if t.error_rate is not None else _ABSENT,
            "due" if t.promotion_due else (t.promotion_blockers[0] if t.promotion_blockers else _ABSENT),
        )
        for t in types
    ]
    headers = ("action type", "level", "proposals", "needed a human", "approved", "wait p50", "wait p95", "ok/fail/inc/rb", "error rate (upper)", "promotion")
    legend = "approved: share of the human decisions the ladder asked for; error rate upper: one-sided Wilson bound at the type's promotion confidence"
    return _table(headers, rows) + "\n" + legend


def _flags(report: Report) -> list[str]:
    flags = [f"  ! {_clean(action_type)}: {what}" for action_type, what in report_flags(report)]
    if any(t.approvals.over_gated for t in report.action_types):
        flags.append(
            f"  (over-gated: at least {report.over_gated_percent}% of at least {report.over_gated_min_decided} human decisions were approvals)"
        )
    return flags


def _agreement(report: Report) -> list[str]:
    observed = [t for t in report.action_types if t.agreement.decided]
    if not observed:
        return []
    rows = [
        (
            _clean(t.action_type),
            f"{t.agreement.decided:,}",
            f"{t.agreement.agreed:,}",
            percent(t.agreement.agreement_rate),
            f"{t.agreement.ran_what_human_rejected:,}",
            f"{t.agreement.gated_what_human_approved:,}",
        )
        for t in observed
    ]
    headers = ("action type", "decided", "agreed", "agreement", "ladder would run, human rejected", "ladder gated, human approved")
    lines = ["Observe mode: the ladder against humans", _table(headers, rows)]
    if report.disagreements:
        lines.append("Latest proposals the ladder would have run and a human rejected:")
        for d in report.disagreements:
            lines.append(
                f"  {moment(d.created_at)}  {_clean(d.proposal_id)}  {_clean(d.action_type)} (ladder: {d.ladder_decision})  "
                f"agent {_clean(d.agent or _ABSENT)}: {_clean(d.reason or d.summary or _ABSENT)}"
            )
            lines.append(f"      rejected by {_clean(d.rejected_by or _ABSENT)}: {_clean(d.rejection or _ABSENT)}")
    return [*lines, ""]


def _reasons(types: Sequence[ActionTypeReport]) -> list[str]:
    rejected = [t for t in types if t.rejection_reasons]
    if not rejected:
        return []
    rows = [(_clean(t.action_type), f"{r.count:,}", _clean(r.reason)) for t in rejected for r in t.rejection_reasons]
    return ["Rejection reasons (most given first, at most 5 per type)", _table(("action type", "count", "reason"), rows), ""]


def _reviews(types: Sequence[ActionTypeReport]) -> list[str]:
    sampled = [t for t in types if t.reviews.sampled]
    if not sampled:
        return []
    rows = [(_clean(t.action_type), *(f"{n:,}" for n in (t.reviews.sampled, t.reviews.reviewed, t.reviews.good, t.reviews.bad, t.reviews.pending))) for t in sampled]
    return ["Sampled reviews of executions that ran without a human", _table(("action type", "sampled", "reviewed", "good", "bad", "pending"), rows), ""]


def _levels(t: ActionTypeReport) -> str:
    steps = [f"{p.level} from {moment(p.at)}" if p.reason == "start" else f"{p.level} on {moment(p.at)} ({_clean(p.reason)})" for p in t.levels]
    return f"  {_clean(t.action_type)}: " + "; ".join(steps) + f"; now {t.level}, ceiling {t.ceiling}"


def _promotions(report: Report) -> list[str]:
    if not report.promotion_candidates:
        return ["Promotion candidates: none due now"]
    rows = [
        (
            _clean(c.action_type),
            f"{c.from_level} -> {c.to_level}",
            f"{c.outcomes_at_level:,}",
            percent(c.error_rate_upper, 1),
            f"{c.days_at_level:.1f}" if c.days_at_level is not None else _ABSENT,
            f"trustladder ladder promote {_clean(c.action_type)} --by WHO" if c.sign_off else "automatic",
        )
        for c in report.promotion_candidates
    ]
    return ["Promotion candidates (due now)", _table(("action type", "level", "outcomes at level", "error upper", "days", "sign-off"), rows)]


def _demotions(report: Report) -> list[str]:
    head = f"Demotions since {moment(report.demotions_since)}"
    if not report.recent_demotions:
        return [f"{head}: none"]
    rows = [
        (moment(d.at), _clean(d.action_type), f"{d.from_level} -> {d.to_level}", _clean(d.reason), _clean(d.actor) if d.actor else "the ladder")
        for d in report.recent_demotions
    ]
    return [head, _table(("when (UTC)", "action type", "level", "reason", "by"), rows)]


def _kinds(counts: OutcomeCounts) -> tuple[int, int, int, int]:
    return counts.success, counts.failure, counts.incident, counts.rolled_back


def _outcomes(counts: OutcomeCounts) -> str:
    return f"{counts.total:,} ({counts.success:,} success, {counts.failure:,} failure, {counts.incident:,} incident, {counts.rolled_back:,} rolled back)"


def percent(value: float | None, digits: int = 0) -> str:
    """A share as a percentage, or - when there is none."""
    return _ABSENT if value is None else f"{value:.{digits}%}"


def duration(minutes: float | None) -> str:
    """A wait in the unit a person reads it in."""
    if minutes is None:
        return _ABSENT
    if minutes < 1:
        return f"{minutes * 60:.0f} s"
    if minutes < 120:
        return f"{minutes:.0f} min"
    if minutes < 48 * 60:
        return f"{minutes / 60:.1f} h"
    return f"{minutes / 1440:.1f} d"


def moment(when: datetime | None) -> str:
    """A UTC time to the minute, or - when there is none."""
    return _ABSENT if when is None else f"{when:%Y-%m-%d %H:%M}"


def _clean(text: str) -> str:
    """Ledger text with control characters escaped (no terminal escape sequences get through)."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max([len(headers[i]), *(len(row[i]) for row in rows)]) for i in range(len(headers) - 1)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)) + "  " + headers[-1]]
    lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(headers[-1]))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1] for row in rows]
    return "\n".join(line.rstrip() for line in lines)
