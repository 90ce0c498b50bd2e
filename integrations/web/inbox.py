"""What the pages and the API share: votes mapped to HTTP statuses, urgency, similarity, time left.

Every vote goes through ``Supervisor.approve`` / ``Supervisor.reject``, the same calls the CLI
makes, so the web cannot approve anything the command line could not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from fnmatch import fnmatchcase

from integrations.web.security import WebError
from supervisor.approvals import ApprovalRequest
from supervisor.errors import ApprovalError, UsageError
from supervisor.ledger import StoredProposal
from supervisor.service import Supervisor


@dataclass(frozen=True)
class QueueItem:
    """One pending proposal as the inbox lists it."""

    stored: StoredProposal
    request: ApprovalRequest
    seconds_left: float

    @property
    def destructive(self) -> bool:
        """Whether it loses data (and so expires as denied rather than escalating)."""
        return self.request.destructive

    @property
    def time_left(self) -> str:
        """Time left before it escalates or expires, in words."""
        return time_left(self.seconds_left)

    @property
    def approvals(self) -> int:
        """Approvals so far."""
        return sum(1 for vote in self.request.votes if vote.verdict == "approve")


def time_left(seconds: float) -> str:
    """Seconds in words: '2 h 5 min', '4 min', 'timed out'.

    Args:
        seconds: seconds left; zero or less means timed out.

    Returns:
        The words.
    """
    if seconds <= 0:
        return "timed out"
    minutes = int(seconds // 60)
    if minutes < 1:
        return "under a minute"
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h"
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def urgent_queue(supervisor: Supervisor, *, now: datetime) -> list[QueueItem]:
    """Pending proposals, most urgent first: destructive first, then least time left.

    Destructive requests expire as denied instead of escalating, so they lead.

    Args:
        supervisor: the facade.
        now: the current time.

    Returns:
        The queue.
    """
    items = [QueueItem(stored, request, (request.expires_at - now).total_seconds()) for stored, request in supervisor.queue()]
    return sorted(items, key=lambda item: (not item.destructive, item.seconds_left, item.stored.proposal_id))


def target_of(stored: StoredProposal) -> str:
    """What a proposal touches, for similarity: its named target, else the first object it changes.

    Args:
        stored: the proposal.

    Returns:
        The target, or '' when it names none.
    """
    return stored.proposal.target or next(iter(stored.assessment.objects), "")


def target_pattern(target: str) -> str:
    """A glob for targets like this one: each run of digits becomes ``*``.

    Args:
        target: e.g. ``shop.orders_2026_03``.

    Returns:
        e.g. ``shop.orders_*_*``; ``*`` for no target.
    """
    return re.sub(r"\d+", "*", target) or "*"


def similar(items: list[QueueItem], *, action_type: str, pattern: str) -> list[QueueItem]:
    """Pending proposals of one action type whose target matches a glob.

    Args:
        items: the queue.
        action_type: the action type they must share.
        pattern: the target glob.

    Returns:
        The matching items, in queue order.
    """
    return [i for i in items if i.stored.assessment.action_type == action_type and fnmatchcase(target_of(i.stored), pattern)]


def vote(supervisor: Supervisor, proposal_id: str, *, by: str, approve: bool, reason: str | None, now: datetime) -> ApprovalRequest:
    """Record one vote through the facade, with the refusal mapped to an HTTP status.

    Args:
        supervisor: the facade.
        proposal_id: the proposal.
        by: the authenticated identity.
        approve: approve or reject.
        reason: why; required to reject.
        now: the current time.

    Returns:
        The request after the vote.

    Raises:
        WebError: 400 reject without a reason, 404 unknown id, 409 nothing pending (already
            final, timed out, or never needed a human), 403 anything else the core refuses
            (not an approver of the routed group, the proposer itself, a second vote).
    """
    if not approve and not (reason or "").strip():
        raise WebError(400, "a rejection needs a reason; say why so the agent can learn from it")
    stored, request, _ = _found(supervisor, proposal_id)
    if request is None:
        raise WebError(409, f"proposal {proposal_id} was decided '{stored.decision.decision.value}' and has nothing to approve")
    _check_open(request, now)
    try:
        if approve:
            return supervisor.approve(proposal_id, by=by, reason=reason or None, now=now)
        return supervisor.reject(proposal_id, by=by, reason=reason or "", now=now)
    except ApprovalError as error:
        _, fresh, _ = _found(supervisor, proposal_id)
        if fresh is not None:
            _check_open(fresh, now)
        raise WebError(403, str(error)) from None


def _found(supervisor: Supervisor, proposal_id: str) -> tuple[StoredProposal, ApprovalRequest | None, list[dict[str, object]]]:
    try:
        return supervisor.get(proposal_id)
    except UsageError:
        raise WebError(404, f"no proposal {proposal_id!r}; see the queue for pending ones") from None


def _check_open(request: ApprovalRequest, now: datetime) -> None:
    if request.state.is_final:
        by = f" by {request.resolved_by}" if request.resolved_by else ""
        raise WebError(409, f"proposal {request.proposal_id} is already {request.state.value}{by}; propose it again to get a new decision")
    if now >= request.expires_at:
        raise WebError(409, f"the approval request for {request.proposal_id} timed out at {request.expires_at:%Y-%m-%d %H:%M} UTC; it waits for the next tick to escalate or expire")
