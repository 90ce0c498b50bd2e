"""The web server's wiring to the other adapters: Slack's button presses and the warehouse's measurements."""

from __future__ import annotations

import json
import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import pytest

from integrations.notify.settings import SlackSettings
from integrations.notify.slack import signature_for
from tests.integrations.web_support import web_server

pytestmark = pytest.mark.slow

SECRET = "0123456789abcdef0123456789abcdef"
SETTINGS = SlackSettings(signing_secret=SECRET, identities={"U_ALICE": "alice", "U_FIXER": "fixer"})


def press(url: str, pid: str, *, user: str, secret: str = SECRET, action: str = "trustladder_approve") -> httpx.Response:
    body = urlencode({"payload": json.dumps({"type": "block_actions", "user": {"id": user}, "actions": [{"action_id": action, "value": pid, "type": "button"}]})}).encode()
    stamp = str(int(time.time()))
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature_for(body=body, timestamp=stamp, signing_secret=secret)}
    return httpx.post(f"{url}/slack/interactive", content=body, headers=headers, timeout=30)


def test_a_signed_press_is_recorded_and_a_forged_one_is_not(tmp_path: Path) -> None:
    with web_server(tmp_path, slack=SETTINGS) as web:
        pid = web.propose("UPDATE shop.orders SET status = 'placed' WHERE id = 7")
        forged = press(web.url, pid, user="U_ALICE", secret="not-the-secret-0000000000000000")
        assert forged.status_code == 401
        assert web.supervisor.get(pid)[1].state.value == "pending"  # type: ignore[union-attr]
        own = press(web.url, pid, user="U_FIXER")
        assert own.status_code == 200 and "fixer proposed" in own.json()["text"]
        answer = press(web.url, pid, user="U_ALICE")
        assert answer.status_code == 200, answer.text
        request = web.supervisor.get(pid)[1]
        assert request is not None and request.state.value == "approved" and request.votes[0].voter == "alice"


def test_without_slack_settings_the_route_says_so(tmp_path: Path) -> None:
    with web_server(tmp_path) as web:
        pid = web.propose("UPDATE shop.orders SET status = 'placed' WHERE id = 7")
        answer = press(web.url, pid, user="U_ALICE")
        assert answer.status_code == 404 and "Slack is not configured" in answer.json()["detail"]


def test_with_a_warehouse_the_packet_carries_the_measured_blast_radius(tmp_path: Path) -> None:
    import duckdb

    from dagster_project.warehouse import seed
    from integrations.warehouse import duckdb_measurer

    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        seed(conn)
        stuck = conn.execute("SELECT count(*) FROM orders WHERE status = 'stuck'").fetchall()[0][0]
    with web_server(tmp_path, measure=duckdb_measurer(database=warehouse)) as web:
        pid = web.propose("DELETE FROM orders WHERE status = 'stuck'", target="orders")
        with web.api("alice") as client:
            packet = client.get(f"/api/proposals/{pid}").json()
        measured = packet["blast_radius"]["measured"]
        assert measured["measured"] and measured["rows_affected"] == stuck > 0
        assert any("snapshot" in option.lower() for option in packet["rollback_options"])
        assert f"{stuck:,}" in web.login("alice").get(f"/proposals/{pid}").text
