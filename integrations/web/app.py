"""The FastAPI application: the web inbox's pages and the JSON API over one ``Supervisor``.

The web layer is an edge: it reads the clock (``now``) and passes it in, converts requests into
the facade's calls and their results back into pages or JSON, and never shows a traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException as StarletteHTTPException

from integrations.notify.settings import SlackSettings
from integrations.web import api, pages_inbox, pages_ladder, slack_route
from integrations.web.config import ServeConfig
from integrations.web.context import HERE, error_page
from integrations.web.security import LoginRequired, WebError
from supervisor.errors import SupervisorError
from supervisor.service import Measurer, Supervisor

log = logging.getLogger("trustladder.web")


def utc_now() -> datetime:
    """The web layer's clock."""
    return datetime.now(UTC)


def create_app(
    *,
    supervisor: Supervisor,
    config: ServeConfig,
    clock: Callable[[], datetime] = utc_now,
    slack: SlackSettings | None = None,
    measure: Measurer | None = None,
) -> FastAPI:
    """The web inbox and JSON API.

    Args:
        supervisor: the facade every page and endpoint calls.
        config: identities and the session secret.
        clock: the current time (UTC); tests may pass a fixed one.
        slack: Slack settings; with a signing secret, ``/slack/interactive`` takes button presses.
        measure: measures each packet's blast radius on a warehouse; None shows the classifier's view only.

    Returns:
        The ASGI application.
    """
    app = FastAPI(
        title="trustladder",
        summary="Submit proposals to the trust-ladder gate, read decisions and approval packets, approve or reject.",
        version="1",
        docs_url="/api/docs",
        redoc_url=None,
        openapi_url="/openapi.json",
    )
    app.state.supervisor = supervisor
    app.state.config = config
    app.state.clock = clock
    app.state.slack = slack
    app.state.measure = measure
    app.state.templates = Jinja2Templates(directory=str(HERE / "templates"))
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(api.router)
    app.include_router(pages_inbox.router)
    app.include_router(pages_ladder.router)
    app.include_router(slack_route.router)
    _errors(app)
    return app


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def _errors(app: FastAPI) -> None:
    @app.exception_handler(WebError)
    async def web_error(request: Request, error: WebError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if error.status == 401 else None
        if _is_api(request):
            return JSONResponse({"detail": error.message}, status_code=error.status, headers=headers)
        return error_page(request, error.status, error.message)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, error: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    @app.exception_handler(SupervisorError)
    async def supervisor_error(request: Request, error: SupervisorError) -> Response:
        if _is_api(request):
            return JSONResponse({"detail": str(error)}, status_code=422)
        return error_page(request, 400, str(error))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        status, message = validation_message(error.errors())
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=status)
        return error_page(request, 400, message)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        message = str(error.detail) if error.status_code != 404 else f"nothing at {request.url.path}"
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=error.status_code)
        return error_page(request, error.status_code, message)

    @app.exception_handler(Exception)
    async def internal(request: Request, error: Exception) -> Response:
        log.exception("internal error on %s %s", request.method, request.url.path)
        message = f"internal error ({type(error).__name__}); the server log has the details"
        if _is_api(request):
            return JSONResponse({"detail": message}, status_code=500)
        return error_page(request, 500, message)


def validation_message(errors: Any) -> tuple[int, str]:
    """One line for the first validation error: 400 when the body is not JSON, else 422.

    Args:
        errors: pydantic/FastAPI error dicts.

    Returns:
        The status code and the message.
    """
    first = next(iter(errors), {"loc": (), "msg": "invalid input", "type": ""})
    loc = [str(part) for part in first.get("loc", ()) if part != "body"]
    where = ".".join(loc) or "body"
    if first.get("type") == "json_invalid":
        return 400, f"the body is not valid JSON ({first.get('ctx', {}).get('error', 'parse error')}); send a JSON object"
    message = str(first.get("msg", "invalid")).removeprefix("Value error, ")
    return 422, f"{where}: {message}"
