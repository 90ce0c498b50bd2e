"""The serve config: who may use the web inbox and the API, and the secret that signs sessions.

Bearer tokens are stored as their sha256, passwords as salted scrypt hashes; the file never holds
a usable credential. ``python -m integrations.web.credentials token`` and ``... password`` print the
lines to paste into it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

import yaml
from pydantic import Field, ValidationError, field_validator

from supervisor.errors import UsageError
from supervisor.models import Model

CONFIG_ENV = "TRUSTLADDER_SERVE_CONFIG"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


class TokenEntry(Model):
    """A bearer token for an agent or a script."""

    identity: str = Field(min_length=1, description="Who the token authenticates as, e.g. fixer or alice.")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$", description="sha256 of the token, hex; never the token itself.")


class UserEntry(Model):
    """A person who logs in to the web inbox."""

    name: str = Field(min_length=1, description="The identity, as named in the ladder's approver groups.")
    password: str = Field(description="scrypt$N$r$p$salt$hash, as printed by `python -m integrations.web.credentials password`.")

    @field_validator("password")
    @classmethod
    def _scrypt_format(cls, value: str) -> str:
        parts = value.split("$")
        if len(parts) != 6 or parts[0] != "scrypt" or not all(p.isdigit() for p in parts[1:4]):
            raise ValueError("must be scrypt$N$r$p$salt$hash; make one with `python -m integrations.web.credentials password`")
        return value


class ServeConfig(Model):
    """``serve.yaml``: identities and the session secret."""

    session_secret: str = Field(min_length=32, description="Signs session cookies; at least 32 random characters.")
    session_minutes: float = Field(default=480, gt=0, description="How long a login lasts.")
    secure_cookies: bool = Field(default=False, description="Set the Secure flag on the session cookie (when served behind HTTPS).")
    tokens: tuple[TokenEntry, ...] = Field(default=(), description="Bearer tokens for the JSON API.")
    users: tuple[UserEntry, ...] = Field(default=(), description="People who log in to the web inbox.")

    def identity_for_token(self, token: str) -> str | None:
        """The identity a bearer token authenticates as.

        Args:
            token: the token as sent.

        Returns:
            The identity, or None for an unknown token.
        """
        digest = token_digest(token)
        for entry in self.tokens:
            if hmac.compare_digest(entry.sha256, digest):
                return entry.identity
        return None

    def check_password(self, name: str, password: str) -> bool:
        """Whether a user's password is right (constant work whether or not the user exists).

        Args:
            name: the user.
            password: the password as typed.

        Returns:
            True when the user exists and the password matches.
        """
        entry = next((u for u in self.users if u.name == name), None)
        stored = entry.password if entry else _DUMMY
        return verify_password(password, stored) and entry is not None


def token_digest(token: str) -> str:
    """sha256 of a bearer token, hex: what the config stores.

    Args:
        token: the token.

    Returns:
        64 hex digits.
    """
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def hash_password(password: str, *, salt: bytes | None = None) -> str:
    """A salted scrypt hash in the config's ``scrypt$N$r$p$salt$hash`` form.

    Args:
        password: the password.
        salt: 16 random bytes unless given.

    Returns:
        The encoded hash.
    """
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    encode = base64.urlsafe_b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """Whether a password matches an encoded scrypt hash.

    Args:
        password: the password as typed.
        stored: the encoded hash.

    Returns:
        True on a match.
    """
    try:
        _, n, r, p, salt, digest = stored.split("$")
        expected = base64.urlsafe_b64decode(digest)
        actual = hashlib.scrypt(password.encode("utf-8"), salt=base64.urlsafe_b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


_DUMMY = hash_password("not a password", salt=b"\0" * 16)


def load_serve_config(path: str | Path | None) -> ServeConfig:
    """Read the serve config from ``path``, else from ``$TRUSTLADDER_SERVE_CONFIG``.

    Args:
        path: the YAML file, or None to use the environment variable.

    Returns:
        The config.

    Raises:
        UsageError: no path was given, the file is missing, or a key is wrong (named with its fix).
    """
    chosen = path or os.environ.get(CONFIG_ENV)
    if not chosen:
        raise UsageError(f"serve needs a config file with its users and tokens; pass --config serve.yaml or set {CONFIG_ENV} (see integrations/web/serve.example.yaml)")
    try:
        raw = yaml.safe_load(Path(chosen).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError(f"no such file: {chosen}; pass an existing serve config (see integrations/web/serve.example.yaml)") from None
    except yaml.YAMLError as error:
        raise UsageError(f"{chosen} is not valid YAML: {str(error).splitlines()[0]}") from None
    try:
        return ServeConfig.model_validate(raw if raw is not None else {})
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise UsageError(f"{chosen}: {where}: {first['msg']}") from None
