"""The JSON API under ``/api``: agents submit proposals and read decisions; approvers decide.

Every endpoint needs ``Authorization: Bearer TOKEN`` with a token from the serve config. The
shapes are the contract's ``propose --json``, ``queue --json`` and ``ladder --json``; the packet is
``show --json``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import Field

from classifiers import check_dialect
from integrations.web.context import now_of, supervisor_of
from integrations.web.inbox import vote
from integrations.web.security import WebError, bearer_identity
from supervisor.handlers import decision_json
from supervisor.models import Model, Proposal
from supervisor.render import queue_json

router = APIRouter(prefix="/api", tags=["api"])

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No bearer token, or an unknown one."},
    422: {"description": "The input is invalid; `detail` says which field and why."},
}


class Detail(Model):
    """An error: one line that says what to fix."""

    detail: str = Field(description="What went wrong and what to do.")


class ApproveBody(Model):
    """An approval."""

    reason: str | None = Field(default=None, description="Why, in the approver's words.")


class RejectBody(Model):
    """A rejection."""

    reason: str = Field(min_length=1, description="Why; required so the agent can learn from it.")


_bearer = HTTPBearer(auto_error=False, description="A token listed (as its sha256) in the serve config.")


def _identity(request: Request, _: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]) -> str:
    return bearer_identity(request.app.state.config, request)


Identity = Annotated[str, Depends(_identity)]


@router.post(
    "/proposals",
    status_code=201,
    summary="Submit a proposal; returns the decision",
    responses={**_ERRORS, 400: {"model": Detail, "description": "The body is not JSON."}, 403: {"model": Detail, "description": "`agent` names someone other than the token's identity."}},
)
def submit(proposal: Proposal, request: Request, identity: Identity) -> dict[str, Any]:
    """Record a proposal and its decision (the contract's ``propose --json`` shape).

    The proposing agent is the token's identity: ``agent`` may be left out, and may not name
    someone else, so nobody can propose under another name and then approve it.

    Args:
        proposal: the proposal.
        request: the request.
        identity: who the bearer token authenticates as.

    Returns:
        ``proposal_id`` plus the decision.
    """
    if proposal.agent is not None and proposal.agent != identity:
        raise WebError(403, f"you are authenticated as {identity} and cannot propose as {proposal.agent}; leave agent out or set it to {identity}")
    if proposal.sql is not None:
        if not proposal.sql.strip():
            raise WebError(422, "sql: the SQL is empty; send the statement to check")
        check_dialect(proposal.dialect or "")
    recorded = supervisor_of(request).propose(proposal.model_copy(update={"agent": identity}), now=now_of(request))
    return decision_json(recorded.decision, recorded.proposal_id)


@router.get("/proposals/{proposal_id}", summary="The approval packet of a proposal", responses={**_ERRORS, 404: {"model": Detail}})
def packet(proposal_id: str, request: Request, identity: Identity) -> dict[str, Any]:
    """The approval packet (the ``show --json`` shape).

    Args:
        proposal_id: the proposal.
        request: the request.
        identity: who the bearer token authenticates as.

    Returns:
        The packet.
    """
    supervisor = supervisor_of(request)
    if supervisor.lookup(proposal_id) is None:
        raise WebError(404, f"no proposal {proposal_id!r}; GET /api/queue lists pending ones")
    return supervisor.packet(proposal_id, measure=request.app.state.measure).model_dump(mode="json")


@router.get("/queue", summary="Proposals awaiting a human", responses=_ERRORS)
def queue(request: Request, identity: Identity) -> dict[str, Any]:
    """The contract's ``queue --json`` shape, oldest first.

    Args:
        request: the request.
        identity: who the bearer token authenticates as.

    Returns:
        ``{"proposals": [...]}``.
    """
    return queue_json(supervisor_of(request).queue())


_VOTE_ERRORS: dict[int | str, dict[str, Any]] = {
    **_ERRORS,
    403: {"model": Detail, "description": "Not an approver of the routed group, the proposer itself, or a second vote."},
    404: {"model": Detail, "description": "No such proposal."},
    409: {"model": Detail, "description": "Nothing pending: already final, timed out, or never needed a human."},
}


@router.post("/proposals/{proposal_id}/approve", summary="Approve as the token's identity", responses=_VOTE_ERRORS)
def approve(proposal_id: str, request: Request, identity: Identity, body: ApproveBody | None = None) -> dict[str, Any]:
    """One approver's yes, through ``Supervisor.approve``.

    Args:
        proposal_id: the proposal.
        request: the request.
        identity: who the bearer token authenticates as.
        body: an optional reason.

    Returns:
        The approval request after the vote.
    """
    reason = body.reason if body else None
    return vote(supervisor_of(request), proposal_id, by=identity, approve=True, reason=reason, now=now_of(request)).model_dump(mode="json")


@router.post("/proposals/{proposal_id}/reject", summary="Reject as the token's identity", responses=_VOTE_ERRORS)
def reject(proposal_id: str, body: RejectBody, request: Request, identity: Identity) -> dict[str, Any]:
    """One approver's no, through ``Supervisor.reject``; the reason is required.

    Args:
        proposal_id: the proposal.
        body: the reason.
        request: the request.
        identity: who the bearer token authenticates as.

    Returns:
        The approval request after the vote.
    """
    return vote(supervisor_of(request), proposal_id, by=identity, approve=False, reason=body.reason, now=now_of(request)).model_dump(mode="json")


@router.get("/ladder", summary="Each action type's level, ceiling, outcomes and promotion", responses=_ERRORS)
def ladder(request: Request, identity: Identity) -> dict[str, Any]:
    """The contract's ``ladder --json`` shape.

    Args:
        request: the request.
        identity: who the bearer token authenticates as.

    Returns:
        ``{"action_types": [...]}``.
    """
    rows = supervisor_of(request).ladder_status(now=now_of(request))
    return {"action_types": [row.model_dump(mode="json") for row in rows]}
