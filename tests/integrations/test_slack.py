"""Slack: Block Kit requests to a local server standing in for the webhook, signed button callbacks over real HTTP."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import pytest

from integrations.notify import (
    NotifyConfigError,
    NotifyError,
    SlackSignatureError,
    approval_blocks,
    deliver,
    handle_interaction,
    load_slack_settings,
    post,
    signature_for,
    verify_signature,
)
from supervisor.cli import main
from supervisor.service import Supervisor
from tests.supervisor.conftest import T0, action, sql

pytestmark = pytest.mark.slow

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NOW = T0 + timedelta(minutes=1)
IDENTITIES = {"U_ALICE": "alice", "U_BOB": "bob", "U_FIXER": "fixer", "U_MALLORY": "mallory"}
PENDING_SQL = "DELETE FROM shop.orders WHERE amount < 0 AND status = 'void'"


# -- a local server standing in for Slack --------------------------------------------------------


class FakeSlack:
    """Records every JSON POST; answers each with the next queued status (200 "ok" once the queue is empty)."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.statuses: list[int] = []
        self.always: int | None = None
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                fake.received.append({"path": self.path, "json": json.loads(body)})
                status = fake.always or (fake.statuses.pop(0) if fake.statuses else 200)
                reply = b"ok" if status == 200 else b"internal_error: something broke"
                self.send_response(status)
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/XXXX"


def _serve(server: ThreadingHTTPServer) -> Iterator[None]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    fake = FakeSlack()
    yield from (fake for _ in _serve(fake.server))


@pytest.fixture
def interactive(make_supervisor: Callable[..., Supervisor]) -> Iterator[Callable[[bytes, dict[str, str]], tuple[int, dict[str, Any]]]]:
    """The interactive endpoint behind a stdlib HTTP server; returns a function that POSTs to it."""
    sup = make_supervisor()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status, answer = handle_interaction(
                body,
                self.headers,  # type: ignore[arg-type]
                supervisor=sup,
                signing_secret=SECRET,
                identities=IDENTITIES,
                now=NOW,
                details_base_url="http://127.0.0.1:8000",
                reply=post,
            )
            data = json.dumps(answer).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    def send(body: bytes, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
        url = f"http://127.0.0.1:{server.server_address[1]}/slack/interactive"
        request = Request(url, data=body, method="POST", headers={"Content-Type": "application/x-www-form-urlencoded", **headers})
        try:
            with urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read())
        except Exception as error:  # urllib raises HTTPError for 4xx/5xx; it is the response
            status = getattr(error, "code", None)
            if status is None:
                raise
            return int(status), json.loads(error.read())  # type: ignore[attr-defined]

    yield from (send for _ in _serve(server))


def _callback(pid: str, *, user: str = "U_ALICE", action_id: str = "trustladder_approve", response_url: str | None = None) -> bytes:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower()},
        "actions": [{"action_id": action_id, "value": pid, "type": "button"}],
    }
    if response_url:
        payload["response_url"] = response_url
    return urlencode({"payload": json.dumps(payload)}).encode()


def _signed(body: bytes, *, at: datetime = NOW, secret: str = SECRET) -> dict[str, str]:
    timestamp = str(int(at.timestamp()))
    return {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature_for(body=body, timestamp=timestamp, signing_secret=secret)}


def _votes(sup: Supervisor) -> list[tuple[str | None, str]]:
    return [(e.actor, e.event) for e in sup.audit_entries() if e.event.startswith("approval.") and e.event != "approval.requested"]


def _reopened(tmp_path: Path, ladder: Path) -> Supervisor:
    return Supervisor.from_paths(ladder=ladder, ledger=tmp_path / "ledger.duckdb")


# -- the interactive endpoint ------------------------------------------------------------------


def test_signed_approve_over_http_records_the_decision_and_replaces_the_message(make_supervisor, interactive, slack, tmp_path) -> None:
    pid = make_supervisor().propose(sql(PENDING_SQL), now=T0).proposal_id
    body = _callback(pid, response_url=slack.url.replace("/services/", "/actions/"))

    status, answer = interactive(body, _signed(body))

    assert status == 200
    assert answer["replace_original"] is True
    assert answer["text"].startswith(f"alice approved {pid} (sql.write); it is approved")
    sup = _reopened(tmp_path, tmp_path / "trust_ladder.yaml")
    _, request, _ = sup.get(pid)
    assert request is not None and request.state.value == "approved" and request.resolved_by == "alice"
    assert request.votes[-1].reason == "approved from Slack by alice (Slack user U_ALICE)"
    assert _votes(sup) == [("alice", "approval.vote"), ("alice", "approval.approved")]
    assert sup.verify_audit().ok
    # The response went to the callback's response_url: the same packet, decided, without the buttons.
    [reply] = slack.received
    assert reply["path"].startswith("/actions/")
    elements = [el for block in reply["json"]["blocks"] if block["type"] == "actions" for el in block["elements"]]
    assert [el["action_id"] for el in elements] == ["trustladder_details"]
    assert any("*Approved* by alice" in json.dumps(block) for block in reply["json"]["blocks"])


def test_signed_reject_records_a_reason_naming_slack(make_supervisor, interactive, tmp_path) -> None:
    pid = make_supervisor().propose(sql(PENDING_SQL), now=T0).proposal_id
    body = _callback(pid, user="U_BOB", action_id="trustladder_reject")

    status, answer = interactive(body, _signed(body))

    assert (status, answer["response_type"]) == (200, "in_channel")
    _, request, _ = _reopened(tmp_path, tmp_path / "trust_ladder.yaml").get(pid)
    assert request is not None and request.state.value == "rejected"
    assert request.note == "rejected from Slack by bob (Slack user U_BOB)"


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        pytest.param(lambda body: _signed(body, secret="not-the-secret"), "does not match the body", id="wrong secret"),
        pytest.param(lambda body: _signed(body, at=NOW - timedelta(seconds=301)), "stale request", id="stale timestamp"),
        pytest.param(lambda body: _signed(body, at=NOW + timedelta(minutes=10)), "stale request", id="future timestamp"),
        pytest.param(lambda body: {"X-Slack-Request-Timestamp": str(int(NOW.timestamp()))}, "missing X-Slack-Signature", id="missing signature"),
        pytest.param(lambda body: {"X-Slack-Signature": _signed(body)["X-Slack-Signature"]}, "missing X-Slack-Request-Timestamp", id="missing timestamp"),
        pytest.param(lambda body: {**_signed(body), "X-Slack-Request-Timestamp": "yesterday"}, "not an integer", id="non-integer timestamp"),
        pytest.param(lambda body: _signed(body.replace(b"U_ALICE", b"U_BOBBB")), "does not match the body", id="tampered body"),
        pytest.param(lambda body: {**_signed(body), "X-Slack-Signature": "v1=" + "0" * 64}, "only v0= signatures", id="another version"),
    ],
)
def test_unverified_callbacks_get_401_and_record_nothing(make_supervisor, interactive, headers, message) -> None:
    sup = make_supervisor()
    pid = sup.propose(sql(PENDING_SQL), now=T0).proposal_id
    body = _callback(pid)

    status, answer = interactive(body, headers(body))

    assert status == 401
    assert message in answer["text"]
    _, request, _ = sup.get(pid)
    assert request is not None and request.state.value == "pending" and request.votes == ()
    assert _votes(sup) == []


def test_an_unmapped_slack_user_is_refused(make_supervisor, interactive) -> None:
    sup = make_supervisor()
    pid = sup.propose(sql(PENDING_SQL), now=T0).proposal_id
    body = _callback(pid, user="U_STRANGER")

    status, answer = interactive(body, _signed(body))

    assert status == 403
    assert answer["text"] == "Not recorded: Slack user U_STRANGER (u_stranger) is not mapped to a trustladder identity; add it under identities in the Slack settings"
    assert _votes(sup) == []


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ("U_FIXER", "fixer proposed {pid} and cannot approve or reject it; ask someone in group data-platform"),
        ("U_MALLORY", "mallory is not an approver for {pid}: it is routed to group data-platform, whose members are alice, bob"),
    ],
    ids=["the proposer itself", "a non-approver"],
)
def test_the_core_refusal_comes_back_as_an_ephemeral_message(make_supervisor, interactive, user, message) -> None:
    sup = make_supervisor()
    pid = sup.propose(sql(PENDING_SQL), now=T0).proposal_id
    body = _callback(pid, user=user)

    status, answer = interactive(body, _signed(body))

    assert status == 200
    assert answer == {"response_type": "ephemeral", "replace_original": False, "text": "Not recorded: " + message.format(pid=pid)}
    assert _votes(sup) == []


def test_a_second_press_after_the_decision_is_refused_without_a_second_vote(make_supervisor) -> None:
    sup = make_supervisor()
    pid = sup.propose(sql(PENDING_SQL), now=T0).proposal_id
    body = _callback(pid)
    call: dict[str, Any] = {"supervisor": sup, "signing_secret": SECRET, "identities": IDENTITIES, "now": NOW}

    assert handle_interaction(body, _signed(body), **call)[0] == 200
    status, answer = handle_interaction(body, _signed(body), **call)

    assert status == 200
    assert answer["text"] == f"Not recorded: proposal {pid} is already approved; propose it again to get a new decision"
    assert _votes(sup) == [("alice", "approval.vote"), ("alice", "approval.approved")]


def test_with_two_approvers_needed_the_first_press_keeps_the_buttons(make_supervisor) -> None:
    sup = make_supervisor(action_types={"sql.write": {"initial": 1, "ceiling": 3, "approvals_required": 2}})
    pid = sup.propose(sql(PENDING_SQL), now=T0).proposal_id
    call: dict[str, Any] = {"supervisor": sup, "signing_secret": SECRET, "identities": IDENTITIES, "now": NOW}

    first = handle_interaction(_callback(pid), _signed(_callback(pid)), **call)
    bob = _callback(pid, user="U_BOB")
    second = handle_interaction(bob, _signed(bob), **call)

    assert first[1]["text"] == f"alice approved {pid} (sql.write); it is pending, 1 of 2 approvals"
    first_blocks = json.dumps(first[1]["blocks"])
    assert "Votes so far: alice (approve); needs 2 approvals" in first_blocks and "trustladder_approve" in first_blocks
    assert second[1]["text"] == f"bob approved {pid} (sql.write); it is approved"
    assert "trustladder_approve" not in json.dumps(second[1]["blocks"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"payload=%7Bnot+json", "the payload field is not JSON"),
        (b"text=hello", "the form has no payload field"),
        (urlencode({"payload": json.dumps({"type": "view_submission"})}).encode(), "expected a block_actions payload, got 'view_submission'"),
        (_callback("abc", action_id="something_else"), "unknown action_id 'something_else'"),
        (b"\xff\xfe", "not form-encoded UTF-8"),
    ],
    ids=["not JSON", "no payload", "a modal submission", "an unknown button", "not UTF-8"],
)
def test_signed_but_malformed_callbacks_get_400(make_supervisor, body, message) -> None:
    sup = make_supervisor()
    status, answer = handle_interaction(body, _signed(body), supervisor=sup, signing_secret=SECRET, identities=IDENTITIES, now=NOW)
    assert status == 400
    assert message in answer["text"]


def test_the_details_button_is_only_acknowledged(make_supervisor) -> None:
    sup = make_supervisor()
    pid = sup.propose(sql(PENDING_SQL), now=T0).proposal_id
    body = _callback(pid, action_id="trustladder_details", user="U_STRANGER")
    assert handle_interaction(body, _signed(body), supervisor=sup, signing_secret=SECRET, identities=IDENTITIES, now=NOW) == (200, {})
    assert _votes(sup) == []


def test_header_names_are_matched_case_insensitively(make_supervisor) -> None:
    sup = make_supervisor()
    pid = sup.propose(sql(PENDING_SQL), now=T0).proposal_id
    body = _callback(pid)
    headers = {name.lower(): value for name, value in _signed(body).items()}
    assert handle_interaction(body, headers, supervisor=sup, signing_secret=SECRET, identities=IDENTITIES, now=NOW)[0] == 200


def test_verify_signature_accepts_slacks_own_example() -> None:
    # The worked example in Slack's "Verifying requests from Slack" guide.
    body = (
        b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar"
        b"&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com"
        b"%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )
    signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    verify_signature(body=body, timestamp="1531420618", signature=signature, signing_secret=SECRET, now=1531420618 + 10)
    with pytest.raises(SlackSignatureError, match=r"stale request: .* is 301 s from now \(limit 300 s\)"):
        verify_signature(body=body, timestamp="1531420618", signature=signature, signing_secret=SECRET, now=1531420618 + 301)
    with pytest.raises(SlackSignatureError, match="no Slack signing secret is configured"):
        verify_signature(body=body, timestamp="1531420618", signature=signature, signing_secret="", now=1531420618)


# -- delivering the outbox ---------------------------------------------------------------------


def test_deliver_posts_each_approval_request_once_with_its_buttons(make_supervisor, slack) -> None:
    sup = make_supervisor()
    assert deliver(sup, webhook_url=slack.url, details_base_url="http://127.0.0.1:8000", now=T0).deliveries == ()  # the channel starts here
    pid = sup.propose(sql(PENDING_SQL, reason="voided orders with negative amounts break revenue"), now=T0).proposal_id
    sup.propose(sql("SELECT count(*) FROM shop.orders"), now=T0)  # allowed: nothing to post

    first = deliver(sup, webhook_url=slack.url, details_base_url="http://127.0.0.1:8000", now=NOW)
    second = deliver(sup, webhook_url=slack.url, details_base_url="http://127.0.0.1:8000", now=NOW)

    assert [(d.event, d.proposal_id, d.status) for d in first.deliveries] == [("approval.requested", pid, "sent")]
    assert second.deliveries == ()
    [message] = slack.received
    assert message["json"]["text"].startswith(f"Approval needed: sql.write by fixer ({pid})")
    blocks = message["json"]["blocks"]
    [buttons] = [block for block in blocks if block["type"] == "actions"]
    assert [(b["action_id"], b.get("value"), b.get("style"), b.get("url")) for b in buttons["elements"]] == [
        ("trustladder_approve", pid, "primary", None),
        ("trustladder_reject", pid, "danger", None),
        ("trustladder_details", pid, None, f"http://127.0.0.1:8000/proposals/{pid}"),
    ]
    text = json.dumps(blocks)
    assert "amount &lt; 0" in text  # escaped for mrkdwn, inside the code block
    assert "voided orders with negative amounts break revenue" in text
    assert "level 1" in text and "90%" in text


def test_a_failing_webhook_is_retried_up_to_three_attempts(make_supervisor, slack) -> None:
    sup = make_supervisor()
    deliver(sup, webhook_url=slack.url, details_base_url=None, now=T0)
    pid = sup.propose(sql(PENDING_SQL), now=T0).proposal_id
    slack.always = 500

    reports = [deliver(sup, webhook_url=slack.url, details_base_url=None, now=NOW + timedelta(minutes=i)) for i in range(4)]

    assert [[d.status for d in r.deliveries] for r in reports] == [["failed"], ["failed"], ["failed"], []]
    assert reports[0].deliveries[0].detail == f"Slack answered HTTP 500 from http://127.0.0.1:{slack.server.server_address[1]}: internal_error: something broke"
    assert [m["json"]["blocks"][-1]["elements"][0]["value"] for m in slack.received] == [pid, pid, pid]


def test_a_failed_post_goes_out_on_the_next_pass(make_supervisor, slack) -> None:
    sup = make_supervisor()
    deliver(sup, webhook_url=slack.url, details_base_url=None, now=T0)
    sup.propose(sql(PENDING_SQL), now=T0)
    slack.statuses = [500]

    statuses = [[d.status for d in deliver(sup, webhook_url=slack.url, details_base_url=None, now=NOW).deliveries] for _ in range(3)]

    assert statuses == [["failed"], ["sent"], []]
    assert len(slack.received) == 2


def test_a_level_2_action_posts_a_notify_message_after_its_run(make_supervisor, slack) -> None:
    sup = make_supervisor(action_types={"sql.write": {"initial": 2, "ceiling": 3}})
    deliver(sup, webhook_url=slack.url, details_base_url=None, now=T0)
    recorded = sup.propose(sql("UPDATE shop.orders SET status = 'void' WHERE id = 7", rollback="set status back to 'open'"), now=T0)
    assert recorded.decision.decision.value == "notify"
    pid = recorded.proposal_id
    assert sup.authorize(pid, now=NOW, run_id="run-7").may_run
    sup.record_run("run-7", succeeded=True, status="SUCCESS", now=NOW)

    report = deliver(sup, webhook_url=slack.url, details_base_url=None, now=NOW)

    assert [(d.event, d.status) for d in report.deliveries] == [("run.finished", "sent")]
    [message] = slack.received
    assert message["json"]["text"].startswith(f"Ran and notified: sql.write by fixer ({pid})")
    text = json.dumps(message["json"]["blocks"])
    assert "run `run-7` SUCCESS; outcome *success*" in text
    assert "set status back to 'open'" in text
    assert "trustladder_approve" not in text


def test_a_run_of_an_approved_proposal_posts_nothing_more(make_supervisor, slack) -> None:
    sup = make_supervisor()
    deliver(sup, webhook_url=slack.url, details_base_url=None, now=T0)
    pid = sup.propose(sql(PENDING_SQL), now=T0).proposal_id
    sup.approve(pid, by="alice", now=NOW)
    sup.authorize(pid, now=NOW, run_id="run-8")
    sup.record_run("run-8", succeeded=True, status="SUCCESS", now=NOW)

    report = deliver(sup, webhook_url=slack.url, details_base_url=None, now=NOW)

    assert [(d.event, d.status, d.detail) for d in report.deliveries] == [
        ("approval.requested", "skipped", "already approved before the message went out"),
        ("run.finished", "skipped", "decided require_approval, not notify"),
    ]
    assert slack.received == []


def test_post_reports_an_unreachable_webhook_on_one_line() -> None:
    with pytest.raises(NotifyError, match=r"^cannot reach http://127\.0\.0\.1:9: .*; check the webhook URL and the network$"):
        post("http://127.0.0.1:9/services/T/B/secret-token", {"text": "hi"}, timeout_s=2)
    with pytest.raises(NotifyError, match="not an http\\(s\\) URL"):
        post("file:///etc/passwd", {"text": "hi"})


# -- rendering ---------------------------------------------------------------------------------


def test_a_huge_proposal_fits_block_kit_limits(make_supervisor) -> None:
    sup = make_supervisor()
    statement = "INSERT INTO shop.orders VALUES " + ", ".join(f"({i}, 'x<y&z', {i * 3})" for i in range(3000))
    pid = sup.propose(sql(statement, reason="r" * 5000, rollback="undo " * 1000), now=T0).proposal_id

    blocks = approval_blocks(sup.packet(pid), details_url="http://127.0.0.1:8000/proposals/" + pid)

    assert len(blocks) <= 50
    texts = [block["text"]["text"] for block in blocks if "text" in block]
    texts += [field["text"] for block in blocks for field in block.get("fields", ())]
    assert max(len(text) for text in texts) <= 3000
    [code] = [text for text in texts if text.startswith("*SQL*")]
    assert code.count("```") == 2  # clipped inside the code block, never cut open
    assert blocks[-1]["type"] == "actions"


def test_a_pipeline_action_shows_its_action_and_params(make_supervisor) -> None:
    sup = make_supervisor()
    pid = sup.propose(action("retry_task", {"job": "ingest", "task": "load"}), now=T0).proposal_id
    text = json.dumps(approval_blocks(sup.packet(pid), details_url=None))
    assert "*Action:* `retry_task`" in text and '`job`: \\"ingest\\"' in text
    assert "trustladder_details" not in text


# -- settings and the command ------------------------------------------------------------------


def test_settings_come_from_the_file_and_secrets_from_the_environment(tmp_path) -> None:
    path = tmp_path / "slack.yaml"
    path.write_text("webhook_url: https://hooks.slack.com/services/T/B/file\nidentities: {U_ALICE: alice}\ndetails_base_url: http://127.0.0.1:8000/\n")
    env = {"TRUSTLADDER_SLACK_SIGNING_SECRET": "from-env", "TRUSTLADDER_SLACK_CONFIG": str(path)}

    settings = load_slack_settings(environ=env)

    assert settings.require_webhook_url() == "https://hooks.slack.com/services/T/B/file"
    assert settings.require_signing_secret() == "from-env"
    assert settings.identities == {"U_ALICE": "alice"} and settings.details_base_url == "http://127.0.0.1:8000"
    assert "from-env" not in repr(settings)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("webhook: https://x\n", r"slack\.yaml: webhook: unknown key; the keys are webhook_url, signing_secret"),
        ("webhook_url: hooks.slack.com/x\n", r"slack\.yaml: webhook_url: must be an http\(s\) URL"),
        ("identities: [alice]\n", r"slack\.yaml: identities: Input should be a valid dictionary"),
        ("webhook_url: [\n", r"slack\.yaml: not valid YAML at line 2; fix the syntax"),
    ],
    ids=["unknown key", "not a URL", "identities not a mapping", "not YAML"],
)
def test_bad_settings_are_one_line_errors_naming_the_file(tmp_path, text, message) -> None:
    path = tmp_path / "slack.yaml"
    path.write_text(text)
    with pytest.raises(NotifyConfigError, match=message) as caught:
        load_slack_settings(path, environ={})
    assert "\n" not in str(caught.value)


def test_notify_slack_once_delivers_from_the_command_line(ladder_file, tmp_path, slack, capsys) -> None:
    ladder = ladder_file()
    ledger = tmp_path / "ledger.duckdb"
    config = tmp_path / "slack.yaml"
    config.write_text(f"webhook_url: {slack.url}\n")
    argv = ["--ladder", str(ladder), "--ledger", str(ledger), "notify", "slack", "--config", str(config), "--once"]
    assert main(argv) == 0  # the first pass starts the channel
    pid = Supervisor.from_paths(ladder=ladder, ledger=ledger).propose(sql(PENDING_SQL), now=datetime.now(UTC)).proposal_id
    capsys.readouterr()

    assert main([*argv, "--json"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert [(d["proposal_id"], d["status"]) for d in report["deliveries"]] == [(pid, "sent")]
    assert len(slack.received) == 1


def test_notify_without_a_webhook_says_where_to_set_it(ladder_file, tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("TRUSTLADDER_SLACK_WEBHOOK_URL", raising=False)
    monkeypatch.delenv("TRUSTLADDER_SLACK_CONFIG", raising=False)
    assert main(["--ladder", str(ladder_file()), "--ledger", str(tmp_path / "l.duckdb"), "notify", "slack", "--once"]) == 2
    assert capsys.readouterr().err == "trustladder: error: no Slack webhook URL; set webhook_url in the settings file or TRUSTLADDER_SLACK_WEBHOOK_URL\n"
