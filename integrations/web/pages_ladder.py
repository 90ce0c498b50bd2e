"""The platform pages: the trust ladder with its level chart, the audit trail, standing approvals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from integrations.web.chart import as_utc, level_chart
from integrations.web.context import now_of, render, supervisor_of
from integrations.web.security import (
    Session,
    check_form,
    require_user,
    store_session,
    with_flash,
)
from supervisor.errors import ApprovalError, SupervisorError
from supervisor.trust_ladder import level_name

router = APIRouter(include_in_schema=False)
Text = Annotated[str, Form()]
AUDIT_PAGE = 50


@router.get("/ladder")
def ladder_page(request: Request) -> HTMLResponse:
    """Each action type's level, ceiling, evidence, promotion and blockers, with a chart over time."""
    session = require_user(request.app.state.config, request)
    supervisor = supervisor_of(request)
    now = now_of(request)
    rows = supervisor.ladder_status(now=now)
    history = supervisor.level_history()
    start = min([as_utc(h["changed_at"]) for h in history] + [now - timedelta(days=7)]) - timedelta(hours=1)
    charts = {
        row.action_type: level_chart(
            [h for h in history if h["action_type"] == row.action_type],
            initial=row.initial,
            ceiling=row.ceiling,
            start=start,
            end=now,
            label=f"{row.action_type}: level over time, now {row.level}",
        )
        for row in rows
    }
    names = {n: level_name(n) for n in range(1, 5)}
    return render(request, "ladder.html", {"rows": rows, "charts": charts, "names": names, "since": start, "changes": history[::-1][:20]}, session=session)


@router.get("/audit")
def audit_page(request: Request, page: int = 1) -> HTMLResponse:
    """The audit trail, newest first, paginated, with the chain's verification."""
    session = require_user(request.app.state.config, request)
    supervisor = supervisor_of(request)
    report = supervisor.verify_audit()
    entries = list(supervisor.audit_entries())[::-1]
    pages = max(1, -(-len(entries) // AUDIT_PAGE))
    page = min(max(page, 1), pages)
    shown = entries[(page - 1) * AUDIT_PAGE : page * AUDIT_PAGE]
    return render(request, "audit.html", {"report": report, "entries": shown, "page": page, "pages": pages, "total": len(entries)}, session=session)


def _standing_page(request: Request, session: Session, *, error: str | None = None, status: int = 200, form: dict[str, str] | None = None) -> HTMLResponse:
    supervisor = supervisor_of(request)
    group = supervisor.ladder.ladder_group()
    members = supervisor.ladder.approvers_of(group)
    context: dict[str, Any] = {
        "approvals": supervisor.standing_approvals(),
        "now": now_of(request),
        "may_grant": session.user in members,
        "group": group,
        "members": members,
        "error": error,
        "form": form or {"action_types": "", "objects": "*", "agents": "*", "until": "", "reason": ""},
        "types": sorted(supervisor.ladder.action_types),
    }
    return render(request, "standing.html", context, session=session, status=status)


@router.get("/standing")
def standing_page(request: Request) -> HTMLResponse:
    """Standing approvals, the grant form for platform approvers, and revoke buttons."""
    return _standing_page(request, require_user(request.app.state.config, request))


def _globs(text: str) -> tuple[str, ...]:
    return tuple(part for part in text.replace(",", " ").split() if part)


def _until(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise SupervisorError(f"until {text!r} is not a date or time; use e.g. 2026-12-31 or 2026-12-31T18:00") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


@router.post("/standing/grant")
def grant(request: Request, action_types: Text = "", objects: Text = "*", agents: Text = "*", until: Text = "", reason: Text = "", csrf: Text = "") -> Response:
    """Grant a standing approval as the logged-in platform approver."""
    config = request.app.state.config
    session = require_user(config, request)
    check_form(request, session, csrf)
    form = {"action_types": action_types, "objects": objects, "agents": agents, "until": until, "reason": reason}
    try:
        if not _globs(action_types):
            raise SupervisorError("name at least one action type (a glob such as pipeline.rotate_credential)")
        approval = supervisor_of(request).grant_standing(
            action_types=_globs(action_types),
            objects=_globs(objects) or ("*",),
            agents=_globs(agents) or ("*",),
            by=session.user or "",
            until=_until(until),
            reason=reason,
            now=now_of(request),
        )
    except ApprovalError as error:
        return _standing_page(request, session, error=str(error), status=403, form=form)
    except SupervisorError as error:
        return _standing_page(request, session, error=str(error), status=400, form=form)
    response = RedirectResponse("/standing", status_code=303)
    store_session(config, response, with_flash(session, f"granted {approval.standing_id}: {approval.scope()}"))
    return response


@router.post("/standing/{standing_id}/revoke")
def revoke(standing_id: str, request: Request, reason: Text = "", csrf: Text = "") -> Response:
    """Revoke a standing approval as the logged-in platform approver; the reason is required."""
    config = request.app.state.config
    session = require_user(config, request)
    check_form(request, session, csrf)
    try:
        if not reason.strip():
            raise SupervisorError(f"revoking {standing_id} needs a reason; say why")
        supervisor_of(request).revoke_standing(standing_id, by=session.user or "", reason=reason, now=now_of(request))
    except ApprovalError as error:
        return _standing_page(request, session, error=str(error), status=403)
    except SupervisorError as error:
        return _standing_page(request, session, error=str(error), status=400)
    response = RedirectResponse("/standing", status_code=303)
    store_session(config, response, with_flash(session, f"revoked {standing_id}"))
    return response
