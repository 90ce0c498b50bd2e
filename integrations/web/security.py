"""Who is asking: signed session cookies for people, bearer tokens for agents, CSRF checks on forms.

The session cookie holds the user's name, a per-session CSRF token, its expiry and an optional
one-shot message, signed with HMAC-SHA256 under the config's ``session_secret``. It is HttpOnly and
SameSite=Lax. Every form POST must carry the session's CSRF token in a hidden field and come from
this origin (``Origin``, else ``Referer``, naming this host).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from fastapi import Request, Response

from integrations.web.config import ServeConfig

COOKIE = "trustladder_session"


class WebError(Exception):
    """A request the web layer refuses, with the status code and a one-line message.

    Args:
        status: the HTTP status code.
        message: what went wrong and what to do.
    """

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class LoginRequired(Exception):
    """A page needs a logged-in user; the app answers with a redirect to the login form."""


@dataclass(frozen=True)
class Session:
    """What the session cookie carries."""

    user: str | None
    csrf: str
    expires: float
    flash: str | None = None


def new_session(config: ServeConfig, user: str | None) -> Session:
    """A fresh session with a new CSRF token.

    Args:
        config: the serve config (for the session length).
        user: who logged in, or None before login.

    Returns:
        The session.
    """
    return Session(user=user, csrf=secrets.token_urlsafe(24), expires=time.time() + config.session_minutes * 60)


def _sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def encode_session(config: ServeConfig, session: Session) -> str:
    """The cookie value: base64 JSON and its signature.

    Args:
        config: the serve config (for the secret).
        session: the session.

    Returns:
        The cookie value.
    """
    body = base64.urlsafe_b64encode(json.dumps({"u": session.user, "c": session.csrf, "e": session.expires, "f": session.flash}).encode())
    return f"{body.decode()}.{_sign(config.session_secret, body)}"


def read_session(config: ServeConfig, request: Request) -> Session | None:
    """The request's session, when its cookie is present, correctly signed and not expired.

    Args:
        config: the serve config.
        request: the request.

    Returns:
        The session, or None.
    """
    raw = request.cookies.get(COOKIE)
    if not raw or "." not in raw:
        return None
    body, _, signature = raw.rpartition(".")
    if not hmac.compare_digest(signature, _sign(config.session_secret, body.encode())):
        return None
    try:
        data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(body.encode()))
        session = Session(user=data["u"], csrf=str(data["c"]), expires=float(data["e"]), flash=data.get("f"))
    except (ValueError, KeyError, TypeError):
        return None
    return session if session.expires > time.time() else None


def store_session(config: ServeConfig, response: Response, session: Session | None) -> None:
    """Set (or, for None, delete) the session cookie on a response.

    Args:
        config: the serve config.
        response: the response.
        session: the session to store.
    """
    if session is None:
        response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
        return
    response.set_cookie(
        COOKIE,
        encode_session(config, session),
        max_age=int(config.session_minutes * 60),
        path="/",
        httponly=True,
        samesite="lax",
        secure=config.secure_cookies,
    )


def with_flash(session: Session, message: str | None) -> Session:
    """The session carrying a one-shot message for the next page.

    Args:
        session: the session.
        message: the message, or None to clear it.

    Returns:
        The new session.
    """
    return replace(session, flash=message)


def require_user(config: ServeConfig, request: Request) -> Session:
    """The logged-in user's session.

    Args:
        config: the serve config.
        request: the request.

    Returns:
        The session.

    Raises:
        LoginRequired: nobody is logged in.
    """
    session = read_session(config, request)
    if session is None or session.user is None:
        raise LoginRequired()
    return session


def check_form(request: Request, session: Session | None, token: str | None) -> None:
    """Refuse a form POST that lacks the session's CSRF token or comes from another origin.

    Args:
        request: the request.
        session: its session.
        token: the form's ``csrf`` field.

    Raises:
        WebError: 403 with the reason.
    """
    origin = request.headers.get("origin") or request.headers.get("referer")
    host = request.headers.get("host", "")
    if not origin or origin == "null":
        raise WebError(403, "refused: the form came without an Origin or Referer header; submit it from the trustladder page")
    if urlsplit(origin).netloc != host:
        raise WebError(403, f"refused: the form came from {urlsplit(origin).netloc or origin}, not from this server ({host})")
    if session is None or not token or not hmac.compare_digest(token, session.csrf):
        raise WebError(403, "refused: the form's CSRF token is missing or stale; reload the page and submit again")


def bearer_identity(config: ServeConfig, request: Request) -> str:
    """The identity a request's bearer token authenticates as.

    Args:
        config: the serve config.
        request: the request.

    Returns:
        The identity.

    Raises:
        WebError: 401 when the header is missing, malformed or names an unknown token.
    """
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise WebError(401, "missing bearer token; send 'Authorization: Bearer TOKEN' with a token from the serve config")
    identity = config.identity_for_token(token.strip())
    if identity is None:
        raise WebError(401, "unknown bearer token; ask the operator for a token listed in the serve config")
    return identity
