"""The ``trustladder`` command line.

Only what a command needs is imported when it runs, so ``trustladder classify`` starts fast:
nothing here imports dagster, pandas or a web framework.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn, TextIO

from supervisor.errors import SupervisorError, UsageError
from supervisor.models import Outcome

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
DEFAULT_LADDER = "trust_ladder.yaml"
DEFAULT_LEDGER = ".trustladder/ledger.duckdb"
DEFAULT_DIALECT = "duckdb"
DEMO_SEED = 7


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line and exits 2, without the usage dump."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}; see '{self.prog} --help'")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every ``trustladder`` command."""
    parser = _Parser(prog="trustladder", description="Supervise AI agents' proposed data fixes.")
    parser.add_argument(
        "--ladder",
        default=os.environ.get("TRUSTLADDER_LADDER", DEFAULT_LADDER),
        help="trust ladder file (default ./trust_ladder.yaml, env TRUSTLADDER_LADDER)",
    )
    parser.add_argument(
        "--ledger",
        default=os.environ.get("TRUSTLADDER_LEDGER", DEFAULT_LEDGER),
        help="ledger database (default .trustladder/ledger.duckdb, env TRUSTLADDER_LEDGER)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    classify = commands.add_parser(
        "classify",
        help="categories per statement of a SQL text; records nothing",
        description="Classify each statement of a SQL text into trustladder's risk categories.",
    )
    classify.add_argument(
        "--dialect",
        default=os.environ.get("TRUSTLADDER_DIALECT", DEFAULT_DIALECT),
        help=f"sqlglot dialect the SQL is written in (default {DEFAULT_DIALECT}, env TRUSTLADDER_DIALECT)",
    )
    source = classify.add_mutually_exclusive_group(required=True)
    source.add_argument("--sql", help="the SQL text")
    source.add_argument("file", nargs="?", help="a file with the SQL, or - for standard input")
    classify.add_argument(
        "--backfill-max-hours",
        type=float,
        default=None,
        help="a write whose time filter spans more than this is a costly backfill (default: escalations.backfill_max_hours of the ladder, else 24)",
    )
    classify.add_argument("--json", action="store_true", help="print JSON in the documented shape")
    classify.set_defaults(handler=_classify)
    _add_decision_commands(commands)
    return parser


def _add_decision_commands(commands: Any) -> None:
    from supervisor import handlers

    for name, handler, summary in (
        ("check", handlers.check, "the decision for a proposal; records nothing (exit 0 may run, 3 needs approval, 4 denied)"),
        ("propose", handlers.propose, "record a proposal and its decision; prints its id (exit codes as check)"),
    ):
        command = commands.add_parser(name, help=summary, description=summary)
        _proposal_options(command)
        _json(command)
        command.set_defaults(handler=handler)

    queue = commands.add_parser("queue", help="proposals awaiting a human", description="Proposals awaiting a human, oldest first.")
    _json(queue)
    queue.set_defaults(handler=handlers.queue)

    show = commands.add_parser("show", help="the approval packet of a proposal", description="What, why, blast radius, rollback, confidence, reasons.")
    show.add_argument("id", help="the proposal id")
    _measure_options(show)
    _json(show)
    show.set_defaults(handler=handlers.show)

    approve = commands.add_parser("approve", help="approve a proposal", description="Approve a proposal awaiting a human.")
    approve.add_argument("id", help="the proposal id")
    approve.add_argument("--by", required=True, help="who approves (a member of the routed group)")
    approve.add_argument("--reason", help="why")
    _json(approve)
    approve.set_defaults(handler=handlers.approve)

    reject = commands.add_parser("reject", help="reject a proposal", description="Reject a proposal awaiting a human.")
    reject.add_argument("id", help="the proposal id")
    reject.add_argument("--by", required=True, help="who rejects (a member of the routed group)")
    reject.add_argument("--reason", required=True, help="why")
    _json(reject)
    reject.set_defaults(handler=handlers.reject)

    outcome = commands.add_parser("outcome", help="record what happened when a proposal ran", description="Record the outcome of an executed proposal.")
    outcome.add_argument("id", help="the proposal id")
    outcome.add_argument("result", choices=[o.value for o in Outcome], help="what happened")
    outcome.add_argument("--note", help="details")
    outcome.add_argument("--by", help="who reports it")
    _json(outcome)
    outcome.set_defaults(handler=handlers.outcome)

    review = commands.add_parser(
        "review",
        help="sampled executions that ran without a human: list them, or record a verdict",
        description="Without ID: the sampled executions awaiting review. With ID and VERDICT: record it; 'bad' counts as an incident for the type.",
    )
    review.add_argument("id", nargs="?", help="a sampled proposal's id")
    review.add_argument("verdict", nargs="?", choices=["good", "bad"], help="what the review found")
    review.add_argument("--by", help="the reviewer (a member of the type's review group)")
    review.add_argument("--note", help="what was found; required for bad")
    review.add_argument("--all", action="store_true", help="list reviewed executions too")
    _json(review)
    review.set_defaults(handler=handlers.review)

    ladder = commands.add_parser("ladder", help="each action type: level, ceiling, outcomes, promotion", description="The trust ladder's state.")
    _json(ladder)
    ladder.set_defaults(handler=handlers.ladder, ladder_command=None)
    changes = ladder.add_subparsers(dest="ladder_command", metavar="{promote,demote}", parser_class=_Parser)
    promote = changes.add_parser("promote", help="sign off a due promotion", description="Sign off a due promotion.")
    promote.add_argument("action_type", help="e.g. sql.write")
    promote.add_argument("--by", required=True, help="a platform approver")
    _json(promote)
    demote = changes.add_parser("demote", help="drop an action type one level", description="Drop an action type one level.")
    demote.add_argument("action_type", help="e.g. sql.write")
    demote.add_argument("--by", required=True, help="a platform approver")
    demote.add_argument("--reason", required=True, help="why")
    _json(demote)

    report = commands.add_parser(
        "report",
        help="approval rates, waits, outcomes, agreement and levels over time, per action type",
        description="How the ladder is doing: per action type its level over time, outcomes and error rate, approval rate (flagging "
        "over-gated types), rejection reasons, time to decision, observe-mode agreement, sampled reviews, promotion candidates "
        "and recent demotions.",
    )
    span = report.add_mutually_exclusive_group()
    span.add_argument("--since", type=_moment, metavar="DATE", help="only from this date (midnight UTC) or ISO 8601 time on; default the whole ledger")
    span.add_argument("--days", type=_days, metavar="N", help="only the last N days")
    report.add_argument("--html", metavar="FILE", help="also write a self-contained HTML page with charts to FILE, and print its path")
    _json(report)
    report.set_defaults(handler=handlers.report)

    audit = commands.add_parser("audit", help="verify or export the audit trail", description="The tamper-evident audit trail.")
    actions = audit.add_subparsers(dest="audit_command", metavar="{verify,export}", parser_class=_Parser)
    actions.required = True
    verify = actions.add_parser("verify", help="recompute the chain; exit 1 names the first bad entry")
    _json(verify)
    export = actions.add_parser("export", help="write every entry as JSON lines")
    export.add_argument("--output", "-o", help="file to write (default standard output)")
    audit.set_defaults(handler=handlers.audit)

    standing = commands.add_parser("standing", help="standing approvals: approve a scope until a date", description="Standing approvals.")
    scopes = standing.add_subparsers(dest="standing_command", metavar="{grant,list,revoke}", parser_class=_Parser)
    scopes.required = True
    grant = scopes.add_parser("grant", help="approve every proposal in a scope until a date", description="Grant a standing approval.")
    grant.add_argument("--action-type", dest="action_types", action="append", required=True, metavar="GLOB", help="action-type glob it covers (repeat)")
    grant.add_argument("--object", dest="objects", action="append", metavar="GLOB", help="object glob every touched object must match (repeat; default all)")
    grant.add_argument("--agent", dest="agents", action="append", metavar="GLOB", help="agent glob it covers (repeat; default all)")
    grant.add_argument("--until", required=True, type=_moment, help="when it ends: a date (midnight UTC) or an ISO 8601 time")
    grant.add_argument("--by", required=True, help="a platform approver")
    grant.add_argument("--reason", required=True, help="why")
    _json(grant)
    listing = scopes.add_parser("list", help="every standing approval", description="List standing approvals.")
    listing.add_argument("--active", action="store_true", help="only those in force now")
    _json(listing)
    revoke = scopes.add_parser("revoke", help="revoke a standing approval", description="Revoke a standing approval.")
    revoke.add_argument("standing_id", help="e.g. sa-1a2b3c4d")
    revoke.add_argument("--by", required=True, help="a platform approver")
    revoke.add_argument("--reason", required=True, help="why")
    _json(revoke)
    standing.set_defaults(handler=handlers.standing)

    notify = commands.add_parser(
        "notify",
        help="deliver pending notifications (approval requests, level-2 runs) to Slack",
        description="Post approval requests and level-2 run notices to Slack's incoming webhook, each once; loops unless --once.",
    )
    notify.add_argument("channel", choices=["slack"], help="the channel")
    notify.add_argument("--config", help="the Slack settings file (default env TRUSTLADDER_SLACK_CONFIG)")
    notify.add_argument("--once", action="store_true", help="deliver what is pending and exit")
    notify.add_argument("--interval", type=float, help="seconds between passes (default interval_s in the settings, 30)")
    _json(notify)
    notify.set_defaults(handler=handlers.notify)

    serve = commands.add_parser(
        "serve",
        help="the web inbox and HTTP API on 127.0.0.1",
        description="Serve the web inbox and the JSON API. Needs the web extra: pip install 'trustladder[web]'.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1; anything else is reachable from other machines)")
    serve.add_argument("--port", type=int, default=8787, help="TCP port (default 8787)")
    serve.add_argument("--config", help="serve config with users, tokens and the session secret (env TRUSTLADDER_SERVE_CONFIG)")
    _measure_options(serve)
    serve.set_defaults(handler=handlers.serve)

    demo = commands.add_parser(
        "demo",
        help="build a demo warehouse and play weeks of agent proposals into a new ledger",
        description="Build a DuckDB demo warehouse and play simulated weeks of an agent's proposals, reviews, runs and "
        "outcomes into the ledger (which must be new or empty), then print how the ladder evolved.",
    )
    demo.add_argument("--weeks", type=int, default=8, help="how many weeks to simulate (default 8)")
    demo.add_argument("--seed", type=int, default=DEMO_SEED, help=f"random seed; the same seed plays the same weeks (default {DEMO_SEED})")
    demo.add_argument("--warehouse", default=".trustladder/demo_warehouse.duckdb", metavar="PATH", help="the demo warehouse to build (default .trustladder/demo_warehouse.duckdb)")
    demo.add_argument("--start", metavar="DATE", help="Monday of the first week, YYYY-MM-DD (default: the weeks end this Monday)")
    demo.add_argument("--replace", action="store_true", help="delete the ledger (and its .wal) first, and re-create the warehouse")
    _json(demo)
    demo.set_defaults(handler=handlers.demo)

    simulate = commands.add_parser(
        "simulate",
        help="re-decide stored proposals under a candidate ladder; records nothing",
        description="Replay every stored proposal under a candidate ladder and the trust state it would have had, and report what changes. "
        "The ladder in force is the global --ladder, given before the command.",
    )
    simulate.add_argument("--ladder", dest="candidate", required=True, metavar="CANDIDATE", help="the candidate ladder file, e.g. candidate.yaml")
    simulate.add_argument("--since", type=_moment, metavar="DATE", help="only proposals made at or after this date (midnight UTC) or ISO 8601 time")
    simulate.add_argument("--assume-sign-off", action="store_true", help="apply promotions that wait for a sign-off as soon as they are due (a forecast)")
    _json(simulate)
    simulate.set_defaults(handler=handlers.simulate)

    tick = commands.add_parser("tick", help="escalate or expire timed-out approvals", description="Process approval timeouts.")
    _json(tick)
    tick.set_defaults(handler=handlers.tick)


def _measure_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--warehouse", metavar="PATH", help="a DuckDB warehouse file: measure the blast radius on it, read-only")
    command.add_argument("--dagster-module", metavar="MODULE", help="a module exposing Dagster Definitions (e.g. dagster_project): list the assets downstream")
    command.add_argument("--time-budget", type=float, default=5.0, metavar="SECONDS", help="how long measuring may take (default 5)")
    command.add_argument("--price-per-tb", type=float, default=5.0, metavar="USD", help="price per TB scanned, for a backfill's estimated cost (default 5)")


def _moment(text: str) -> datetime:
    """A date (midnight UTC) or an ISO 8601 time (UTC when it has no offset)."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date or time; use e.g. 2026-12-31 or 2026-12-31T18:00:00Z") from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number of days, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _proposal_options(command: argparse.ArgumentParser) -> None:
    source = command.add_argument_group("what to run (exactly one)")
    source.add_argument("--sql", help="the SQL text")
    source.add_argument("--sql-file", help="a file with the SQL, or - for standard input")
    source.add_argument("--action", help="a pipeline action, e.g. retry_task")
    source.add_argument("--param", dest="params", action="append", metavar="KEY=VALUE", help="a pipeline action parameter (repeat)")
    command.add_argument(
        "--dialect",
        default=os.environ.get("TRUSTLADDER_DIALECT", DEFAULT_DIALECT),
        help=f"sqlglot dialect of the SQL (default {DEFAULT_DIALECT}, env TRUSTLADDER_DIALECT)",
    )
    command.add_argument("--agent", help="the proposing agent")
    command.add_argument("--confidence", type=_confidence, help="the agent's confidence, 0..1")
    command.add_argument("--reason", help="the agent's diagnosis")
    command.add_argument("--team", help="the team the agent acts for")
    command.add_argument("--target", help="the asset, job or table it touches")
    command.add_argument("--rollback", help="how to undo it")
    command.add_argument("--cost-usd", type=_cost_usd, help="estimated cost in USD, 0 or more (checked against escalations.cost_ceiling_usd)")
    command.add_argument("--context", action="append", metavar="KEY=VALUE", help="free-form context (repeat)")


def _confidence(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def _cost_usd(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of US dollars, got {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of US dollars, 0 or more, got {text}")
    return value


def _json(command: argparse.ArgumentParser) -> None:
    command.add_argument("--json", action="store_true", help="print JSON in the documented shape")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (also used as the console entry point)."""
    try:
        args = build_parser().parse_args(argv)
        code: int = args.handler(args, sys.stdout)
        return code
    except SupervisorError as error:
        print(f"trustladder: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("trustladder: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the outermost edge: one line, never a traceback
        if os.environ.get("TRUSTLADDER_DEBUG"):
            raise
        print(f"trustladder: internal error: {type(error).__name__}: {error} (set TRUSTLADDER_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_INTERNAL


def _read_sql(args: argparse.Namespace) -> str | bytes:
    if args.sql is not None:
        return str(args.sql)
    from supervisor.handlers import read_bytes

    return read_bytes(args.file, alternatives="--sql TEXT, or - to read standard input")


def _classify(args: argparse.Namespace, out: TextIO) -> int:
    import logging

    from classifiers import check_dialect, classify_sql

    logging.getLogger("sqlglot").setLevel(logging.CRITICAL)  # we report unsupported syntax ourselves
    dialect = check_dialect(args.dialect)
    hours = args.backfill_max_hours if args.backfill_max_hours is not None else _ladder_backfill_hours(args.ladder)
    if hours <= 0:
        raise UsageError(f"--backfill-max-hours must be positive, got {hours:g}")
    result = classify_sql(_read_sql(args), dialect=dialect, backfill_max_hours=hours)
    if args.json:
        json.dump(result.model_dump(mode="json"), out, indent=2)
        out.write("\n")
    else:
        from supervisor.render import render_classification

        out.write(render_classification(result))
    return EXIT_OK


def _ladder_backfill_hours(path: str) -> float:
    """The ladder's backfill limit; 24 when the default ladder file is absent (classify needs no ladder)."""
    from supervisor.trust_ladder import load_ladder

    if path == DEFAULT_LADDER and not os.path.exists(path):
        return 24.0
    return load_ladder(path).escalations.backfill_max_hours


if __name__ == "__main__":
    sys.exit(main())
