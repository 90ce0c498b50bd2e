"""Block Kit messages rendered from the approval packet: the approval request and the notify message.

Every user-supplied string goes through ``_escape`` (Slack's mrkdwn treats ``&``, ``<`` and ``>``
as markup, and ``<`` is common in SQL) and ``_clip`` (Slack rejects a text over 3,000 characters
or a message over 50 blocks instead of shortening it).
"""

from __future__ import annotations

import json
from typing import Any

from supervisor.packet import Packet

APPROVE = "trustladder_approve"
REJECT = "trustladder_reject"
DETAILS = "trustladder_details"

MAX_TEXT = 3000  # characters in one text object
MAX_BLOCKS = 50  # blocks in one message
MAX_HEADER = 150  # characters in a header block
MAX_FIELD = 2000  # characters in one section field
SQL_LINES = 40  # SQL lines shown before "see Details"


def details_url(base_url: str | None, proposal_id: str) -> str | None:
    """The web inbox's page for a proposal.

    Args:
        base_url: the web inbox's base URL, or None when there is none.
        proposal_id: the proposal.

    Returns:
        ``{base_url}/proposals/{proposal_id}``, or None without a base URL.
    """
    return f"{base_url.rstrip('/')}/proposals/{proposal_id}" if base_url else None


def approval_blocks(packet: Packet, *, details_url: str | None) -> list[dict[str, Any]]:
    """The approval request as Block Kit: the packet's essentials and Approve / Reject / Details buttons.

    While the request is pending the message carries the buttons (their value is the proposal
    id); once it is decided the same message shows who decided instead, so replacing the original
    message with it takes the buttons away.

    Args:
        packet: the approval packet (``Supervisor.packet``).
        details_url: the web inbox's page for it, or None to leave out the Details button.

    Returns:
        At most 50 blocks.
    """
    what = packet.what
    pending = packet.approval is not None and not packet.approval.state.is_final
    title = f"Approval needed: {what.action_type}" if pending else f"{what.action_type}: {packet.status.replace('_', ' ')}"
    blocks = [
        _header(title),
        _section(f"*{_escape(what.summary)}*"),
        _fields(_essentials(packet)),
        _section(f"*Why (the agent):* {_escape(packet.why or 'no diagnosis given')}"),
        *_action_blocks(packet),
        _section("*Why a human:*\n" + _reasons(packet)),
        _section("*Blast radius:*\n" + _blast_radius(packet)),
        _section("*Rollback:*\n" + _rollback(packet)),
        _context(f"proposal `{packet.proposal_id}` · policy `{packet.policy_version[:12]}` · hash `{packet.proposal_hash[:12]}`"),
    ]
    if pending:
        if packet.approval is not None and packet.approval.votes:
            votes = ", ".join(f"{_escape(v.voter)} ({v.verdict})" for v in packet.approval.votes)
            blocks.append(_context(f"Votes so far: {votes}; needs {packet.approval.required} approvals"))
        blocks.append(_buttons(packet.proposal_id, details_url, decide=True))
    else:
        blocks.append(_section(_verdict(packet)))
        if details_url:
            blocks.append(_buttons(packet.proposal_id, details_url, decide=False))
    return _fit(blocks)


def notify_blocks(packet: Packet, *, run_id: str | None, status: str, executed: bool, details_url: str | None) -> list[dict[str, Any]]:
    """A level-2 (act and notify) action that ran: what it did and how the run ended.

    Args:
        packet: the approval packet of the proposal that ran.
        run_id: the orchestrator run that executed it.
        status: how the run ended, as the orchestrator reports it (e.g. SUCCESS, FAILURE).
        executed: whether the run got past the gate and executed it.
        details_url: the web inbox's page for it, or None to leave out the Details button.

    Returns:
        At most 50 blocks.
    """
    what = packet.what
    ran = f"run `{_escape(run_id)}` {_escape(status)}" if run_id else _escape(status)
    outcome = packet.outcomes[-1]["outcome"] if packet.outcomes else ("not recorded" if executed else "did not execute")
    blocks = [
        _header(f"Ran and notified: {what.action_type}"),
        _section(f"*{_escape(what.summary)}*\n{ran}; outcome *{_escape(str(outcome))}*. It ran without approval at level {packet.level} (act and notify)."),
        _fields(_essentials(packet)),
        _section(f"*Why (the agent):* {_escape(packet.why or 'no diagnosis given')}"),
        *_action_blocks(packet),
        _section("*Blast radius:*\n" + _blast_radius(packet)),
        _section("*Rollback:*\n" + _rollback(packet)),
        _context(f"proposal `{packet.proposal_id}` · policy `{packet.policy_version[:12]}` · hash `{packet.proposal_hash[:12]}`"),
    ]
    if details_url:
        blocks.append(_buttons(packet.proposal_id, details_url, decide=False))
    return _fit(blocks)


def fallback_text(packet: Packet, *, kind: str) -> str:
    """The plain text Slack shows in notifications and to screen readers.

    Args:
        packet: the approval packet.
        kind: ``approval`` or ``notify``.

    Returns:
        One line.
    """
    who = f"{packet.agent or 'an agent'}"
    lead = "Approval needed" if kind == "approval" else "Ran and notified"
    return _clip(f"{lead}: {packet.what.action_type} by {who} ({packet.proposal_id}): {packet.what.summary}", MAX_TEXT)


# -- pieces ------------------------------------------------------------------------------------


def _essentials(packet: Packet) -> list[str]:
    confidence = "not given" if packet.confidence is None else f"{packet.confidence:.0%}"
    fields = [
        f"*Action type:*\n`{_escape(packet.what.action_type)}` at level {packet.level}",
        f"*Agent:*\n{_escape(packet.agent or '-')} (team {_escape(packet.team or '-')})",
        f"*Confidence:*\n{confidence}",
        f"*Decision:*\n{_escape(packet.decision.replace('_', ' '))}",
    ]
    approval = packet.approval
    if approval is not None:
        fields.append(f"*Approvers:*\ngroup {_escape(approval.group or '-')}, needs {approval.required}")
    if packet.expires_at is not None:
        fields.append(f"*Expires:*\n{_when(packet.expires_at)}")
    return fields


def _action_blocks(packet: Packet) -> list[dict[str, Any]]:
    what = packet.what
    if what.sql is not None:
        text = (what.pretty_sql or what.sql).strip()
        lines = text.splitlines()
        more = f"\n_{len(lines) - SQL_LINES} more lines; see Details_" if len(lines) > SQL_LINES else ""
        head = f"*SQL* ({_escape(what.dialect or 'unknown dialect')}; {_escape(', '.join(what.categories) or 'no categories')}):\n"
        # Room for the fences and the note, so the code block is never cut open.
        room = MAX_TEXT - len(head) - len(more) - 8
        body = _clip(_escape("\n".join(lines[:SQL_LINES]).replace("```", "`\u200b``")), room)
        return [_section(f"{head}```{body}```{more}")]
    params = "\n".join(f"• `{_escape(str(key))}`: {_escape(json.dumps(value, default=str))}" for key, value in sorted(what.params.items()))
    return [_section(f"*Action:* `{_escape(what.action or '-')}`\n{params or '_no parameters_'}")]


def _reasons(packet: Packet) -> str:
    if not packet.reasons:
        return "_no reasons recorded_"
    return "\n".join(f"• {_escape(reason.plain)} _({_escape(reason.message)})_" for reason in packet.reasons)


def _blast_radius(packet: Packet) -> str:
    radius = packet.blast_radius
    lines = [f"• changes: {_escape(', '.join(radius.changes) or '-')}" + (" — *destructive*" if radius.destructive else "")]
    if radius.target:
        lines.append(f"• target: {_escape(radius.target)}")
    if radius.span_hours is not None:
        lines.append(f"• backfill span: {radius.span_hours:g} h")
    measured = radius.measured
    if measured is not None and not measured.measured:
        lines.append(f"• could not measure: {_escape(measured.note)}")
    elif measured is not None:
        if measured.rows_affected is not None:
            lines.append(f"• rows affected (measured): *{measured.rows_affected:,}*")
        lines += [f"• {_escape(t.name)}: {f'{t.rows:,}' if t.rows is not None else '?'} rows" for t in measured.tables]
        if measured.dependents:
            lines.append(f"• read by: {_escape(', '.join(measured.dependents))}")
        if measured.downstream_assets:
            lines.append(f"• downstream assets: {_escape(', '.join(measured.downstream_assets))}")
        if measured.estimated_cost_usd is not None:
            lines.append(f"• estimated scan cost: ${measured.estimated_cost_usd:,.2f}")
    else:
        lines.append("• not measured on the warehouse")
    return "\n".join(lines)


def _rollback(packet: Packet) -> str:
    lines = [_escape(packet.rollback or "no rollback plan given")]
    lines += [f"• {_escape(option)}" for option in packet.rollback_options]
    return "\n".join(lines)


def _verdict(packet: Packet) -> str:
    approval = packet.approval
    if approval is None:
        return f"*{_escape(packet.status)}*"
    who = f" by {_escape(approval.resolved_by)}" if approval.resolved_by else ""
    note = f": {_escape(approval.note)}" if approval.note else ""
    when = f" at {_when(approval.resolved_at)}" if approval.resolved_at else ""
    return f"*{approval.state.value.capitalize()}*{who}{when}{note}"


def _buttons(proposal_id: str, url: str | None, *, decide: bool) -> dict[str, Any]:
    elements: list[dict[str, Any]] = []
    if decide:
        elements += [
            {"type": "button", "action_id": APPROVE, "text": _plain("Approve"), "style": "primary", "value": proposal_id},
            {"type": "button", "action_id": REJECT, "text": _plain("Reject"), "style": "danger", "value": proposal_id},
        ]
    if url:
        elements.append({"type": "button", "action_id": DETAILS, "text": _plain("Details"), "url": url[:MAX_TEXT], "value": proposal_id})
    return {"type": "actions", "block_id": f"trustladder:{proposal_id}", "elements": elements}


def _fit(blocks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Keep the last block (the buttons or the verdict) when there are more than Slack takes."""
    return blocks if len(blocks) <= MAX_BLOCKS else [*blocks[: MAX_BLOCKS - 1], blocks[-1]]


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": _plain(_clip(text, MAX_HEADER))}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _clip(text, MAX_TEXT)}}


def _fields(items: list[str]) -> dict[str, Any]:
    return {"type": "section", "fields": [{"type": "mrkdwn", "text": _clip(item, MAX_FIELD)} for item in items[:10]]}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": _clip(text, MAX_TEXT)}]}


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp != -1 and ";" not in cut[amp:]:  # never leave half an escaped entity
        cut = cut[:amp]
    return cut + "…"


def _when(moment: Any) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"
