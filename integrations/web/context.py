"""What every page and endpoint reaches for: the facade, the clock, templates and error pages."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse

from integrations.web.security import Session, read_session, store_session, with_flash
from supervisor.service import Supervisor

HERE = Path(__file__).resolve().parent


def render(request: Request, template: str, context: dict[str, Any], *, session: Session | None = None, status: int = 200) -> HTMLResponse:
    """A page from a template, with the session's user, CSRF token and one-shot message.

    Args:
        request: the request.
        template: the template file.
        context: its variables.
        session: the logged-in session, if any; its flash message is shown once and cleared.
        status: the status code.

    Returns:
        The response (it re-stores the session when a flash message was consumed).
    """
    flash = session.flash if session else None
    body = {"request": request, "session": session, "user": session.user if session else None, "csrf": session.csrf if session else "", "flash": flash, **context}
    response: HTMLResponse = request.app.state.templates.TemplateResponse(request, template, body, status_code=status)
    if session is not None and flash:
        store_session(request.app.state.config, response, with_flash(session, None))
    return response


def error_page(request: Request, status: int, message: str) -> HTMLResponse:
    """A plain error page with one line.

    Args:
        request: the request.
        status: the status code.
        message: what went wrong.

    Returns:
        The response.
    """
    session = read_session(request.app.state.config, request)
    return render(request, "error.html", {"status": status, "message": message}, session=session, status=status)


def supervisor_of(request: Request) -> Supervisor:
    """The facade behind the app.

    Args:
        request: any request.

    Returns:
        The supervisor.
    """
    found: Supervisor = request.app.state.supervisor
    return found


def now_of(request: Request) -> datetime:
    """The current time by the app's clock.

    Args:
        request: any request.

    Returns:
        An aware UTC datetime.
    """
    moment: datetime = request.app.state.clock()
    return moment
