"""The inbox pages: log in, the queue, the approval packet with Approve / Reject, batch approval.

Every POST checks the session's CSRF token and the request's origin, and every vote goes through
``Supervisor.approve`` / ``reject`` one proposal at a time, so each is checked against its own
hash and route. A refused form comes back with what was typed still in it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from integrations.web.context import now_of, render, supervisor_of
from integrations.web.inbox import (
    QueueItem,
    similar,
    target_of,
    target_pattern,
    time_left,
    urgent_queue,
    vote,
)
from integrations.web.security import (
    Session,
    WebError,
    check_form,
    new_session,
    read_session,
    require_user,
    store_session,
    with_flash,
)

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]


def _safe_next(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") and "\\" not in target else "/queue"


@router.get("/")
def home() -> Response:
    """The queue is the home page."""
    return RedirectResponse("/queue", status_code=303)


@router.get("/login")
def login_form(request: Request, next: str = "/queue") -> Response:
    """The login form; starts an anonymous session so the form has a CSRF token."""
    config = request.app.state.config
    session = read_session(config, request)
    fresh = session is None
    session = session or new_session(config, None)
    response = render(request, "login.html", {"next": _safe_next(next), "name": "", "error": None}, session=session)
    if fresh:
        store_session(config, response, session)
    return response


@router.post("/login")
def login(request: Request, name: Text = "", password: Text = "", csrf: Text = "", next: Text = "/queue") -> Response:
    """Check the password; on success a new session (and CSRF token) for the user."""
    config = request.app.state.config
    session = read_session(config, request)
    check_form(request, session, csrf)
    if not config.check_password(name, password):
        context = {"next": _safe_next(next), "name": name, "error": "wrong name or password; names are the ones in the serve config"}
        return render(request, "login.html", context, session=session, status=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    store_session(config, response, with_flash(new_session(config, name), f"logged in as {name}"))
    return response


@router.post("/logout")
def logout(request: Request, csrf: Text = "") -> Response:
    """End the session."""
    config = request.app.state.config
    check_form(request, read_session(config, request), csrf)
    response = RedirectResponse("/login", status_code=303)
    store_session(config, response, None)
    return response


@router.get("/queue")
def queue_page(request: Request) -> HTMLResponse:
    """Pending proposals, most urgent first, with time left."""
    session = require_user(request.app.state.config, request)
    items = urgent_queue(supervisor_of(request), now=now_of(request))
    counts = {i.stored.proposal_id: len(_similar_to(items, i)) for i in items}
    return render(request, "queue.html", {"items": items, "similar": counts}, session=session)


def _similar_to(items: list[QueueItem], anchor: QueueItem, pattern: str | None = None) -> list[QueueItem]:
    glob = pattern or target_pattern(target_of(anchor.stored))
    return similar(items, action_type=anchor.stored.assessment.action_type, pattern=glob)


def _packet_page(request: Request, session: Session, proposal_id: str, *, error: str | None = None, status: int = 200, approve_reason: str = "", reject_reason: str = "") -> HTMLResponse:
    supervisor = supervisor_of(request)
    if supervisor.lookup(proposal_id) is None:
        raise WebError(404, f"no proposal {proposal_id!r}; the queue lists pending ones")
    packet = supervisor.packet(proposal_id, measure=request.app.state.measure)
    now = now_of(request)
    request_ = packet.approval
    members = supervisor.ladder.approvers_of(request_.group) if request_ else []
    hint = None
    if request_ is not None and not request_.state.is_final:
        if session.user == packet.agent:
            hint = f"You proposed this, so you cannot decide it; ask someone in group {request_.group}."
        elif session.user not in members:
            hint = f"You are not an approver of group {request_.group} ({', '.join(members) or 'nobody'}); trustladder will refuse your vote."
    context = {
        "packet": packet,
        "time_left": time_left((request_.expires_at - now).total_seconds()) if request_ and not request_.state.is_final else None,
        "pending": request_ is not None and not request_.state.is_final,
        "hint": hint,
        "error": error,
        "approve_reason": approve_reason,
        "reject_reason": reject_reason,
        "similar_pattern": target_pattern(packet.blast_radius.target or next(iter(packet.blast_radius.changes), "")),
    }
    return render(request, "packet.html", context, session=session, status=status)


@router.get("/proposals/{proposal_id}")
def packet_page(proposal_id: str, request: Request) -> HTMLResponse:
    """The approval packet with Approve / Reject."""
    session = require_user(request.app.state.config, request)
    return _packet_page(request, session, proposal_id)


def _decide(request: Request, proposal_id: str, *, approve: bool, reason: str, csrf: str) -> Response:
    config = request.app.state.config
    session = require_user(config, request)
    check_form(request, session, csrf)
    try:
        result = vote(supervisor_of(request), proposal_id, by=session.user or "", approve=approve, reason=reason, now=now_of(request))
    except WebError as error:
        if error.status == 404:
            raise
        kept = {"approve_reason": reason} if approve else {"reject_reason": reason}
        return _packet_page(request, session, proposal_id, error=error.message, status=error.status, **kept)
    if result.state.is_final:
        message = f"{proposal_id} {result.state.value}"
    else:
        have = sum(1 for v in result.votes if v.verdict == "approve")
        message = f"your approval of {proposal_id} is recorded; it needs {result.required - have} more"
    response = RedirectResponse("/queue", status_code=303)
    store_session(config, response, with_flash(session, message))
    return response


@router.post("/proposals/{proposal_id}/approve")
def approve(proposal_id: str, request: Request, reason: Text = "", csrf: Text = "") -> Response:
    """Approve as the logged-in user."""
    return _decide(request, proposal_id, approve=True, reason=reason, csrf=csrf)


@router.post("/proposals/{proposal_id}/reject")
def reject(proposal_id: str, request: Request, reason: Text = "", csrf: Text = "") -> Response:
    """Reject as the logged-in user; the reason is required."""
    return _decide(request, proposal_id, approve=False, reason=reason, csrf=csrf)


def _anchor(request: Request, proposal_id: str) -> tuple[list[QueueItem], QueueItem]:
    items = urgent_queue(supervisor_of(request), now=now_of(request))
    anchor = next((i for i in items if i.stored.proposal_id == proposal_id), None)
    if anchor is None:
        if supervisor_of(request).lookup(proposal_id) is None:
            raise WebError(404, f"no proposal {proposal_id!r}; the queue lists pending ones")
        raise WebError(409, f"proposal {proposal_id} is not pending any more, so there is nothing similar to batch with it")
    return items, anchor


@router.get("/proposals/{proposal_id}/similar")
def similar_page(proposal_id: str, request: Request, pattern: str = "") -> HTMLResponse:
    """Pending proposals of the same action type whose target matches a pattern, to approve together."""
    session = require_user(request.app.state.config, request)
    items, anchor = _anchor(request, proposal_id)
    glob = pattern.strip() or target_pattern(target_of(anchor.stored))
    context = {"anchor": anchor, "pattern": glob, "items": _similar_to(items, anchor, glob), "results": None, "reason": ""}
    return render(request, "similar.html", context, session=session)


@router.post("/proposals/{proposal_id}/similar")
def approve_similar(
    proposal_id: str,
    request: Request,
    ids: Annotated[list[str], Form()] = [],  # noqa: B006 - FastAPI reads the default, never mutates it
    pattern: Text = "",
    reason: Text = "",
    csrf: Text = "",
) -> HTMLResponse:
    """Approve each ticked proposal individually through the facade; report each result."""
    session = require_user(request.app.state.config, request)
    check_form(request, session, csrf)
    items, anchor = _anchor(request, proposal_id)
    glob = pattern.strip() or target_pattern(target_of(anchor.stored))
    eligible = {i.stored.proposal_id for i in _similar_to(items, anchor, glob)}
    results: list[tuple[str, bool, str]] = []
    for pid in dict.fromkeys(ids):
        if pid not in eligible:
            results.append((pid, False, f"not a pending {anchor.stored.assessment.action_type} proposal matching {glob}; open it on its own"))
            continue
        try:
            done = vote(supervisor_of(request), pid, by=session.user or "", approve=True, reason=reason or None, now=now_of(request))
            results.append((pid, True, done.state.value))
        except WebError as error:
            results.append((pid, False, error.message))
    if not results:
        results.append(("-", False, "nothing was ticked; tick the proposals to approve"))
    remaining = _similar_to(urgent_queue(supervisor_of(request), now=now_of(request)), anchor, glob)
    context = {"anchor": anchor, "pattern": glob, "items": remaining, "results": results, "reason": reason}
    status = 200 if any(ok for _, ok, _ in results) else 400 if results[0][0] == "-" else 403
    return render(request, "similar.html", context, session=session, status=status)
