"""What each ``trustladder`` command does: parse its options into models, call the facade, print.

Exit codes of ``check`` and ``propose``: 0 may run now (allow or notify), 3 needs approval,
4 denied. ``audit verify`` exits 1 when the chain is broken. Bad input raises a
``SupervisorError``, which the CLI prints on one line with exit 2.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from supervisor.errors import UsageError
from supervisor.models import Decision, Outcome, PolicyDecision, Proposal

EXIT_OK = 0
EXIT_BROKEN = 1
EXIT_NEEDS_APPROVAL = 3
EXIT_DENIED = 4
DECISION_EXIT = {
    Decision.ALLOW: EXIT_OK,
    Decision.NOTIFY: EXIT_OK,
    Decision.REQUIRE_APPROVAL: EXIT_NEEDS_APPROVAL,
    Decision.DENY: EXIT_DENIED,
}


def now() -> datetime:
    """The CLI is an edge: it reads the clock once per command and passes it in."""
    return datetime.now(UTC)


def supervisor_for(args: argparse.Namespace) -> Any:
    """The facade for the --ladder and --ledger options."""
    from supervisor.service import Supervisor

    return Supervisor.from_paths(ladder=args.ladder, ledger=args.ledger)


def emit(out: TextIO, args: argparse.Namespace, payload: dict[str, Any], text: str) -> None:
    """JSON with --json, else the text."""
    if getattr(args, "json", False):
        json.dump(payload, out, indent=2, default=str)
        out.write("\n")
    else:
        out.write(text if text.endswith("\n") else text + "\n")


def proposal_from(args: argparse.Namespace) -> Proposal:
    """Build a proposal from the proposal options."""
    from pydantic import ValidationError

    from classifiers import check_dialect

    sources = [name for name in ("sql", "sql_file", "action") if getattr(args, name) is not None]
    if len(sources) != 1:
        raise UsageError("give exactly one of --sql TEXT, --sql-file FILE or --action NAME")
    if args.params and args.action is None:
        raise UsageError("--param only goes with --action NAME")
    sql = _read_text(args.sql_file) if args.sql_file is not None else args.sql
    if sql is not None and not sql.strip():
        raise UsageError("the SQL is empty; pass the statement to check with --sql TEXT or --sql-file FILE")
    context = dict(_pairs(args.context, "--context"))
    if args.cost_usd is not None:
        context["estimated_cost_usd"] = args.cost_usd
    try:
        return Proposal(
            sql=sql,
            dialect=check_dialect(args.dialect) if sql is not None else None,
            action=args.action,
            params=dict(_pairs(args.params, "--param")),
            agent=args.agent,
            reason=args.reason,
            confidence=args.confidence,
            team=args.team,
            target=args.target,
            rollback=args.rollback,
            context=context,
        )
    except ValidationError as error:
        first = error.errors()[0]
        raise UsageError(f"--{'-'.join(str(p) for p in first['loc']) or 'proposal'}: {first['msg']}") from None


def _pairs(items: list[str] | None, option: str) -> list[tuple[str, str]]:
    pairs = []
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"{option} {item!r} is not KEY=VALUE; write it as {option} name=value")
        pairs.append((key.strip(), value))
    return pairs


def read_bytes(path: str, *, alternatives: str) -> bytes:
    """A file's bytes, or standard input for ``-``; a missing or unreadable file is a UsageError.

    Args:
        path: the file, or ``-``.
        alternatives: what else the user could pass, for the message.

    Returns:
        The bytes.
    """
    try:
        return sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except FileNotFoundError:
        raise UsageError(f"no such file: {path}; pass an existing file, or {alternatives}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a directory; pass a SQL file, or {alternatives}") from None
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}; check the path and its permissions") from None


def _read_text(path: str) -> str:
    data = read_bytes(path, alternatives="--sql TEXT")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise UsageError(f"{path} is not UTF-8 (byte {error.start}); save it as UTF-8") from None


def decision_json(decision: PolicyDecision, proposal_id: str | None = None) -> dict[str, Any]:
    """The contract's ``check --json`` / ``propose --json`` shape."""
    body = decision.model_dump(mode="json")
    return {"proposal_id": proposal_id, **body} if proposal_id else body


def check(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder check``: the decision, recording nothing."""
    from supervisor.render import render_decision

    decision = supervisor_for(args).check(proposal_from(args), now=now())
    emit(out, args, decision_json(decision), render_decision(decision))
    return DECISION_EXIT[decision.decision]


def propose(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder propose``: record the proposal and its decision; print its id."""
    from supervisor.render import render_decision

    recorded = supervisor_for(args).propose(proposal_from(args), now=now())
    if args.json:
        emit(out, args, decision_json(recorded.decision, recorded.proposal_id), "")
    else:
        # the id alone on stdout, so `id=$(trustladder propose ...)` works; the decision is for the human
        out.write(recorded.proposal_id + "\n")
        sys.stderr.write(render_decision(recorded.decision, proposal_id=recorded.proposal_id))
    return DECISION_EXIT[recorded.decision.decision]


def queue(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder queue``: proposals awaiting a human."""
    from supervisor.render import queue_json, render_queue

    pending = supervisor_for(args).queue()
    emit(out, args, queue_json(pending), render_queue(pending))
    return EXIT_OK


def show(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder show ID [--warehouse PATH [--dagster-module MODULE]]``: the approval packet."""
    from supervisor.render import render_packet

    measure = _warehouse_measurer(args)
    packet = supervisor_for(args).packet(args.id, measure=measure)
    emit(out, args, packet.model_dump(mode="json"), render_packet(packet))
    return EXIT_OK


def _warehouse_measurer(args: argparse.Namespace) -> Any:
    """The warehouse adapter's measurer for ``show``/``serve --warehouse``, or None without the option.

    The core never imports ``integrations`` (tests/test_layout.py). The command line is an edge:
    here, and only here, it loads the adapter by name, and only when asked to measure.
    """
    if args.warehouse is None:
        if args.dagster_module is not None:
            raise UsageError("--dagster-module needs --warehouse: the assets downstream are found from the tables the warehouse names")
        return None
    adapter = importlib.import_module("integrations.warehouse")
    definitions = adapter.load_definitions(args.dagster_module) if args.dagster_module is not None else None
    return adapter.duckdb_measurer(
        database=args.warehouse, time_budget_s=args.time_budget, price_per_tb_usd=args.price_per_tb, definitions=definitions
    )


def approve(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder approve ID --by WHO``."""
    from supervisor.render import render_request

    request = supervisor_for(args).approve(args.id, by=args.by, reason=args.reason, now=now())
    emit(out, args, request.model_dump(mode="json"), render_request(request))
    return EXIT_OK


def reject(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder reject ID --by WHO --reason TEXT``."""
    from supervisor.render import render_request

    request = supervisor_for(args).reject(args.id, by=args.by, reason=args.reason, now=now())
    emit(out, args, request.model_dump(mode="json"), render_request(request))
    return EXIT_OK


def outcome(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder outcome ID RESULT``."""
    record = supervisor_for(args).record_outcome(args.id, Outcome(args.result), note=args.note, by=args.by, now=now())
    text = f"recorded {record.outcome.value} for {record.proposal_id} ({record.action_type} at level {record.level})"
    if record.level_change is not None:
        change = record.level_change
        text += f"\n{change.action_type}: level {change.from_level} -> {change.to_level} ({change.reason}: {change.message})"
    emit(out, args, record.model_dump(mode="json"), text)
    return EXIT_OK


def review(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder review [ID good|bad --by WHO [--note TEXT]]``: the sampled-review queue, or a verdict."""
    from supervisor.render import render_review, render_reviews
    from supervisor.review import Verdict

    supervisor = supervisor_for(args)
    if args.id is None:
        found = supervisor.reviews(pending=None if args.all else True)
        emit(out, args, {"reviews": [r.model_dump(mode="json") for r in found]}, render_reviews(found))
        return EXIT_OK
    if args.verdict is None or not args.by:
        raise UsageError("record a review as 'trustladder review ID good|bad --by WHO [--note TEXT]'")
    result = supervisor.review(args.id, Verdict(args.verdict), by=args.by, note=args.note, now=now())
    emit(out, args, result.model_dump(mode="json"), render_review(result))
    return EXIT_OK


def ladder(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder ladder`` and its ``promote`` / ``demote`` sign-offs."""
    from supervisor.render import render_ladder

    supervisor = supervisor_for(args)
    if args.ladder_command == "promote":
        change = supervisor.promote(args.action_type, by=args.by, now=now())
    elif args.ladder_command == "demote":
        change = supervisor.demote(args.action_type, by=args.by, reason=args.reason, now=now())
    else:
        rows = supervisor.ladder_status(now=now())
        emit(out, args, {"action_types": [row.model_dump(mode="json") for row in rows]}, render_ladder(rows))
        return EXIT_OK
    emit(out, args, change.model_dump(mode="json"), f"{change.action_type}: level {change.from_level} -> {change.to_level} ({change.message})")
    return EXIT_OK


def standing(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder standing grant`` / ``list`` / ``revoke``."""
    supervisor = supervisor_for(args)
    if args.standing_command == "grant":
        approval = supervisor.grant_standing(
            action_types=tuple(args.action_types),
            objects=tuple(args.objects or ("*",)),
            agents=tuple(args.agents or ("*",)),
            by=args.by,
            until=args.until,
            reason=args.reason,
            now=now(),
        )
        emit(out, args, approval.model_dump(mode="json"), f"granted {approval.standing_id}: {approval.scope()} until {approval.expires_at:%Y-%m-%d %H:%M} UTC")
        return EXIT_OK
    if args.standing_command == "revoke":
        approval = supervisor.revoke_standing(args.standing_id, by=args.by, reason=args.reason, now=now())
        emit(out, args, approval.model_dump(mode="json"), f"revoked {approval.standing_id}")
        return EXIT_OK
    found = supervisor.standing_approvals(active_at=now() if args.active else None)
    lines = [
        f"{a.standing_id}  {a.scope()}  until {a.expires_at:%Y-%m-%d %H:%M}  by {a.granted_by}" + (f"  revoked by {a.revoked_by}" if a.revoked_by else "")
        for a in found
    ]
    emit(out, args, {"standing_approvals": [a.model_dump(mode="json") for a in found]}, "\n".join(lines) or "no standing approvals")
    return EXIT_OK


def report(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder report [--since DATE | --days N] [--html FILE] [--json]``: how the ladder is doing.

    Text by default; ``--json`` prints the whole ``Report``; ``--html FILE`` writes a
    self-contained page with charts and prints its path (after the JSON, with ``--json``).
    """
    from datetime import timedelta

    from supervisor.report_text import render_report

    moment = now()
    target = _html_target(args.html) if args.html is not None else None
    since = moment - timedelta(days=args.days) if args.days is not None else args.since
    found = supervisor_for(args).report(now=moment, since=since)
    if target is not None:
        from supervisor.report_html import render_report_html

        try:
            target.write_text(render_report_html(found), encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot write the report to {target} ({error.strerror}); pass --html FILE in a writable directory") from None
    if args.json:
        emit(out, args, found.model_dump(mode="json"), "")
    elif target is None:
        out.write(render_report(found))
    if target is not None:
        (sys.stderr if args.json else out).write(f"wrote {target}\n")
    return EXIT_OK


def _html_target(path: str) -> Path:
    """Where --html writes, checked before the ledger is read so a typo fails at once."""
    if not path.strip():
        raise UsageError("--html needs a file name, e.g. --html report.html")
    target = Path(path)
    if path.endswith(("/", "\\")) or target.is_dir():
        raise UsageError(f"--html {path!r} is a directory; pass a file name, e.g. --html report.html")
    if not target.parent.is_dir():
        raise UsageError(f"cannot write the report to {path}: directory {target.parent} does not exist; create it or pass another --html FILE")
    return target


def audit(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder audit verify`` / ``audit export``."""
    supervisor = supervisor_for(args)
    if args.audit_command == "export":
        with ExitStack() as stack:
            target = stack.enter_context(open(args.output, "w", encoding="utf-8")) if args.output not in (None, "-") else out
            for entry in supervisor.audit_entries():
                target.write(entry.model_dump_json() + "\n")
        return EXIT_OK
    report = supervisor.verify_audit()
    if report.ok:
        text = f"audit chain ok: {report.entries} entries"
    else:
        text = f"audit chain broken at entry {report.first_bad_seq}: {report.problem}"
    emit(out, args, report.model_dump(mode="json"), text)
    return EXIT_OK if report.ok else EXIT_BROKEN


def tick(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder tick``: escalate or expire timed-out approval requests."""
    report = supervisor_for(args).tick(now=now())
    lines = [f"escalated {r.proposal_id} to {r.group}" for r in report.escalated]
    lines += [f"expired {r.proposal_id}: {r.note}" for r in report.expired]
    lines += [f"lapsed {r.proposal_id}: {r.note}" for r in report.lapsed]
    emit(out, args, report.model_dump(mode="json"), "\n".join(lines) or "nothing timed out")
    return EXIT_OK


def simulate(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder simulate --ladder CANDIDATE``: re-decide the ledger's proposals under a candidate ladder.

    The global ``--ladder`` is the ladder in force, shown for comparison; without one (no
    ./trust_ladder.yaml here) the replay still runs. Nothing is recorded.
    """
    from supervisor.cli import DEFAULT_LADDER
    from supervisor.replay_report import render_replay, replay_json
    from supervisor.service import Supervisor
    from supervisor.trust_ladder import load_ladder

    candidate = load_ladder(args.candidate)
    if not Path(args.ledger).is_file():
        raise UsageError(f"no ledger at {args.ledger} to replay; pass --ledger PATH (env TRUSTLADDER_LEDGER) before 'simulate'")
    current = None if args.ladder == DEFAULT_LADDER and not Path(args.ladder).exists() else load_ladder(args.ladder)
    supervisor = Supervisor(ladder=current or candidate, ledger=args.ledger)
    with _ProgressBar(sys.stderr) as progress:
        replay = supervisor.simulate(candidate, since=args.since, assume_sign_off=args.assume_sign_off, progress=progress)
    if current is None:
        replay = replay.model_copy(update={"current_policy_version": None})
    emit(out, args, replay_json(replay), render_replay(replay))
    return EXIT_OK


class _ProgressBar:
    """Progress of a long replay on standard error: a bar redrawn in place on a terminal, else a line per stage for large runs.

    Standard output carries only the report, so ``--json`` stays parseable.
    """

    LARGE = 100_000  # rows in a stage that make a run worth reporting on when stderr is not a terminal
    DELAY_S = 0.5  # a terminal sees nothing for runs shorter than this

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.tty = stream.isatty()
        self.started = time.monotonic()
        self.drawn = 0.0
        self.stage = ""
        self.large = False
        self.width = 0

    def __enter__(self) -> _ProgressBar:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.tty and self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()

    def __call__(self, stage: str, done: int, total: int) -> None:
        now = time.monotonic()
        self.large = self.large or total >= self.LARGE
        if self.tty:
            if now - self.started < self.DELAY_S or (now - self.drawn < 0.1 and done < total):
                return
            filled = 30 * done // total if total else 30
            line = f"\rtrustladder simulate: {stage:<20} [{'#' * filled}{'.' * (30 - filled)}] {done:,}/{total:,}"
            self.width = max(self.width, len(line))
            self.stream.write(line.ljust(self.width))
            self.drawn = now
        elif self.large and stage != self.stage:
            self.stream.write(f"trustladder simulate: {stage} ({total:,}) after {now - self.started:.1f} s\n")
        else:
            return
        self.stage = stage
        self.stream.flush()


def notify(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder notify slack``: deliver pending notifications.

    The Slack adapter lives in ``integrations.notify``; the core never imports an adapter at
    module level, so it is loaded by name only when this command runs.
    """
    import importlib

    try:
        command = importlib.import_module("integrations.notify.command")
    except ModuleNotFoundError as error:
        if not (error.name or "").startswith("integrations"):
            raise
        raise UsageError("the notification adapters (integrations.notify) are not installed; install trustladder with its integrations") from None
    code: int = command.run(args, out)
    return code


# The web adapter's own imports; a missing one means the web extra is not installed.
_WEB_DEPENDENCIES = {"fastapi", "starlette", "uvicorn", "jinja2", "multipart", "python_multipart", "markupsafe"}


def serve(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder serve``: the web inbox and JSON API.

    The CLI is the composition root, so it is the one place in ``supervisor/`` that reaches the web
    adapter, and only by name at call time: the core never imports a web framework.
    """
    import importlib

    try:
        web = importlib.import_module("integrations.web")
    except ImportError as error:
        if (error.name or "").split(".")[0] not in _WEB_DEPENDENCIES:
            raise
        raise UsageError(f"serve needs the web extra ({error.name} is missing): pip install 'trustladder[web]'") from None
    config = web.load_serve_config(args.config)
    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be between 1 and 65535, got {args.port}")
    supervisor = supervisor_for(args)
    if args.host not in web.LOCAL_HOSTS:
        print(f"trustladder: warning: binding {args.host}:{args.port}, reachable beyond this machine; put it behind TLS and set secure_cookies: true", file=sys.stderr)
    print(f"trustladder: serving the web inbox on http://{args.host}:{args.port}/ (API docs at /api/docs)", file=sys.stderr, flush=True)
    web.serve(supervisor=supervisor, config=config, host=args.host, port=args.port, measure=_warehouse_measurer(args))
    return EXIT_OK


def demo(args: argparse.Namespace, out: TextIO) -> int:
    """``trustladder demo``: build the demo warehouse and play simulated weeks into a new ledger.

    The demo drives the facade and a DuckDB warehouse, so it lives with the adapters
    (``integrations.demo``) and is loaded by name only when this command runs.
    """
    command = importlib.import_module("integrations.demo.command")
    code: int = command.run(args, out, now=now())
    return code
