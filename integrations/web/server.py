"""Run the web inbox with uvicorn."""

from __future__ import annotations

import uvicorn

from integrations.web.app import create_app
from integrations.web.config import ServeConfig
from supervisor.service import Supervisor

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def serve(*, supervisor: Supervisor, config: ServeConfig, host: str = "127.0.0.1", port: int = 8787, log_level: str = "info") -> None:
    """Serve the web inbox and the JSON API until interrupted.

    Args:
        supervisor: the facade behind every page and endpoint.
        config: identities and the session secret.
        host: the interface to bind; 127.0.0.1 unless the operator says otherwise.
        port: the TCP port.
        log_level: uvicorn's log level.
    """
    app = create_app(supervisor=supervisor, config=config)
    uvicorn.run(app, host=host, port=port, log_level=log_level, server_header=False, proxy_headers=False)
