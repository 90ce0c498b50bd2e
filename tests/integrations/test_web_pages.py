"""The inbox's forms over HTTP: login, CSRF and origin checks, refusals that keep the input; the serve command."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from supervisor.cli import main
from tests.integrations.web_support import (
    ROOT_LADDER,
    Web,
    csrf_of,
    free_port,
    write_config,
)

pytestmark = pytest.mark.slow

DELETE = "DELETE FROM shop.orders WHERE id = 42"


def test_pages_need_a_login_and_a_wrong_password_is_refused(web: Web) -> None:
    with httpx.Client(base_url=web.url, headers={"Origin": web.url}) as client:
        assert client.get("/queue").headers["location"] == "/login?next=/queue"
        form = client.get("/login").text
        wrong = client.post("/login", data={"name": "alice", "password": "nope", "csrf": csrf_of(form)})
        assert wrong.status_code == 401 and "wrong name or password" in wrong.text and 'value="alice"' in wrong.text
        unknown = client.post("/login", data={"name": "eve", "password": "eve-pw", "csrf": csrf_of(form)})
        assert unknown.status_code == 401
        escape = client.post("/login", data={"name": "alice", "password": "alice-pw", "csrf": csrf_of(form), "next": "//evil.example/x"})
        assert escape.headers["location"] == "/queue"
        cookie = escape.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"Origin": "http://evil.example"}, "came from evil.example, not from this server"),
        ({"Origin": "null"}, "without an Origin or Referer"),
        ({}, "without an Origin or Referer"),
        ({"Referer": "http://evil.example/page"}, "came from evil.example"),
    ],
)
def test_a_form_from_another_origin_is_refused(web: Web, headers: dict[str, str], message: str) -> None:
    pid = web.propose(DELETE)
    client = web.login("alice")
    csrf = csrf_of(client.get(f"/proposals/{pid}").text)
    client.headers.pop("Origin")
    response = client.post(f"/proposals/{pid}/approve", data={"csrf": csrf}, headers=headers)
    assert response.status_code == 403 and message in response.text
    referer_ok = client.post(f"/proposals/{pid}/approve", data={"csrf": csrf}, headers={"Referer": f"{web.url}/proposals/{pid}"})
    assert referer_ok.status_code == 303
    assert web.supervisor.get(pid)[1].state.value == "approved"


def test_a_stale_or_foreign_csrf_token_is_refused(web: Web) -> None:
    pid = web.propose(DELETE)
    alice, bob = web.login("alice"), web.login("bob")
    bobs = csrf_of(bob.get(f"/proposals/{pid}").text)
    for token in ("", bobs, "made-up"):
        response = alice.post(f"/proposals/{pid}/approve", data={"csrf": token})
        assert response.status_code == 403 and "CSRF token is missing or stale" in response.text
    assert web.supervisor.get(pid)[1].votes == ()


def test_refusals_are_pages_with_one_line_never_a_traceback(web: Web) -> None:
    pid = web.propose(DELETE)
    alice = web.login("alice")
    assert alice.get("/proposals/nope").status_code == 404
    assert "no proposal &#39;nope&#39;" in alice.get("/proposals/nope").text
    assert alice.get("/nothing-here").status_code == 404
    csrf = csrf_of(alice.get(f"/proposals/{pid}").text)
    assert alice.post(f"/proposals/{pid}/approve", data={"csrf": csrf}).status_code == 303
    again = alice.post(f"/proposals/{pid}/reject", data={"csrf": csrf, "reason": "second thoughts"})
    assert again.status_code == 409 and "already approved by alice" in again.text and "second thoughts" in again.text
    grant = alice.post("/standing/grant", data={"csrf": csrf, "action_types": "sql.nonsense", "until": "2099-01-01", "reason": "r"})
    assert grant.status_code == 400 and "matches no type in the ladder" in grant.text and 'value="sql.nonsense"' in grant.text
    mallory = web.login("mallory")
    refused = mallory.post("/standing/grant", data={"csrf": csrf_of(mallory.get("/standing").text), "action_types": "sql.write", "until": "2099-01-01", "reason": "r"})
    assert refused.status_code == 403 and "mallory cannot grant standing approvals" in refused.text
    for response in (again, grant, refused):
        assert "Traceback" not in response.text


def test_the_audit_trail_is_paginated(web: Web) -> None:
    for _ in range(30):
        web.propose(DELETE)
    alice = web.login("alice")
    first, second = alice.get("/audit"), alice.get("/audit?page=2")
    assert "Page 1 of 2 (60 entries" in first.text and "older" in first.text
    assert "Page 2 of 2" in second.text and "<td>1</td>" in second.text
    assert alice.get("/audit?page=99").status_code == 200


def test_serve_without_the_web_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import importlib

    real = importlib.import_module

    def missing(name: str, package: str | None = None) -> object:
        if name == "integrations.web":
            raise ModuleNotFoundError("No module named 'fastapi'", name="fastapi")
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", missing)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "pip install 'trustladder[web]'" in err


def test_serve_warns_when_it_binds_beyond_this_machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import integrations.web

    seen: dict[str, object] = {}
    monkeypatch.setattr(integrations.web, "serve", lambda **kwargs: seen.update(kwargs))
    config, _ = write_config(tmp_path / "serve.yaml")
    argv = ["--ladder", str(ROOT_LADDER), "--ledger", str(tmp_path / "l.duckdb"), "serve", "--config", str(config)]
    assert main([*argv, "--host", "0.0.0.0"]) == 0
    assert (seen["host"], seen["port"]) == ("0.0.0.0", 8787)
    assert "warning: binding 0.0.0.0:8787, reachable beyond this machine" in capsys.readouterr().err
    assert main(argv) == 0 and seen["host"] == "127.0.0.1"
    assert "warning" not in capsys.readouterr().err
    monkeypatch.delenv("TRUSTLADDER_SERVE_CONFIG", raising=False)
    assert main(argv[:-2]) == 2
    assert "pass --config serve.yaml or set TRUSTLADDER_SERVE_CONFIG" in capsys.readouterr().err
    (tmp_path / "bad.yaml").write_text("session_secret: short\n")
    assert main([*argv[:-1], str(tmp_path / "bad.yaml")]) == 2
    assert "session_secret: String should have at least 32 characters" in capsys.readouterr().err


def test_trustladder_serve_listens_on_127_0_0_1(tmp_path: Path) -> None:
    config, tokens = write_config(tmp_path / "serve.yaml")
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT_LADDER.parent), "TRUSTLADDER_SERVE_CONFIG": str(config)}
    command = [sys.executable, "-m", "supervisor.cli", "--ladder", str(ROOT_LADDER), "--ledger", str(tmp_path / "l.duckdb"), "serve", "--port", str(port)]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as process:
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    response = httpx.get(f"http://127.0.0.1:{port}/api/queue", headers={"Authorization": f"Bearer {tokens['alice']}"})
                    break
                except httpx.ConnectError:
                    assert process.poll() is None and time.monotonic() < deadline, "trustladder serve did not start"
                    time.sleep(0.2)
            assert (response.status_code, response.json()) == (200, {"proposals": []})
        finally:
            process.terminate()
            _, err = process.communicate(timeout=20)
    assert f"serving the web inbox on http://127.0.0.1:{port}/" in err
