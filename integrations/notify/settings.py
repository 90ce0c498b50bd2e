"""``SlackSettings``: where to post, how to check Slack's callbacks, and who each Slack user is.

Loaded from a YAML file (``--config PATH`` or env ``TRUSTLADDER_SLACK_CONFIG``); the two secrets
may instead come from the environment (``TRUSTLADDER_SLACK_WEBHOOK_URL``,
``TRUSTLADDER_SLACK_SIGNING_SECRET``), which wins over the file so the file can be committed
without them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator

from integrations.notify.errors import NotifyConfigError
from supervisor.models import Model

ENV_CONFIG = "TRUSTLADDER_SLACK_CONFIG"
ENV_WEBHOOK_URL = "TRUSTLADDER_SLACK_WEBHOOK_URL"
ENV_SIGNING_SECRET = "TRUSTLADDER_SLACK_SIGNING_SECRET"


class SlackSettings(Model):
    """The Slack channel's settings."""

    webhook_url: SecretStr | None = Field(
        default=None,
        description="The incoming webhook URL messages are posted to (a secret: env TRUSTLADDER_SLACK_WEBHOOK_URL overrides it).",
    )
    signing_secret: SecretStr | None = Field(
        default=None,
        description="The Slack app's signing secret, which checks button callbacks (env TRUSTLADDER_SLACK_SIGNING_SECRET overrides it).",
    )
    identities: dict[str, str] = Field(
        default_factory=dict,
        description="Slack user id (e.g. U024BE7LH) -> trustladder identity (a name under approvals.approvers in the ladder).",
    )
    details_base_url: str | None = Field(
        default=None,
        description="Base URL of the web inbox; the Details button opens {details_base_url}/proposals/{id}.",
    )
    interval_s: float = Field(default=30.0, gt=0, description="Seconds between delivery passes of 'trustladder notify slack'.")

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL, e.g. https://hooks.slack.com/services/T000/B000/abc123")
        return value

    @field_validator("details_base_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL, e.g. http://127.0.0.1:8000")
        return value.rstrip("/") if value else value

    def require_webhook_url(self) -> str:
        """The webhook URL, or a NotifyConfigError that says where to set it.

        Returns:
            The URL.
        """
        if self.webhook_url is None or not self.webhook_url.get_secret_value():
            raise NotifyConfigError(f"no Slack webhook URL; set webhook_url in the settings file or {ENV_WEBHOOK_URL}")
        return self.webhook_url.get_secret_value()

    def require_signing_secret(self) -> str:
        """The signing secret, or a NotifyConfigError that says where to set it.

        Returns:
            The secret.
        """
        if self.signing_secret is None or not self.signing_secret.get_secret_value():
            raise NotifyConfigError(f"no Slack signing secret; set signing_secret in the settings file or {ENV_SIGNING_SECRET}")
        return self.signing_secret.get_secret_value()


def load_slack_settings(path: str | Path | None = None, *, environ: Mapping[str, str] | None = None) -> SlackSettings:
    """Load the Slack settings from a YAML file and the environment.

    Args:
        path: the settings file; None reads env ``TRUSTLADDER_SLACK_CONFIG``, and with neither the
            settings come from the environment alone.
        environ: the environment to read (default ``os.environ``).

    Returns:
        The settings.

    Raises:
        NotifyConfigError: the file is missing, is not YAML, or has an unknown key or a wrong value.
    """
    env = os.environ if environ is None else environ
    source = path if path is not None else env.get(ENV_CONFIG) or None
    data: dict[str, Any] = _read(Path(source)) if source is not None else {}
    for key, name in (("webhook_url", ENV_WEBHOOK_URL), ("signing_secret", ENV_SIGNING_SECRET)):
        if env.get(name):
            data[key] = env[name]
    try:
        return SlackSettings.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = f"unknown key; the keys are {', '.join(SlackSettings.model_fields)}"
        raise NotifyConfigError(f"{where}: {message}", location=str(source) if source is not None else "environment") from None


def _read(path: Path) -> dict[str, Any]:
    try:
        loaded = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise NotifyConfigError(f"no such file; pass an existing settings file with --config or {ENV_CONFIG}", location=str(path)) from None
    except OSError as error:
        raise NotifyConfigError(f"cannot read it: {error.strerror}", location=str(path)) from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" at line {mark.line + 1}" if mark is not None else ""
        raise NotifyConfigError(f"not valid YAML{line}; fix the syntax", location=str(path)) from None
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise NotifyConfigError(f"expected a mapping of settings, got {type(loaded).__name__}", location=str(path))
    return loaded
