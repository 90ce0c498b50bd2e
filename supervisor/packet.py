"""The approval packet: everything a reviewer needs to decide in a minute, as one model.

``trustladder show``, the web inbox and the Slack message all render this model. It is assembled
from what the ledger holds (the proposal, its assessment, decision, approval request and outcomes)
plus, when a warehouse adapter measured it, the blast radius on the real tables and what the
warehouse offers for rollback. Assembly is pure; measuring is the adapter's job.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from supervisor.approvals import ApprovalRequest
from supervisor.ledger import StoredProposal
from supervisor.models import Model

# Each reason code in words a reviewer who has never read the ladder file understands.
PLAIN: dict[str, str] = {
    "read": "It only reads data; reads are never gated.",
    "destructive": "It deletes or overwrites data, and that cannot be undone from the statement alone.",
    "unknown": "trustladder cannot tell what it does, so a human has to look.",
    "non_negotiable": "This kind of action always needs a human, however well it has gone before.",
    "low_confidence": "The agent is not sure enough of its own diagnosis.",
    "cross_team": "It touches tables another team owns.",
    "compliance": "It touches compliance-tagged data.",
    "cost": "Its estimated cost is above the ceiling, or could not be read.",
    "freeze": "A change freeze is in force.",
    "level": "Where this kind of action stands on the trust ladder decides who acts first.",
    "deny_rule": "A deny rule forbids it outright; no approval can let it run.",
    "observe_mode": "The ladder is in observe mode: decisions are recorded, nothing runs.",
    "standing_approval": "A standing approval from a platform approver covers it.",
    "costly_backfill": "It rewrites a long stretch of history, or an open-ended one.",
    "long_backfill": "It rewrites more than the allowed backfill window.",
    "large_scale": "It changes capacity by a large factor.",
    "schema_change": "It changes a table's structure; readers may break.",
    "access_change": "It changes who can read or write data.",
    "overwrite": "It replaces a table's contents.",
}


class TableFacts(Model):
    """One table the action changes, as the warehouse reports it."""

    name: str = Field(description="The table.")
    rows: int | None = Field(default=None, description="Rows in it now.")
    bytes: int | None = Field(default=None, description="Its size in bytes, as the warehouse estimates it.")


class Measurement(Model):
    """The blast radius measured on the warehouse without changing it."""

    measured: bool = Field(description="False when it could not be measured; ``note`` says why.")
    note: str = Field(description="How it was measured, or why it could not be.")
    elapsed_ms: float | None = Field(default=None, description="How long measuring took.")
    rows_affected: int | None = Field(default=None, description="Rows the statements would change (a COUNT(*) over the same predicates).")
    tables: tuple[TableFacts, ...] = Field(default=(), description="The tables it changes, with their size.")
    dependents: tuple[str, ...] = Field(default=(), description="Views and queries in the warehouse that read what it changes.")
    downstream_assets: tuple[str, ...] = Field(default=(), description="Orchestrator assets downstream of what it changes.")
    partitions: int | None = Field(default=None, description="Partitions a backfill rewrites.")
    scanned_bytes: int | None = Field(default=None, description="Bytes a backfill scans.")
    estimated_cost_usd: float | None = Field(default=None, description="Estimated cost of the scan at the configured price per TB.")


class BlastRadius(Model):
    """What the action touches: from the classifier, and measured when a warehouse was at hand."""

    changes: tuple[str, ...] = Field(description="Objects it writes.")
    reads: tuple[str, ...] = Field(description="Objects it reads.")
    target: str | None = Field(description="The target the agent named.")
    destructive: bool = Field(description="Whether it loses data.")
    span_hours: float | None = Field(description="The time span a backfill covers.")
    estimated_cost_usd: Any = Field(default=None, description="The agent's cost estimate, as given.")
    measured: Measurement | None = Field(default=None, description="Measured on the warehouse; None when no warehouse was given.")


class What(Model):
    """The action itself."""

    summary: str = Field(description="One line.")
    action_type: str = Field(description="Its action type.")
    sql: str | None = Field(default=None, description="The SQL as proposed.")
    pretty_sql: str | None = Field(default=None, description="The SQL pretty-printed in its dialect.")
    dialect: str | None = Field(default=None, description="Its dialect.")
    categories: tuple[str, ...] = Field(default=(), description="What the classifier found.")
    action: str | None = Field(default=None, description="The pipeline action.")
    params: dict[str, Any] = Field(default_factory=dict, description="The pipeline action's parameters.")


class PacketReason(Model):
    """A reason for the decision, with its meaning in plain words."""

    code: str = Field(description="The stable reason code.")
    message: str = Field(description="The specific finding.")
    plain: str = Field(description="What the code means, for a reviewer.")


class Packet(Model):
    """The approval packet."""

    schema_version: int = Field(default=1, description="Version of this record's shape.")
    proposal_id: str = Field(description="The proposal.")
    status: str = Field(description="The approval state, or the decision when no human was needed.")
    created_at: datetime = Field(description="When it was proposed.")
    agent: str | None = Field(description="The proposing agent.")
    team: str | None = Field(description="The team it acts for.")
    what: What = Field(description="The action.")
    why: str | None = Field(description="The agent's diagnosis.")
    confidence: float | None = Field(description="The agent's confidence, 0..1.")
    blast_radius: BlastRadius = Field(description="What it touches.")
    rollback: str | None = Field(description="The agent's rollback plan.")
    rollback_options: tuple[str, ...] = Field(default=(), description="What the warehouse offers to undo it.")
    decision: str = Field(description="The decision.")
    level: int = Field(description="The level it was decided at.")
    reasons: tuple[PacketReason, ...] = Field(description="Why, most important first.")
    approval: ApprovalRequest | None = Field(description="The approval request, when it needs a human.")
    expires_at: datetime | None = Field(default=None, description="When the request escalates or expires.")
    outcomes: tuple[dict[str, Any], ...] = Field(default=(), description="Outcomes recorded so far.")
    policy_version: str = Field(description="The ladder it was decided under.")
    proposal_hash: str = Field(description="The exact action approved.")


def build_packet(
    stored: StoredProposal,
    request: ApprovalRequest | None,
    outcomes: list[dict[str, Any]],
    *,
    pretty_sql: str | None = None,
    measurement: Measurement | None = None,
    rollback_options: tuple[str, ...] = (),
) -> Packet:
    """Assemble the packet of a stored proposal.

    Args:
        stored: the proposal as the ledger holds it.
        request: its approval request, if any.
        outcomes: its recorded outcomes.
        pretty_sql: its SQL pretty-printed in its dialect (``classifiers.pretty_sql``).
        measurement: the blast radius measured on the warehouse, if a warehouse was at hand.
        rollback_options: what the warehouse offers to undo it.
    """
    proposal, assessment, decision = stored.proposal, stored.assessment, stored.decision
    what = What(
        summary=assessment.summary,
        action_type=assessment.action_type,
        sql=proposal.sql,
        pretty_sql=pretty_sql if proposal.sql is not None else None,
        dialect=proposal.dialect if proposal.sql is not None else None,
        categories=tuple(c.value for c in assessment.categories),
        action=proposal.action,
        params=dict(proposal.params),
    )
    return Packet(
        proposal_id=stored.proposal_id,
        status=request.state.value if request else decision.decision.value,
        created_at=stored.created_at,
        agent=proposal.agent,
        team=proposal.team,
        what=what,
        why=proposal.reason,
        confidence=proposal.confidence,
        blast_radius=BlastRadius(
            changes=assessment.objects,
            reads=assessment.reads,
            target=proposal.target,
            destructive=assessment.destructive,
            span_hours=assessment.span_hours,
            estimated_cost_usd=proposal.context.get("estimated_cost_usd"),
            measured=measurement,
        ),
        rollback=proposal.rollback,
        rollback_options=rollback_options,
        decision=decision.decision.value,
        level=decision.level,
        reasons=tuple(PacketReason(code=r.code, message=r.message, plain=PLAIN.get(r.code, "See the message.")) for r in decision.reasons),
        approval=request,
        expires_at=request.expires_at if request and not request.state.is_final else None,
        outcomes=tuple({**row, "recorded_at": str(row["recorded_at"])} for row in outcomes),
        policy_version=decision.policy_version,
        proposal_hash=decision.proposal_hash,
    )
