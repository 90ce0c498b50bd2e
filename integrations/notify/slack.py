"""Slack: post approval requests and notify messages to an incoming webhook, take decisions from its buttons.

Framework-independent: ``handle_interaction`` takes the raw body and headers of Slack's callback
and returns a status and a JSON body, so any web server (the web inbox mounts it at
``/slack/interactive``) or a test's ``http.server`` can serve it. ``deliver`` is the outbound
half: it reads the ``slack`` channel of the supervisor's notification outbox, posts each message
once and records every attempt, so a notifier that stops and starts neither repeats nor loses one.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit

from pydantic import Field

from integrations.notify.blocks import (
    APPROVE,
    DETAILS,
    REJECT,
    approval_blocks,
    details_url,
    fallback_text,
    notify_blocks,
)
from integrations.notify.errors import NotifyError, SlackSignatureError
from supervisor.errors import LedgerError, SupervisorError
from supervisor.models import Model
from supervisor.service import Supervisor

log = logging.getLogger(__name__)

CHANNEL = "slack"
EVENTS = ("approval.requested", "run.finished")
SIGNATURE_VERSION = "v0"

# Posts a response message to an interaction's response_url (e.g. ``post``, or a web framework's background task).
Reply = Callable[[str, dict[str, Any]], None]


class Delivery(Model):
    """One attempt to deliver an audit entry to Slack."""

    seq: int = Field(description="The audit entry's sequence number.")
    event: str = Field(description="Its event, e.g. approval.requested.")
    proposal_id: str | None = Field(description="The proposal it is about.")
    status: Literal["sent", "skipped", "failed"] = Field(description="Posted, nothing to post, or the post failed (retried on the next pass).")
    detail: str | None = Field(default=None, description="Why it was skipped or how it failed.")


class DeliveryReport(Model):
    """What one ``deliver`` pass did."""

    deliveries: tuple[Delivery, ...] = Field(default=(), description="Each entry looked at, in audit order.")

    def count(self, status: str) -> int:
        """How many deliveries ended with ``status`` (sent, skipped or failed)."""
        return sum(1 for d in self.deliveries if d.status == status)


# -- outbound ----------------------------------------------------------------------------------


def post(webhook_url: str, payload: dict[str, Any], *, timeout_s: float = 10) -> None:
    """Post a message to a Slack incoming webhook (or a ``response_url``).

    Args:
        webhook_url: the webhook URL; it is a secret, so errors name only its scheme and host.
        payload: the message, e.g. ``{"text": ..., "blocks": [...]}``.
        timeout_s: how long to wait for Slack.

    Raises:
        NotifyError: Slack answered with an HTTP error (its status and body text are in the
            message), did not answer in time, or could not be reached.
    """
    parts = urlsplit(webhook_url)
    where = f"{parts.scheme}://{parts.netloc}" if parts.netloc else "the webhook URL"
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise NotifyError(f"the Slack webhook URL is not an http(s) URL (starts {webhook_url[:8]!r}); copy it from the Slack app's Incoming Webhooks page")
    request = urllib.request.Request(
        webhook_url,
        data=json.dumps(payload).encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            response.read()
    except urllib.error.HTTPError as error:
        text = " ".join(error.read().decode("utf-8", "replace").split())[:200] or str(error.reason)
        raise NotifyError(f"Slack answered HTTP {error.code} from {where}: {text}") from None
    except TimeoutError:
        raise NotifyError(f"Slack did not answer within {timeout_s:g} s at {where}; it is retried on the next pass") from None
    except urllib.error.URLError as error:
        if isinstance(error.reason, TimeoutError):
            raise NotifyError(f"Slack did not answer within {timeout_s:g} s at {where}; it is retried on the next pass") from None
        raise NotifyError(f"cannot reach {where}: {error.reason}; check the webhook URL and the network") from None
    except OSError as error:
        raise NotifyError(f"cannot reach {where}: {error}; check the webhook URL and the network") from None


def deliver(supervisor: Supervisor, *, webhook_url: str, details_base_url: str | None, now: datetime, limit: int = 20, timeout_s: float = 10) -> DeliveryReport:
    """Post what the ``slack`` channel has not delivered yet, once each, and record every attempt.

    ``approval.requested`` posts the approval request with its buttons (skipped when the request
    was decided before the message went out); ``run.finished`` posts a notify message when the
    proposal was decided ``notify`` (level 2) and the run executed it. A failed post is retried on
    later passes, up to three attempts in all (``Supervisor.undelivered``). A channel starts at
    the audit entry current on its first pass; it does not replay history.

    Args:
        supervisor: the facade over the ladder and the ledger.
        webhook_url: the incoming webhook URL.
        details_base_url: the web inbox's base URL for the Details button, or None.
        now: the time of this pass.
        limit: at most this many entries per pass.
        timeout_s: how long to wait for Slack per post.

    Returns:
        What was sent, skipped and failed.
    """
    done: list[Delivery] = []
    for entry in supervisor.undelivered(CHANNEL, events=EVENTS, now=now, limit=limit):
        pid = entry.subject
        try:
            message, skip = _message(supervisor, entry.event, pid, json.loads(entry.payload), details_base_url)
            if message is not None:
                post(webhook_url, message, timeout_s=timeout_s)
        except SupervisorError as error:
            log.warning("slack: could not deliver audit entry %s (%s %s): %s", entry.seq, entry.event, pid, error)
            supervisor.record_delivery(CHANNEL, entry.seq, ok=False, now=now, detail=str(error))
            done.append(Delivery(seq=entry.seq, event=entry.event, proposal_id=pid, status="failed", detail=str(error)))
            continue
        supervisor.record_delivery(CHANNEL, entry.seq, ok=True, now=now, detail=skip and f"skipped: {skip}")
        done.append(Delivery(seq=entry.seq, event=entry.event, proposal_id=pid, status="sent" if message is not None else "skipped", detail=skip))
    return DeliveryReport(deliveries=tuple(done))


def _message(supervisor: Supervisor, event: str, pid: str | None, payload: dict[str, Any], base_url: str | None) -> tuple[dict[str, Any] | None, str | None]:
    """The message for an audit entry, or None and why there is nothing to post."""
    if pid is None:
        return None, "the entry names no proposal"
    packet = supervisor.packet(pid)
    url = details_url(base_url, pid)
    if event == "approval.requested":
        if packet.approval is None or packet.approval.state.is_final:
            return None, f"already {packet.status} before the message went out"
        return {"text": fallback_text(packet, kind="approval"), "blocks": approval_blocks(packet, details_url=url)}, None
    if packet.decision != "notify":
        return None, f"decided {packet.decision}, not notify"
    if not payload.get("executed"):
        return None, "the run did not execute it"
    blocks = notify_blocks(packet, run_id=payload.get("run_id"), status=str(payload.get("status") or "finished"), executed=True, details_url=url)
    return {"text": fallback_text(packet, kind="notify"), "blocks": blocks}, None


# -- inbound -----------------------------------------------------------------------------------


def verify_signature(*, body: bytes, timestamp: str | None, signature: str | None, signing_secret: str, now: float, tolerance_s: int = 300) -> None:
    """Check Slack's ``v0`` request signature: HMAC-SHA256 of ``v0:{timestamp}:{body}`` with the signing secret.

    Args:
        body: the raw request body, exactly as received.
        timestamp: the ``X-Slack-Request-Timestamp`` header (Unix seconds).
        signature: the ``X-Slack-Signature`` header, ``v0=<hex>``.
        signing_secret: the Slack app's signing secret.
        now: the current time, Unix seconds.
        tolerance_s: how far the timestamp may be from ``now``; older requests may be replays.

    Raises:
        SlackSignatureError: a header is missing, the timestamp is not an integer or is stale, or
            the signature does not match.
    """
    if not signing_secret:
        raise SlackSignatureError("no Slack signing secret is configured, so no callback can be trusted; set signing_secret")
    if timestamp is None or not timestamp.strip():
        raise SlackSignatureError("missing X-Slack-Request-Timestamp header; only Slack's signed requests are accepted")
    if signature is None or not signature.strip():
        raise SlackSignatureError("missing X-Slack-Signature header; only Slack's signed requests are accepted")
    try:
        sent_at = int(timestamp.strip())
    except ValueError:
        raise SlackSignatureError(f"X-Slack-Request-Timestamp {timestamp[:40]!r} is not an integer number of seconds") from None
    if abs(now - sent_at) > tolerance_s:
        raise SlackSignatureError(f"stale request: X-Slack-Request-Timestamp is {abs(now - sent_at):.0f} s from now (limit {tolerance_s} s); check this server's clock")
    version, _, _ = signature.strip().partition("=")
    if version != SIGNATURE_VERSION:
        raise SlackSignatureError(f"X-Slack-Signature has version {version[:10]!r}; only {SIGNATURE_VERSION}= signatures are accepted")
    expected = signature_for(body=body, timestamp=timestamp.strip(), signing_secret=signing_secret)
    if not hmac.compare_digest(expected.encode(), signature.strip().encode()):
        raise SlackSignatureError("X-Slack-Signature does not match the body; check that signing_secret is this Slack app's signing secret")


def signature_for(*, body: bytes, timestamp: str, signing_secret: str) -> str:
    """Slack's ``v0`` signature of a request, as the ``X-Slack-Signature`` header carries it.

    Args:
        body: the raw request body.
        timestamp: the ``X-Slack-Request-Timestamp`` header.
        signing_secret: the Slack app's signing secret.

    Returns:
        ``v0=<hex HMAC-SHA256>``.
    """
    base = f"{SIGNATURE_VERSION}:{timestamp}:".encode() + body
    return f"{SIGNATURE_VERSION}=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


class _Malformed(Exception):
    """The body is not a Block Kit button callback trustladder sent."""


class _Interaction(Model):
    user_id: str
    user_name: str | None
    action_id: str
    proposal_id: str
    response_url: str | None


def handle_interaction(
    body: bytes,
    headers: Mapping[str, str],
    *,
    supervisor: Supervisor,
    signing_secret: str,
    identities: Mapping[str, str],
    now: datetime,
    details_base_url: str | None = None,
    reply: Reply | None = None,
) -> tuple[int, dict[str, Any]]:
    """Take a button press from Slack: check the signature, map the user, record the decision.

    Statuses: 401 when the signature is missing, wrong or stale (nothing is read or recorded);
    400 when the body is not a Block Kit button callback; 403 when the Slack user is not mapped to
    an identity; 503 when the ledger is busy (Slack shows the press failed; press again); 200
    otherwise, including when the core refuses the vote (the proposer itself, a non-approver, a
    decided or timed-out request): Slack expects 200, and the body says what happened.

    Slack ignores the body of the acknowledgement for Block Kit buttons; the user sees it when it
    is posted to the callback's ``response_url``. Pass ``reply`` (e.g. ``post``, or a web
    framework's background task around it) to have that done for verified callbacks.

    Args:
        body: the raw request body (``application/x-www-form-urlencoded`` with a ``payload`` field).
        headers: the request headers; names are matched case-insensitively.
        supervisor: the facade over the ladder and the ledger.
        signing_secret: the Slack app's signing secret.
        identities: Slack user id -> trustladder identity.
        now: the time of the request.
        details_base_url: the web inbox's base URL, for the Details button of the updated message.
        reply: posts the response body to the callback's ``response_url``.

    Returns:
        The HTTP status and a Slack response body (``response_type``, ``replace_original``,
        ``text``, and for a recorded decision the updated message's ``blocks``).
    """
    lowered = {str(name).lower(): value for name, value in headers.items()}
    try:
        verify_signature(
            body=body,
            timestamp=lowered.get("x-slack-request-timestamp"),
            signature=lowered.get("x-slack-signature"),
            signing_secret=signing_secret,
            now=now.timestamp(),
        )
    except SlackSignatureError as error:
        log.warning("slack: refused an unsigned or badly signed callback: %s", error)
        return 401, _ephemeral(f"Refused: {error}")
    try:
        interaction = _parse(body)
    except _Malformed as error:
        return 400, _ephemeral(f"Not a trustladder button callback: {error}")
    status, message = _act(interaction, supervisor=supervisor, identities=identities, now=now, details_base_url=details_base_url)
    if reply is not None and interaction.response_url and message.get("text"):
        try:
            reply(interaction.response_url, message)
        except SupervisorError as error:
            log.warning("slack: could not post the response to %s: %s", interaction.proposal_id, error)
    return status, message


def _act(interaction: _Interaction, *, supervisor: Supervisor, identities: Mapping[str, str], now: datetime, details_base_url: str | None) -> tuple[int, dict[str, Any]]:
    pid = interaction.proposal_id
    if interaction.action_id == DETAILS:
        return 200, {}  # a link button: Slack opened the page and only wants the acknowledgement
    identity = identities.get(interaction.user_id)
    if identity is None:
        who = f"{interaction.user_id} ({interaction.user_name})" if interaction.user_name else interaction.user_id
        return 403, _ephemeral(f"Not recorded: Slack user {who} is not mapped to a trustladder identity; add it under identities in the Slack settings")
    via = f"from Slack by {identity} (Slack user {interaction.user_id})"
    try:
        if interaction.action_id == APPROVE:
            request = supervisor.approve(pid, by=identity, reason=f"approved {via}", now=now)
        else:
            request = supervisor.reject(pid, by=identity, reason=f"rejected {via}", now=now)
        packet = supervisor.packet(pid)
    except LedgerError as error:
        return 503, _ephemeral(f"Not recorded: {error}; press the button again in a moment")
    except SupervisorError as error:  # ApprovalError (self, non-approver, decided, timed out) or an unknown proposal
        return 200, _ephemeral(f"Not recorded: {error}")
    verb = "approved" if interaction.action_id == APPROVE else "rejected"
    approvals = sum(1 for vote in request.votes if vote.verdict == "approve")
    state = request.state.value if request.state.is_final else f"pending, {approvals} of {request.required} approvals"
    return 200, {
        "response_type": "in_channel",
        "replace_original": True,
        "text": f"{identity} {verb} {pid} ({packet.what.action_type}); it is {state}",
        "blocks": approval_blocks(packet, details_url=details_url(details_base_url, pid)),
    }


def _parse(body: bytes) -> _Interaction:
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True, strict_parsing=True)
    except (UnicodeDecodeError, ValueError):
        raise _Malformed("the body is not form-encoded UTF-8") from None
    if "payload" not in form:
        raise _Malformed("the form has no payload field")
    try:
        data = json.loads(form["payload"][0])
    except json.JSONDecodeError:
        raise _Malformed("the payload field is not JSON") from None
    if not isinstance(data, dict) or data.get("type") != "block_actions":
        kind = data.get("type") if isinstance(data, dict) else type(data).__name__
        raise _Malformed(f"expected a block_actions payload, got {str(kind)[:40]!r}")
    user, actions = data.get("user"), data.get("actions")
    if not isinstance(user, dict) or not isinstance(user.get("id"), str):
        raise _Malformed("the payload has no user.id")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        raise _Malformed("the payload has no actions")
    action = actions[0]
    action_id, value = action.get("action_id"), action.get("value")
    if action_id not in (APPROVE, REJECT, DETAILS):
        raise _Malformed(f"unknown action_id {str(action_id)[:40]!r}; expected {APPROVE}, {REJECT} or {DETAILS}")
    if not isinstance(value, str) or not value:
        raise _Malformed("the button carries no proposal id")
    name = user.get("username") or user.get("name")
    url = data.get("response_url")
    return _Interaction(
        user_id=user["id"],
        user_name=name if isinstance(name, str) else None,
        action_id=action_id,
        proposal_id=value,
        response_url=url if isinstance(url, str) and url.startswith(("https://", "http://")) else None,
    )


def _ephemeral(text: str) -> dict[str, Any]:
    return {"response_type": "ephemeral", "replace_original": False, "text": text}
