"""A real trustladder web server on 127.0.0.1 for tests: a ladder, a ledger file, users and tokens."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import uvicorn
import yaml

from integrations.web import (
    ServeConfig,
    create_app,
    hash_password,
    load_serve_config,
    token_digest,
)
from supervisor.service import Supervisor
from supervisor.trust_ladder import load_ladder
from tests.supervisor.conftest import LADDER, merged

ROOT_LADDER = LADDER

# alice and bob approve (data-platform, also the ladder group); carol is the escalation group;
# mallory is a user who approves nothing; fixer is the agent, also given a login to try its luck.
PEOPLE = ("alice", "bob", "carol", "mallory", "fixer")
APPROVERS = {"data-platform": ["alice", "bob"], "platform-leads": ["carol"]}


@dataclass
class Web:
    """A running server and what a test needs to drive it."""

    url: str
    supervisor: Supervisor
    config_path: Path
    tokens: dict[str, str] = field(default_factory=dict)
    clients: list[httpx.Client] = field(default_factory=list)

    def api(self, who: str | None) -> httpx.Client:
        """An API client sending ``who``'s bearer token (none for None)."""
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def propose(self, sql: str, *, agent: str = "fixer", now: datetime | None = None, **fields: Any) -> str:
        """Record a SQL proposal straight through the facade; returns its id."""
        from supervisor.models import Proposal

        proposal = Proposal(**{"sql": sql, "dialect": "duckdb", "agent": agent, "confidence": 0.9, "team": "commerce", **fields})
        return self.supervisor.propose(proposal, now=now or datetime.now(UTC)).proposal_id

    def login(self, who: str) -> httpx.Client:
        """A browser-like client logged in as ``who``, sending this server's Origin on every request."""
        client = httpx.Client(base_url=self.url, headers={"Origin": self.url}, timeout=30, follow_redirects=False)
        self.clients.append(client)
        response = client.post("/login", data={"name": who, "password": f"{who}-pw", "csrf": csrf_of(client.get("/login").text), "next": "/queue"})
        assert response.status_code == 303, response.text
        return client


def csrf_of(html: str) -> str:
    """The CSRF token in a page's forms."""
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def write_config(path: Path) -> tuple[Path, dict[str, str]]:
    """A serve config with a password (NAME-pw) and a token for each person; returns it and the tokens."""
    tokens = {who: f"{who}-token-0123456789" for who in PEOPLE}
    config = {
        "session_secret": "s" * 48,
        "users": [{"name": who, "password": hash_password(f"{who}-pw")} for who in PEOPLE],
        "tokens": [{"identity": who, "sha256": token_digest(token)} for who, token in tokens.items()],
    }
    path.write_text(yaml.safe_dump(config))
    return path, tokens


@contextmanager
def running(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn in a thread on a free 127.0.0.1 port; yields its base URL."""
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the web server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@contextmanager
def web_server(tmp_path: Path, *, slack: Any = None, measure: Any = None, **ladder_overrides: Any) -> Iterator[Web]:
    """The repository's ladder (with these approvers and overrides), a fresh ledger, and a server (with ``slack`` settings, if given)."""
    ladder_path = tmp_path / "trust_ladder.yaml"
    data = merged(yaml.safe_load(LADDER.read_text()), {"approvals": {"approvers": APPROVERS}, **ladder_overrides})
    ladder_path.write_text(yaml.safe_dump(data, sort_keys=False))
    supervisor = Supervisor(ladder=load_ladder(ladder_path), ledger=tmp_path / "ledger.duckdb")
    config_path, tokens = write_config(tmp_path / "serve.yaml")
    config: ServeConfig = load_serve_config(config_path)
    with running(create_app(supervisor=supervisor, config=config, slack=slack, measure=measure)) as url:
        web = Web(url=url, supervisor=supervisor, config_path=config_path, tokens=tokens)
        try:
            yield web
        finally:
            for client in web.clients:
                client.close()
