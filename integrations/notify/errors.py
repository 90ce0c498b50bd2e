"""Errors of the notification adapters: each a ``SupervisorError`` with a stable code and a README anchor."""

from __future__ import annotations

from supervisor.errors import SupervisorError


class NotifyError(SupervisorError):
    """A notification could not be delivered: the channel answered with an error or did not answer."""

    code = "notify"


class NotifyConfigError(NotifyError):
    """The notifier's settings file or environment is missing something or malformed."""

    code = "notify-config"


class SlackSignatureError(NotifyError):
    """A request claiming to come from Slack does not carry a valid, fresh ``v0`` signature."""

    code = "slack-signature"
