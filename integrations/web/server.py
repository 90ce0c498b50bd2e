"""Run the web inbox with uvicorn."""

from __future__ import annotations

import os

import uvicorn

from integrations.notify.settings import (
    ENV_CONFIG,
    ENV_SIGNING_SECRET,
    load_slack_settings,
)
from integrations.web.app import create_app
from integrations.web.config import ServeConfig
from supervisor.service import Measurer, Supervisor

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def serve(
    *, supervisor: Supervisor, config: ServeConfig, host: str = "127.0.0.1", port: int = 8787, log_level: str = "info", measure: Measurer | None = None
) -> None:
    """Serve the web inbox and the JSON API until interrupted.

    Args:
        supervisor: the facade behind every page and endpoint.
        config: identities and the session secret.
        host: the interface to bind; 127.0.0.1 unless the operator says otherwise.
        port: the TCP port.
        log_level: uvicorn's log level.
        measure: measures a packet's blast radius on a warehouse (``integrations.warehouse.duckdb_measurer``).

    With Slack settings in the environment (``TRUSTLADDER_SLACK_CONFIG`` or
    ``TRUSTLADDER_SLACK_SIGNING_SECRET``), ``/slack/interactive`` takes Slack's button presses.
    """
    slack = load_slack_settings() if os.environ.get(ENV_CONFIG) or os.environ.get(ENV_SIGNING_SECRET) else None
    app = create_app(supervisor=supervisor, config=config, slack=slack, measure=measure)
    uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False, proxy_headers=False)
