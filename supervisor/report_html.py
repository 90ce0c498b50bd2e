"""``trustladder report --html FILE``: one self-contained HTML page with inline SVG charts.

No script, stylesheet, font or image is loaded from anywhere: the CSS is inline, the charts are
SVG written here, and a Content-Security-Policy forbids everything else, so the file can be
mailed or archived and opens the same everywhere. Every chart has a title and description for
screen readers and a table with the same figures beside it. Everything read from the ledger is
escaped (agents' and reviewers' text is untrusted); ``_e`` is the one way text enters the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from html import escape

from supervisor.report import ActionTypeReport, LevelPoint, Report, Week
from supervisor.report import flags as report_flags
from supervisor.report_text import duration, moment, percent
from supervisor.trust_ladder import LEVEL_NAMES

OUTCOME_SERIES = (("success", "success", "#2e7d32"), ("failure", "failure", "#e69f00"), ("incident", "incident", "#c62828"), ("rolled_back", "rolled back", "#6a3d9a"))
AGREEMENT_SERIES = (
    ("agreed", "agreed", "#2e7d32"),
    ("ran_what_human_rejected", "ladder would run, human rejected", "#c62828"),
    ("gated_what_human_approved", "ladder gated, human approved", "#e69f00"),
)
_ACCENT = "#1f5fa8"
_CSS = """
:root { color-scheme: light; --ink: #1b1b1b; --muted: #555; --rule: #d0d0d0; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); margin: 0 auto; max-width: 1100px; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .25rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem; border-bottom: 1px solid var(--rule); }
h3 { font-size: 1.05rem; margin: 1.6rem 0 .4rem; }
.meta, .note, figcaption, caption { color: var(--muted); font-size: .9rem; }
caption { text-align: left; caption-side: top; padding-bottom: .25rem; }
.pair { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
.pair > * { flex: 1 1 420px; min-width: 0; }
figure { margin: 0; } svg.chart { max-width: 100%; height: auto; }
svg text { font: 11px system-ui, sans-serif; fill: #333; }
.scroll { overflow-x: auto; max-width: 100%; }
table { border-collapse: collapse; font-size: .9rem; margin: .25rem 0 1rem; }
th, td { border-bottom: 1px solid var(--rule); padding: .2rem .6rem; text-align: left; vertical-align: top; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
.flag { border-left: 4px solid #c62828; background: #fdf1f1; padding: .4rem .8rem; margin: .4rem 0; }
.legend span { display: inline-block; margin-right: 1rem; font-size: .85rem; }
.legend i { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: -1px; }
dl.totals { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; } dl.totals dt { font-weight: 600; } dl.totals dd { margin: 0; }
"""


def render_report_html(report: Report) -> str:
    """The report as one self-contained HTML document.

    Args:
        report: a report from ``Supervisor.report``.

    Returns:
        The HTML text.
    """
    span = f"since {moment(report.since)} UTC" if report.since else "the whole ledger"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>trustladder report: {_e(span)} to {moment(report.generated_at)} UTC</title>",
        f"<style>{_CSS}</style></head><body><main>",
        "<h1>trustladder report</h1>",
        (
            f'<p class="meta">Covers {_e(span)} to {moment(report.generated_at)} UTC. Ladder mode: <strong>{_e(report.mode)}</strong>. '
            f"A type is flagged over-gated when at least {report.over_gated_percent}% of at least {report.over_gated_min_decided} human decisions the ladder asked for were approvals.</p>"
        ),
    ]
    if report.empty:
        parts.append(
            '<p data-testid="empty">No proposals, outcomes, reviews or level changes in this range: nothing to report yet. '
            "Agents' proposals appear here once recorded with <code>trustladder propose</code> (or the API and Dagster sensors).</p>"
        )
    else:
        parts += _headline(report) + _flags(report) + _weekly(report) + _approval_rates(report) + _agreement(report)
        parts += _reasons_and_reviews(report) + _overview(report) + [_type_section(t, report) for t in report.action_types] + ["</section>"]
    parts += _promotions(report) + _demotions(report)
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _headline(report: Report) -> list[str]:
    totals, waits = report.totals, report.totals.time_to_decision
    items = [
        ("Proposals", f"{totals.proposals:,}, of which {totals.needs_human:,} ({percent(totals.needs_human_share)}) needed a human and {totals.denied:,} were denied"),
        ("Executions", f"{totals.executions:,}"),
        ("Outcomes", f"{totals.outcomes.total:,}: {totals.outcomes.success:,} success, {totals.outcomes.failure:,} failure, {totals.outcomes.incident:,} incident, {totals.outcomes.rolled_back:,} rolled back"),
        ("Human decisions", f"{waits.decided:,}; approval rate {percent(totals.approvals.approval_rate)} of the {totals.approvals.gated_decided:,} the ladder asked for"),
        ("Time to decision", f"p50 {duration(waits.p50_minutes)}, p95 {duration(waits.p95_minutes)}"),
        ("Waiting", f"{totals.approvals.pending:,} awaiting a human; {totals.approvals.expired:,} expired undecided"),
    ]
    if totals.reviews.sampled:
        r = totals.reviews
        items.append(("Sampled reviews", f"{r.sampled:,} sampled, {r.reviewed:,} reviewed, {r.bad:,} bad, {r.pending:,} pending"))
    if totals.agreement.decided:
        a = totals.agreement
        items.append(("Observe mode", f"ladder and humans agreed on {a.agreed:,} of {a.decided:,} ({percent(a.agreement_rate)})"))
    rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in items)
    return ['<section aria-labelledby="h-totals"><h2 id="h-totals">Headline</h2>', f'<dl class="totals" data-testid="totals">{rows}</dl></section>']


def _flags(report: Report) -> list[str]:
    flags = [f"<strong>{_e(action_type)}</strong>: {_e(what)}" for action_type, what in report_flags(report)]
    if not flags:
        return []
    return ['<section aria-labelledby="h-flags"><h2 id="h-flags">Worth a look</h2>', *(f'<p class="flag" data-testid="flag">{f}</p>' for f in flags), "</section>"]


def _weekly(report: Report) -> list[str]:
    weeks = report.weeks
    share = _bars(
        "chart-share",
        "Share of proposals that needed a human, per week",
        "One bar per week (weeks start on Monday, UTC): the share of that week's proposals the ladder sent to a human (in observe mode: would have sent).",
        [(w.week, {"needs_human_share": w.needs_human_share or 0.0}) for w in weeks],
        (("needs_human_share", "share that needed a human", _ACCENT),),
        shares=True,
    )
    outcomes = _bars(
        "chart-outcomes",
        "Outcomes per week, all action types",
        "Stacked bars, one per week: successes, failures, incidents and rollbacks recorded that week.",
        [(w.week, _outcome_values(w)) for w in weeks],
        OUTCOME_SERIES,
    )
    active = [w for w in weeks if w.proposals or w.executions or w.outcomes.total]
    table = _table(
        "Per week (weeks with no activity are left out)",
        ("week (Monday)", "proposals", "needed a human", "share", "executions", "success", "failure", "incident", "rolled back"),
        [(f"{w.week:%Y-%m-%d}", w.proposals, w.needs_human, percent(w.needs_human_share), w.executions, *(int(v) for v in _outcome_values(w).values())) for w in active],
        testid="weeks",
    )
    return [
        '<section aria-labelledby="h-weeks"><h2 id="h-weeks">Week by week</h2>',
        f'<div class="pair">{share}{outcomes}</div>',
        _legend(OUTCOME_SERIES),
        table,
        "</section>",
    ]


def _approval_rates(report: Report) -> list[str]:
    rated = [t for t in report.action_types if t.approvals.gated_decided]
    rows = [
        (
            t.action_type,
            t.level,
            t.approvals.requested,
            t.approvals.approved,
            t.approvals.rejected,
            t.approvals.expired,
            t.approvals.pending,
            percent(t.approvals.approval_rate),
            "yes" if t.approvals.over_gated else "",
            duration(t.time_to_decision.p50_minutes),
            duration(t.time_to_decision.p95_minutes),
        )
        for t in report.action_types
        if t.approvals.requested
    ]
    parts = ['<section aria-labelledby="h-approvals"><h2 id="h-approvals">Approvals and waits</h2>']
    if rated:
        parts.append(
            _hbars(
                "chart-approval",
                "Approval rate per action type",
                f"Horizontal bars: the share of human decisions the ladder asked for that were approvals, per type; the dashed line marks {report.over_gated_percent}%.",
                [(t.action_type, {"approval_rate": t.approvals.approval_rate or 0.0}, f"{t.approvals.gated_decided} decisions") for t in rated],
                (("approval_rate", "approval rate", _ACCENT),),
                threshold=report.over_gated_percent / 100,
            )
        )
    headers = ("action type", "level", "requested", "approved", "rejected", "expired", "pending", "approval rate", "over-gated", "wait p50", "wait p95")
    parts += [_table("Approval requests per type", headers, rows, testid="approvals"), "</section>"]
    return parts


def _agreement(report: Report) -> list[str]:
    observed = [t for t in report.action_types if t.agreement.decided]
    if not observed:
        return []
    chart = _hbars(
        "chart-agreement",
        "Observe mode: ladder against humans, per action type",
        "Stacked horizontal bars per type, as shares of the observed proposals a human decided: agreed, the ladder would have run what a human rejected, the ladder gated what a human approved.",
        [(t.action_type, {key: getattr(t.agreement, key) / t.agreement.decided for key, _, _ in AGREEMENT_SERIES}, f"{t.agreement.decided} decided") for t in observed],
        AGREEMENT_SERIES,
    )
    rows = [
        (t.action_type, t.agreement.decided, t.agreement.agreed, percent(t.agreement.agreement_rate), t.agreement.ran_what_human_rejected, t.agreement.gated_what_human_approved)
        for t in observed
    ]
    headers = ("action type", "decided", "agreed", "agreement", "ladder would run, human rejected", "ladder gated, human approved")
    parts = [
        '<section aria-labelledby="h-agreement"><h2 id="h-agreement">Observe mode: the ladder against humans</h2>',
        chart,
        _legend(AGREEMENT_SERIES),
        _table("Agreement per type", headers, rows, testid="agreement"),
    ]
    if report.disagreements:
        examples = [(moment(d.created_at), d.proposal_id, d.action_type, d.ladder_decision, d.agent or "-", d.reason or d.summary or "-", d.rejected_by or "-", d.rejection or "-") for d in report.disagreements]
        parts.append(_table("Latest proposals the ladder would have run and a human rejected", ("proposed (UTC)", "id", "action type", "ladder", "agent", "agent's reason", "rejected by", "why"), examples, testid="disagreements"))
    return [*parts, "</section>"]


def _reasons_and_reviews(report: Report) -> list[str]:
    parts = []
    reasons = [(t.action_type, r.count, r.reason) for t in report.action_types for r in t.rejection_reasons]
    if reasons:
        parts += ['<section aria-labelledby="h-reasons"><h2 id="h-reasons">Rejection reasons</h2>', _table("Most given first, at most 5 per type", ("action type", "count", "reason"), reasons, testid="reasons"), "</section>"]
    sampled = [t for t in report.action_types if t.reviews.sampled]
    if sampled:
        rows = [(t.action_type, t.reviews.sampled, t.reviews.reviewed, t.reviews.good, t.reviews.bad, t.reviews.pending) for t in sampled]
        parts += [
            '<section aria-labelledby="h-reviews"><h2 id="h-reviews">Sampled reviews</h2>',
            _table("Executions that ran without a human, queued for review after the fact", ("action type", "sampled", "reviewed", "good", "bad", "pending"), rows, testid="reviews"),
            "</section>",
        ]
    return parts


def _overview(report: Report) -> list[str]:
    rows = [
        (
            t.action_type,
            t.level,
            t.ceiling,
            t.proposals,
            t.needs_human,
            percent(t.approvals.approval_rate),
            duration(t.time_to_decision.p50_minutes),
            duration(t.time_to_decision.p95_minutes),
            t.outcomes.success,
            t.outcomes.failure,
            t.outcomes.incident,
            t.outcomes.rolled_back,
            f"{percent(t.error_rate, 1)} (≤ {percent(t.error_rate_upper, 1)})" if t.error_rate is not None else "-",
            "due" if t.promotion_due else (t.promotion_blockers[0] if t.promotion_blockers else "-"),
        )
        for t in report.action_types
    ]
    headers = ("action type", "level", "ceiling", "proposals", "needed a human", "approval rate", "wait p50", "wait p95", "success", "failure", "incident", "rolled back", "error rate (upper bound)", "promotion")
    return [
        '<section aria-labelledby="h-types"><h2 id="h-types">Action types</h2>',
        _table("Every action type with activity in the range; the upper bound is one-sided Wilson at the type's promotion confidence", headers, rows, testid="types"),
    ]


def _type_section(t: ActionTypeReport, report: Report) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in t.action_type)
    level = _level_chart(f"level-{slug}", t, end=report.generated_at)
    outcomes = _bars(
        f"outcomes-{slug}",
        f"{t.action_type}: outcomes per week",
        "Stacked bars, one per week: successes, failures, incidents and rollbacks of this type.",
        [(w.week, _outcome_values(w)) for w in t.weeks],
        OUTCOME_SERIES,
    )
    steps = [(moment(p.at), p.level, LEVEL_NAMES.get(p.level, ""), "level at the start" if p.reason == "start" else p.reason) for p in t.levels]
    error = f"{percent(t.error_rate, 1)}, upper bound {percent(t.error_rate_upper, 1)} at {t.confidence:.0%} confidence" if t.error_rate is not None else "no outcomes"
    facts = [
        ("level now", f"{t.level} ({LEVEL_NAMES.get(t.level, '')}), ceiling {t.ceiling}, initial {t.initial}"),
        ("proposals", f"{t.proposals:,}; {t.needs_human:,} needed a human; {t.denied:,} denied; {t.executions:,} executions"),
        ("outcomes", f"{t.outcomes.total:,}: {t.outcomes.success:,} success, {t.outcomes.failure:,} failure, {t.outcomes.incident:,} incident, {t.outcomes.rolled_back:,} rolled back"),
        ("error rate", error),
        ("promotion", "due now" if t.promotion_due else "; ".join(t.promotion_blockers) or "-"),
    ]
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    return (
        f'<section aria-labelledby="h-{slug}" data-testid="type" data-action-type="{_e(t.action_type)}"><h3 id="h-{slug}">{_e(t.action_type)}</h3>'
        f'<dl class="totals">{dl}</dl><div class="pair">{level}{outcomes}</div>'
        + _table(f"{t.action_type}: level changes", ("from (UTC)", "level", "name", "why"), steps)
        + "</section>"
    )


def _promotions(report: Report) -> list[str]:
    rows = [
        (c.action_type, f"{c.from_level} → {c.to_level}", c.outcomes_at_level, percent(c.error_rate_upper, 1), f"{c.days_at_level:.1f}" if c.days_at_level is not None else "-", "trustladder ladder promote" if c.sign_off else "automatic")
        for c in report.promotion_candidates
    ]
    body = _table("Types whose promotion is due now", ("action type", "level", "outcomes at level", "error upper bound", "days at level", "sign-off"), rows, testid="promotions") if rows else "<p>None due now.</p>"
    return ['<section aria-labelledby="h-promotions"><h2 id="h-promotions">Promotion candidates</h2>', body, "</section>"]


def _demotions(report: Report) -> list[str]:
    rows = [(moment(d.at), d.action_type, f"{d.from_level} → {d.to_level}", d.reason, d.actor or "the ladder") for d in report.recent_demotions]
    body = _table(f"Since {moment(report.demotions_since)} UTC, newest first", ("when (UTC)", "action type", "level", "reason", "by"), rows, testid="demotions") if rows else "<p>None.</p>"
    return ['<section aria-labelledby="h-demotions"><h2 id="h-demotions">Recent demotions</h2>', body, "</section>"]


# -- charts ------------------------------------------------------------------------------------


def _bars(chart_id: str, title: str, desc: str, data: Sequence[tuple[date, dict[str, float]]], series: Sequence[tuple[str, str, str]], *, shares: bool = False) -> str:
    """Vertical bars per week, stacked by series; each series is one ``<g data-series>``."""
    left, top, bottom, height, width = 40, 10, 28, 180, 520
    slot = (width - left - 10) / max(len(data), 1)
    bar = min(slot - 2 if slot > 4 else slot, 40.0)
    plot = height - top - bottom
    peak = 1.0 if shares else max([sum(values.values()) for _, values in data] + [1])

    def y(value: float) -> float:
        return top + plot - plot * value / peak

    groups = []
    base = [0.0] * len(data)
    for key, label, colour in series:
        rects = []
        for index, (week, values) in enumerate(data):
            value = values.get(key, 0.0)
            if value:
                shown = percent(value) if shares else f"{value:,.0f}"
                rects.append(
                    f'<rect x="{left + index * slot + (slot - bar) / 2:.1f}" y="{y(base[index] + value):.1f}" width="{bar:.1f}" height="{plot * value / peak:.1f}">'
                    f"<title>{week:%Y-%m-%d}: {_e(shown)} {_e(label)}</title></rect>"
                )
            base[index] += value
        groups.append(f'<g class="series" data-series="{_e(key)}" fill="{colour}" aria-label="{_e(label)}">{"".join(rects)}</g>')
    top_label = "100%" if shares else f"{peak:,.0f}"
    axis = (
        f'<line x1="{left}" x2="{width - 6}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#888"/>'
        f'<text x="{left - 4}" y="{y(0) + 4:.1f}" text-anchor="end">0</text><text x="{left - 4}" y="{y(peak) + 4:.1f}" text-anchor="end">{top_label}</text>'
    )
    if data:
        axis += f'<text x="{left}" y="{height - 8}">{data[0][0]:%Y-%m-%d}</text>'
        if len(data) > 1:
            axis += f'<text x="{left + slot * len(data)}" y="{height - 8}" text-anchor="end">{data[-1][0]:%Y-%m-%d}</text>'
    return _figure(chart_id, title, desc, width, height, axis + "".join(groups))


def _hbars(chart_id: str, title: str, desc: str, data: Sequence[tuple[str, dict[str, float], str]], series: Sequence[tuple[str, str, str]], *, threshold: float | None = None) -> str:
    """Horizontal bars per action type (values are shares, 0..1), stacked by series."""
    label_w, bar_w, row_h, top = 190, 360, 22, 8
    width, height = label_w + bar_w + 160, top + row_h * len(data) + 22
    groups = []
    for key, label, colour in series:
        rects = []
        for index, (name, values, detail) in enumerate(data):
            start = sum(values.get(k, 0.0) for k, _, _ in series[: [s[0] for s in series].index(key)])
            value = values.get(key, 0.0)
            if value:
                rects.append(
                    f'<rect x="{label_w + bar_w * start:.1f}" y="{top + index * row_h + 3}" width="{bar_w * value:.1f}" height="{row_h - 6}">'
                    f"<title>{_e(name)}: {percent(value)} {_e(label)} ({_e(detail)})</title></rect>"
                )
        groups.append(f'<g class="series" data-series="{_e(key)}" fill="{colour}" aria-label="{_e(label)}">{"".join(rects)}</g>')
    labels = "".join(
        f'<text x="{label_w - 6}" y="{top + index * row_h + row_h / 2 + 4:.1f}" text-anchor="end">{_e(_short(name))}</text>'
        f'<text x="{label_w + bar_w + 6}" y="{top + index * row_h + row_h / 2 + 4:.1f}">{_e(percent(values.get(series[0][0], 0.0)))} · {_e(detail)}</text>'
        for index, (name, values, detail) in enumerate(data)
    )
    bottom = top + row_h * len(data)
    axis = f'<line x1="{label_w}" x2="{label_w}" y1="{top}" y2="{bottom}" stroke="#888"/>'
    axis += f'<text x="{label_w}" y="{bottom + 14}">0%</text><text x="{label_w + bar_w}" y="{bottom + 14}" text-anchor="end">100%</text>'
    if threshold is not None:
        x = label_w + bar_w * threshold
        axis += f'<line class="threshold" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}" stroke="#c62828" stroke-dasharray="4 3"><title>{threshold:.0%}: over-gated from here</title></line>'
    return _figure(chart_id, title, desc, width, height, axis + "".join(groups) + labels)


def _level_chart(chart_id: str, t: ActionTypeReport, *, end: datetime) -> str:
    """A step line of the level (1 at the bottom, 4 at the top) from the type's first point to the report's end."""
    left, right, top, bottom, width, height = 118, 12, 10, 26, 460, 150
    points: list[LevelPoint] = list(t.levels)
    start = points[0].at
    span = max((end - start).total_seconds(), 1.0)
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(at: datetime) -> float:
        return left + plot_w * min(max((at - start).total_seconds() / span, 0.0), 1.0)

    def y(level: int) -> float:
        return top + plot_h - plot_h * (level - 1) / 3

    grid = "".join(
        f'<line x1="{left}" x2="{width - right}" y1="{y(n):.1f}" y2="{y(n):.1f}" stroke="#e3e3e3"/>'
        f'<text x="{left - 6}" y="{y(n) + 4:.1f}" text-anchor="end">{n} {LEVEL_NAMES[n]}</text>'
        for n in range(1, 5)
    )
    ceiling = f'<line x1="{left}" x2="{width - right}" y1="{y(t.ceiling):.1f}" y2="{y(t.ceiling):.1f}" stroke="#888" stroke-dasharray="5 4"><title>ceiling {t.ceiling}</title></line>'
    path = [f"M{x(points[0].at):.1f},{y(points[0].level):.1f}"]
    path += [f"H{x(p.at):.1f}V{y(p.level):.1f}" for p in points[1:]]
    path.append(f"H{x(end):.1f}")
    marks = "".join(
        f'<circle cx="{x(p.at):.1f}" cy="{y(p.level):.1f}" r="3.5"><title>{moment(p.at)}: level {p.level} ({_e(p.reason)})</title></circle>' for p in points[1:]
    )
    axis = f'<text x="{left}" y="{height - 8}">{moment(start)}</text><text x="{width - right}" y="{height - 8}" text-anchor="end">{moment(end)}</text>'
    body = grid + ceiling + axis + f'<g class="series" data-series="level" fill="{_ACCENT}"><path d="{"".join(path)}" fill="none" stroke="{_ACCENT}" stroke-width="2.5"/>{marks}</g>'
    changes = len(points) - 1
    desc = f"A step line of the level from {moment(start)} to {moment(end)} UTC, with the ceiling dashed: {changes} change(s); now level {t.level}."
    return _figure(chart_id, f"{t.action_type}: level over time", desc, width, height, body)


def _figure(chart_id: str, title: str, desc: str, width: int, height: int, body: str) -> str:
    return (
        f'<figure><svg id="{chart_id}" class="chart" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc"><title id="{chart_id}-title">{_e(title)}</title><desc id="{chart_id}-desc">{_e(desc)}</desc>'
        f"{body}</svg><figcaption>{_e(title)}</figcaption></figure>"
    )


def _legend(series: Sequence[tuple[str, str, str]]) -> str:
    return '<p class="legend">' + "".join(f'<span><i style="background:{colour}"></i>{_e(label)}</span>' for _, label, colour in series) + "</p>"


def _table(caption: str, headers: Sequence[str], rows: Sequence[Sequence[object]], *, testid: str | None = None) -> str:
    attribute = f' data-testid="{testid}"' if testid else ""
    head = "".join(f'<th scope="col"{_num_class(rows, i)}>{_e(h)}</th>' for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f"<td{_num_class(rows, i)}>{_e(_cell(cell))}</td>" for i, cell in enumerate(row)) + "</tr>" for row in rows)
    return f'<div class="scroll"><table{attribute}><caption>{_e(caption)}</caption><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _cell(value: object) -> object:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else value


def _num_class(rows: Sequence[Sequence[object]], index: int) -> str:
    return ' class="n"' if rows and all(isinstance(row[index], int | float) for row in rows) else ""


def _outcome_values(week: Week) -> dict[str, float]:
    return {key: float(getattr(week.outcomes, key)) for key, _, _ in OUTCOME_SERIES}


def _short(name: str, limit: int = 28) -> str:
    return name if len(name) <= limit else name[: limit - 1] + "…"


def _e(value: object) -> str:
    """Text for HTML content or a quoted attribute: everything from the ledger goes through here."""
    return escape(str(value), quote=True)
