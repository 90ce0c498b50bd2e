"""``POST /slack/interactive``: Slack's button presses, verified by signature, recorded through the facade.

The route is not behind the login or the CSRF check: Slack cannot hold a session. Instead every
request must carry Slack's ``v0`` signature over its exact body (``integrations.notify.slack``),
and the Slack user is mapped to a trustladder identity before anything is recorded.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from integrations.notify.settings import SlackSettings
from integrations.notify.slack import handle_interaction, post

router = APIRouter()


@router.post("/slack/interactive", include_in_schema=False)
async def slack_interactive(request: Request, tasks: BackgroundTasks) -> JSONResponse:
    """Take one Block Kit button press (Approve, Reject) from Slack."""
    settings: SlackSettings | None = request.app.state.slack
    if settings is None or settings.signing_secret is None:
        return JSONResponse({"detail": "Slack is not configured here: set signing_secret in the Slack settings (TRUSTLADDER_SLACK_CONFIG)"}, status_code=404)
    body = await request.body()

    def reply(url: str, payload: dict[str, object]) -> None:
        tasks.add_task(post, url, dict(payload))

    status, answer = await run_in_threadpool(
        handle_interaction,
        body,
        dict(request.headers),
        supervisor=request.app.state.supervisor,
        signing_secret=settings.signing_secret.get_secret_value(),
        identities=settings.identities,
        now=request.app.state.clock(),
        details_base_url=settings.details_base_url,
        reply=reply,
    )
    return JSONResponse(answer, status_code=status)
