"""``trustladder notify slack``: deliver pending notifications, once or in a loop.

``supervisor.handlers.notify`` loads this module with importlib when the command runs, so the
core package never imports an adapter.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime
from typing import TextIO

from integrations.notify.settings import load_slack_settings
from integrations.notify.slack import DeliveryReport, deliver
from supervisor.errors import LedgerError, UsageError
from supervisor.handlers import emit, supervisor_for


def run(args: argparse.Namespace, out: TextIO) -> int:
    """Run ``trustladder notify CHANNEL``.

    Args:
        args: the parsed options: ``channel``, ``config``, ``once``, ``interval``, ``json`` and the
            global ``ladder`` and ``ledger``.
        out: where to print each pass's report.

    Returns:
        The exit code: 0 (failed posts are recorded and retried on later passes).
    """
    if args.channel != "slack":
        raise UsageError(f"unknown notification channel {args.channel!r}; the channels are: slack")
    settings = load_slack_settings(args.config)
    webhook_url = settings.require_webhook_url()
    interval = args.interval if args.interval is not None else settings.interval_s
    if interval <= 0:
        raise UsageError(f"--interval must be positive, got {interval:g}")
    while True:
        try:
            # A fresh facade each pass, so edits to the ladder file apply without a restart.
            report = deliver(supervisor_for(args), webhook_url=webhook_url, details_base_url=settings.details_base_url, now=datetime.now(UTC))
        except LedgerError as error:
            if args.once:
                raise
            print(f"trustladder: notify: {error}; trying again in {interval:g} s", file=sys.stderr)
        else:
            emit(out, args, report.model_dump(mode="json"), render_report(report))
            out.flush()
        if args.once:
            return 0
        time.sleep(interval)


def render_report(report: DeliveryReport) -> str:
    """One pass as text: a summary line, then one line per failure.

    Args:
        report: what the pass did.

    Returns:
        The text.
    """
    lines = [f"slack: sent {report.count('sent')}, skipped {report.count('skipped')}, failed {report.count('failed')}"]
    lines += [f"  failed {d.event} {d.proposal_id} (audit #{d.seq}): {d.detail}" for d in report.deliveries if d.status == "failed"]
    return "\n".join(lines)
