"""Approvals: pending -> approved / rejected / expired, as pure functions of a request and a vote.

A request is bound to the proposal's hash and the policy version it was decided under. The
proposing agent never approves its own proposal, approvers come from the ladder's groups, a
type may need two distinct approvers, and a request that times out moves to the next group
(``approvals.escalate_to``) or, when it is destructive or has nowhere to go, expires as denied.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import Enum

from pydantic import Field

from supervisor.errors import ApprovalError
from supervisor.models import Model
from supervisor.trust_ladder import Ladder


class ApprovalState(str, Enum):
    """Where an approval request stands."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        """Everything but ``pending``."""
        return self is not ApprovalState.PENDING


class Vote(Model):
    """One human's verdict on a request."""

    voter: str = Field(description="Who voted.")
    verdict: str = Field(description="approve or reject.")
    reason: str | None = Field(default=None, description="Why, in their words.")
    at: datetime = Field(description="When.")


class ApprovalRequest(Model):
    """A proposal waiting for (or past) human approval."""

    schema_version: int = Field(default=1, description="Version of this record's shape.")
    proposal_id: str = Field(description="The proposal it approves.")
    state: ApprovalState = Field(description="pending, approved, rejected or expired.")
    group: str | None = Field(description="The approver group it is routed to now.")
    required: int = Field(ge=1, description="Distinct approvers needed.")
    destructive: bool = Field(description="Destructive requests expire as denied instead of escalating.")
    proposal_hash: str = Field(description="The exact action approved.")
    policy_version: str = Field(description="The ladder it was decided under.")
    created_at: datetime = Field(description="When it was requested.")
    expires_at: datetime = Field(description="When it escalates or expires.")
    escalations: int = Field(default=0, description="How many times it moved to the next group.")
    resolved_at: datetime | None = Field(default=None, description="When it became final.")
    resolved_by: str | None = Field(default=None, description="Who (or what) made it final.")
    note: str | None = Field(default=None, description="Why it ended as it did.")
    votes: tuple[Vote, ...] = Field(default=(), description="Verdicts so far.")


def open_request(
    *, proposal_id: str, action_type: str, destructive: bool, proposal_hash: str, ladder: Ladder, now: datetime
) -> ApprovalRequest:
    """A new pending request, routed by the ladder.

    Args:
        proposal_id: the proposal.
        action_type: its action type, which picks the route and how many approvers it needs.
        destructive: whether it expires as denied on timeout.
        proposal_hash: the exact action being approved.
        ladder: the trust ladder.
        now: when it is requested.

    Returns:
        The pending request.
    """
    return ApprovalRequest(
        proposal_id=proposal_id,
        state=ApprovalState.PENDING,
        group=ladder.route(action_type),
        required=ladder.policy_for(action_type).approvals_required,
        destructive=destructive,
        proposal_hash=proposal_hash,
        policy_version=ladder.policy_version,
        created_at=now,
        expires_at=now + timedelta(minutes=ladder.approvals.timeout_minutes),
    )


def cast_vote(
    request: ApprovalRequest, *, voter: str, approve: bool, reason: str | None, agent: str | None, ladder: Ladder, now: datetime
) -> ApprovalRequest:
    """Record one human's verdict.

    Args:
        request: the request as stored.
        voter: who decides.
        approve: approve (True) or reject (False).
        reason: why; required to reject.
        agent: the proposing agent, who may not vote on its own proposal.
        ladder: the trust ladder, for the approver groups.
        now: when.

    Returns:
        The request with the vote added; approved once enough distinct people approved,
        rejected on the first rejection.

    Raises:
        ApprovalError: the request is final or past its time, the voter is the proposing agent,
            is not in the routed group, or already voted.
    """
    pid = request.proposal_id
    if request.state.is_final:
        raise ApprovalError(f"proposal {pid} is already {request.state.value}; propose it again to get a new decision")
    if now >= request.expires_at:
        raise ApprovalError(f"the approval request for {pid} timed out at {request.expires_at:%Y-%m-%d %H:%M} UTC; run 'trustladder tick' to escalate it")
    if agent is not None and voter.casefold() == agent.casefold():
        raise ApprovalError(f"{voter} proposed {pid} and cannot approve or reject it; ask someone in group {request.group}")
    members = ladder.approvers_of(request.group)
    if voter not in members:
        who = ", ".join(members) if members else "nobody (add people under approvals.approvers in the ladder)"
        raise ApprovalError(f"{voter} is not an approver for {pid}: it is routed to group {request.group}, whose members are {who}")
    if any(vote.voter == voter for vote in request.votes):
        raise ApprovalError(f"{voter} already voted on {pid}; it needs {request.required} distinct approvers")
    if not approve and not (reason and reason.strip()):
        raise ApprovalError(f"rejecting {pid} needs a reason; pass --reason TEXT")
    votes = (*request.votes, Vote(voter=voter, verdict="approve" if approve else "reject", reason=reason, at=now))
    if not approve:
        return request.model_copy(update={"votes": votes, "state": ApprovalState.REJECTED, "resolved_at": now, "resolved_by": voter, "note": reason})
    approvals = sum(1 for vote in votes if vote.verdict == "approve")
    if approvals >= request.required:
        return request.model_copy(update={"votes": votes, "state": ApprovalState.APPROVED, "resolved_at": now, "resolved_by": voter, "note": reason})
    return request.model_copy(update={"votes": votes})


def on_timeout(request: ApprovalRequest, *, ladder: Ladder, now: datetime) -> ApprovalRequest | None:
    """What a timed-out request becomes: escalated to the next group, or expired as denied.

    Args:
        request: a request.
        ladder: the trust ladder, for ``escalate_to`` and the timeout.
        now: the moment of the tick.

    Returns:
        The changed request, or None when it is final or not yet due.
    """
    if request.state.is_final or now < request.expires_at:
        return None
    target = None if request.destructive or request.group is None else ladder.approvals.escalate_to.get(request.group)
    if target is None:
        why = "destructive requests expire as denied" if request.destructive else f"group {request.group} has nowhere to escalate to"
        return request.model_copy(
            update={"state": ApprovalState.EXPIRED, "resolved_at": now, "resolved_by": "tick", "note": f"no decision in time; {why}"}
        )
    return request.model_copy(
        update={
            "group": target,
            "escalations": request.escalations + 1,
            "expires_at": now + timedelta(minutes=ladder.approvals.timeout_minutes),
            "note": f"escalated from {request.group} to {target} after no decision in time",
        }
    )
