"""trustladder notifications: Slack messages for approval requests and level-2 actions, and Slack's buttons.

A thin adapter over ``supervisor.Supervisor``: it renders the approval packet as Block Kit,
delivers the notification outbox to an incoming webhook, and turns a signed button press into an
approval or rejection by a mapped identity. The core never imports it.
"""

from __future__ import annotations

from integrations.notify.blocks import approval_blocks as approval_blocks
from integrations.notify.blocks import notify_blocks as notify_blocks
from integrations.notify.errors import NotifyConfigError as NotifyConfigError
from integrations.notify.errors import NotifyError as NotifyError
from integrations.notify.errors import SlackSignatureError as SlackSignatureError
from integrations.notify.settings import SlackSettings as SlackSettings
from integrations.notify.settings import load_slack_settings as load_slack_settings
from integrations.notify.slack import Delivery as Delivery
from integrations.notify.slack import DeliveryReport as DeliveryReport
from integrations.notify.slack import deliver as deliver
from integrations.notify.slack import handle_interaction as handle_interaction
from integrations.notify.slack import post as post
from integrations.notify.slack import signature_for as signature_for
from integrations.notify.slack import verify_signature as verify_signature

__all__ = [
    "Delivery",
    "DeliveryReport",
    "NotifyConfigError",
    "NotifyError",
    "SlackSettings",
    "SlackSignatureError",
    "approval_blocks",
    "deliver",
    "handle_interaction",
    "load_slack_settings",
    "notify_blocks",
    "post",
    "signature_for",
    "verify_signature",
]
