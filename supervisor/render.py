"""Plain-text renderings of results for a terminal."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from supervisor.models import Decision, PolicyDecision, SqlClassification

if TYPE_CHECKING:  # the classify path must not import the ledger (and with it DuckDB)
    from supervisor.approvals import ApprovalRequest
    from supervisor.ledger import StoredProposal
    from supervisor.packet import Measurement, Packet
    from supervisor.promotion import LadderStatus
    from supervisor.review import SampledReview
    from supervisor.service import ReviewResult

_SQL_WIDTH = 100


def render_classification(result: SqlClassification) -> str:
    """A readable table: the script's action type, then category, object and message per statement.

    Args:
        result: a classification.

    Returns:
        Text ending in a newline.
    """
    categories = ", ".join(category.value for category in result.categories) or "none"
    lines = [f"action type: {result.action_type}    categories: {categories}    dialect: {result.dialect}", ""]
    rows: list[tuple[str, str, str, str]] = []
    for statement in result.statements:
        for finding in statement.findings or ():
            rows.append((str(statement.index), finding.category.value, finding.object or "-", finding.message))
        if not statement.findings:
            rows.append((str(statement.index), "-", "-", "changes nothing a reviewer gates"))
    headers = ("#", "category", "object", "message")
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(3)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(headers[:3], widths)) + "  " + headers[3])
    lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(headers[3]))
    current = None
    for row in rows:
        if row[0] != current:
            current = row[0]
            statement = result.statements[int(row[0])] if int(row[0]) < len(result.statements) else None
            if statement is not None and len(result.statements) > 1:
                lines.append(f"-- statement {row[0]}: {_one_line(statement.sql)}")
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
    return "\n".join(lines) + "\n"


def _one_line(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= _SQL_WIDTH else text[: _SQL_WIDTH - 3] + "..."


def render_decision(decision: PolicyDecision, *, proposal_id: str | None = None) -> str:
    """The decision and its reasons, one per line.

    Args:
        decision: a decision.
        proposal_id: the recorded proposal, when there is one.

    Returns:
        Text ending in a newline.
    """
    head = f"{decision.decision.value}: {decision.action_type} at level {decision.level}"
    if decision.decision is not decision.ladder_decision:
        head += f" (the ladder says {decision.ladder_decision.value})"
    lines = [head]
    width = max((len(reason.code) for reason in decision.reasons), default=0)
    lines += [f"  {reason.code.ljust(width)}  {reason.message}" for reason in decision.reasons]
    if proposal_id and decision.decision is Decision.REQUIRE_APPROVAL:
        lines.append(f"review with: trustladder show {proposal_id}; approve with: trustladder approve {proposal_id} --by NAME")
    return "\n".join(lines) + "\n"


def queue_json(pending: list[tuple[StoredProposal, ApprovalRequest]]) -> dict[str, Any]:
    """The contract's ``queue --json`` shape, plus the routed group and approvals so far."""
    return {
        "proposals": [
            {
                "proposal_id": stored.proposal_id,
                "action_type": stored.assessment.action_type,
                "agent": stored.proposal.agent,
                "level": stored.decision.level,
                "reasons": [reason.model_dump() for reason in stored.decision.reasons],
                "created_at": stored.created_at.isoformat(),
                "expires_at": request.expires_at.isoformat(),
                "group": request.group,
                "approvals": sum(1 for vote in request.votes if vote.verdict == "approve"),
                "required": request.required,
                "summary": stored.assessment.summary,
            }
            for stored, request in pending
        ]
    }


def render_queue(pending: list[tuple[StoredProposal, ApprovalRequest]]) -> str:
    """One line per proposal awaiting a human."""
    if not pending:
        return "nothing awaits approval\n"
    rows = [
        (
            stored.proposal_id,
            stored.assessment.action_type,
            stored.proposal.agent or "-",
            f"{request.expires_at:%Y-%m-%d %H:%M}",
            request.group or "-",
            stored.decision.reasons[0].message if stored.decision.reasons else "",
        )
        for stored, request in pending
    ]
    return _table(("id", "action type", "agent", "expires (UTC)", "group", "why"), rows)


def render_packet(packet: Packet) -> str:
    """The approval packet as a reviewer reads it."""
    what, radius = packet.what, packet.blast_radius
    confidence = "not given" if packet.confidence is None else f"{packet.confidence:g}"
    lines = [
        f"proposal {packet.proposal_id}  [{packet.status}]  {what.action_type} at level {packet.level}",
        f"agent:      {packet.agent or '-'} (team {packet.team or '-'}), confidence {confidence}",
        f"what:       {what.summary}",
    ]
    if what.sql is not None:
        lines += ["", *(f"    {line}" for line in (what.pretty_sql or what.sql).strip().splitlines()), ""]
    else:
        lines.append(f"params:     {json.dumps(what.params, sort_keys=True)}")
    lines += [
        f"why:        {packet.why or '(no diagnosis given)'}",
        f"changes:    {', '.join(radius.changes) or '-'}" + ("  (destructive)" if radius.destructive else ""),
        f"reads:      {', '.join(radius.reads) or '-'}",
    ]
    measured = radius.measured
    if measured is not None:
        if not measured.measured:
            # the facts that were read before it stopped still help the reviewer
            lines.append(f"measured:   {measured.note}")
        if measured.rows_affected is not None:
            lines.append(f"rows:       {measured.rows_affected:,} affected")
        lines += [f"table:      {t.name}: {_count(t.rows, 'rows')}, {_size(t.bytes)}" for t in measured.tables]
        if measured.dependents:
            lines.append(f"read by:    {', '.join(measured.dependents)}")
        if measured.downstream_assets:
            lines.append(f"downstream: {', '.join(measured.downstream_assets)}")
        if measured.partitions is not None or measured.scanned_bytes is not None:
            lines.append(f"backfill:   {_backfill(measured, radius.span_hours)}")
        if measured.measured:
            lines.append(f"            ({measured.note})")
    lines.append(f"rollback:   {packet.rollback or '(no rollback plan given)'}")
    lines += [f"            - {option}" for option in packet.rollback_options]
    lines.append(f"decision:   {packet.decision}")
    lines += [f"  - {reason.code}: {reason.message}" for reason in packet.reasons]
    approval = packet.approval
    if approval:
        votes = ", ".join(f"{v.voter} {v.verdict}" for v in approval.votes) or "none yet"
        lines.append(f"approval:   {approval.state.value}, group {approval.group}, needs {approval.required}, votes: {votes}, expires {approval.expires_at:%Y-%m-%d %H:%M} UTC")
    for row in packet.outcomes:
        lines.append(f"outcome:    {row['outcome']} at {row['recorded_at']}" + (f" ({row['note']})" if row["note"] else ""))
    lines.append(f"policy:     {packet.policy_version[:12]}  hash {packet.proposal_hash[:12]}")
    return "\n".join(lines) + "\n"


def _backfill(measured: Measurement, span_hours: float | None) -> str:
    if measured.partitions is not None:
        text = f"{measured.partitions:,} daily partitions over {span_hours or 0:g} h"
    else:
        text = "open-ended range"
    if measured.scanned_bytes is not None:
        text += f", scans about {_size(measured.scanned_bytes)}"
    cost = measured.estimated_cost_usd
    if cost is not None:
        text += f", about ${cost:,.2f}" if cost >= 0.01 else ", under $0.01"
    return text


def _count(value: int | None, unit: str) -> str:
    return f"{value:,} {unit}" if value is not None else f"? {unit}"


def _size(value: int | None) -> str:
    if value is None:
        return "size unknown"
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024  # type: ignore[assignment]
    return f"{value} B"


def render_request(request: ApprovalRequest) -> str:
    """Where an approval request stands after a vote."""
    approvals = [vote.voter for vote in request.votes if vote.verdict == "approve"]
    text = f"{request.state.value}: {request.proposal_id} ({len(approvals)} of {request.required} approvals"
    return text + (f": {', '.join(approvals)})" if approvals else ")")


def render_ladder(rows: list[LadderStatus]) -> str:
    """One line per action type."""
    table = [
        (
            row.action_type,
            str(row.level),
            str(row.ceiling),
            f"{row.successes}/{row.failures}/{row.incidents}/{row.rolled_back}",
            str(row.outcomes_at_level),
            "due" + (" (sign off: trustladder ladder promote)" if row.sign_off else "") if row.promotion_due else (row.blockers[0] if row.blockers else "-"),
        )
        for row in rows
    ]
    return _table(("action type", "level", "ceiling", "ok/fail/inc/rb", "at level", "promotion"), table)


def render_reviews(found: list[SampledReview]) -> str:
    """One line per sampled execution."""
    if not found:
        return "no sampled executions await review\n"
    rows = [
        (
            r.proposal_id,
            r.action_type,
            str(r.level),
            f"{r.sampled_at:%Y-%m-%d %H:%M}",
            r.group or "-",
            f"{r.verdict.value} by {r.reviewed_by}" + (f": {r.note}" if r.note else "") if r.verdict else "pending: trustladder review ID good|bad --by WHO",
        )
        for r in found
    ]
    return _table(("id", "action type", "level", "ran (UTC)", "group", "review"), rows)


def render_review(result: ReviewResult) -> str:
    """A recorded verdict, and what it did to the ladder."""
    review = result.review
    text = f"reviewed {review.proposal_id} ({review.action_type} at level {review.level}): {review.verdict.value if review.verdict else '-'}"
    if result.outcome is not None:
        text += f"\ncounted as an incident for {result.outcome.action_type}"
        change = result.outcome.level_change
        if change is not None:
            text += f"\n{change.action_type}: level {change.from_level} -> {change.to_level} ({change.reason}: {change.message})"
    return text + "\n"


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> str:
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(len(headers) - 1)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths)) + "  " + headers[-1]]
    lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(headers[-1]))
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) + "  " + row[-1] for row in rows]
    return "\n".join(lines) + "\n"
