"""``trustladder demo``: build the demo warehouse, play simulated weeks into a new ledger, print the figures.

``supervisor.handlers.demo`` loads this module with importlib when the command runs, so the core
package never imports an adapter. Nothing here imports dagster: the demo runs on a plain
``pip install -e .``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TextIO

import duckdb

from integrations.demo.figures import DemoReport, PendingRow, read_figures, share
from integrations.demo.simulation import Simulation
from integrations.warehouse.demo import DEMO_TABLES, create_views, seed
from supervisor.errors import LedgerError, UsageError
from supervisor.handlers import emit
from supervisor.service import Supervisor
from supervisor.store import Store
from supervisor.trust_ladder import load_ladder

DEFAULT_WAREHOUSE = ".trustladder/demo_warehouse.duckdb"
MAX_WEEKS = 52
# A table in the demo warehouse that says trustladder demo made it, so only such a file is ever re-created.
_MARKER = "trustladder_demo"


def run(args: argparse.Namespace, out: TextIO, *, now: datetime) -> int:
    """Run ``trustladder demo``.

    Args:
        args: the parsed options: ``weeks``, ``seed``, ``warehouse``, ``start``, ``replace``,
            ``json`` and the global ``ladder`` and ``ledger``.
        out: where the figures go; progress goes to standard error.
        now: the clock, read once by the command line; the proposals left waiting are made then.

    Returns:
        0.
    """
    if not 1 <= args.weeks <= MAX_WEEKS:
        raise UsageError(f"--weeks must be between 1 and {MAX_WEEKS}, got {args.weeks}")
    start = _start(args.start, weeks=args.weeks, now=now)
    ladder = load_ladder(args.ladder)  # a bad ladder stops the demo before any file is touched
    ledger, warehouse = Path(args.ledger), Path(args.warehouse)
    # Check both files before deleting either, so a refusal leaves everything as it was.
    doomed = [*_ledger_to_replace(ledger, replace=args.replace), *_warehouse_to_replace(warehouse)]
    for path in doomed:
        for file in (path, Path(f"{path}.wal")):
            file.unlink(missing_ok=True)
    began = time.perf_counter()
    sup = Supervisor(ladder=ladder, ledger=ledger)
    conn = _open_warehouse(warehouse)
    try:
        counts = seed(conn)
        create_views(conn)
        conn.execute(f"CREATE TABLE {_MARKER} AS SELECT ? AS seed, ?::TIMESTAMP AS start", [args.seed, start.replace(tzinfo=None)])
        _say(f"trustladder demo: {args.weeks} weeks from Monday {start:%Y-%m-%d}, seed {args.seed}; warehouse {warehouse} ({_rows(counts)}), ledger {ledger}")
        with sup.held():
            simulation = Simulation(sup, conn, start=start, weeks=args.weeks, seed=args.seed, progress=_say)
            waiting = simulation.run(leftovers_at=now)
        final_rows = {table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]) for table in DEMO_TABLES}
    finally:
        conn.close()
    report = _report(sup, args, start=start, waiting=waiting, warehouse_rows=final_rows)
    report = report.model_copy(update={"elapsed_s": round(time.perf_counter() - began, 1)})
    emit(out, args, report.model_dump(mode="json"), render(report))
    return 0


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _start(text: str | None, *, weeks: int, now: datetime) -> datetime:
    """The first simulated Monday: --start, else so that the last week ends this Monday."""
    if text is None:
        monday = (now - timedelta(days=now.weekday())).date()
        return datetime.combine(monday - timedelta(weeks=weeks), datetime.min.time(), tzinfo=UTC)
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise UsageError(f"--start {text!r} is not a date; pass a Monday as YYYY-MM-DD, e.g. 2026-09-07") from None
    if day.weekday() != 0:
        monday = day - timedelta(days=day.weekday())
        raise UsageError(f"--start {text} is a {day:%A}; weeks run Monday to Sunday, so pass a Monday, e.g. {monday.isoformat()}")
    return datetime.combine(day, datetime.min.time(), tzinfo=UTC)


def _ledger_to_replace(path: Path, *, replace: bool) -> list[Path]:
    """Refuse a ledger that holds history; with --replace, name it for deletion (only if it is a trustladder ledger)."""
    if not path.exists():
        return []
    try:
        with Store(path, lock_timeout_s=5.0).transaction() as db:
            row = db.execute("SELECT count(*) FROM proposals").fetchone()
    except LedgerError as error:
        raise UsageError(f"{error}; the demo only writes to a new ledger (pass --ledger PATH for a new file)") from None
    proposals = int(row[0]) if row else 0
    if proposals and not replace:
        raise UsageError(f"the ledger {path} already holds {proposals} proposals; pass --ledger PATH for a new file, or --replace to start over")
    return [path] if replace else []


def _warehouse_to_replace(path: Path) -> list[Path]:
    """Name an earlier demo warehouse for deletion (a new demo needs a fresh one); refuse any other file."""
    if not path.exists():
        return []
    try:
        conn = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise UsageError(f"cannot open the warehouse {path}: {_first_line(error)}; stop the process using it, or pass --warehouse PATH for a new file") from None
    try:
        made_by_demo = bool(conn.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [_MARKER]).fetchall()[0][0])
    finally:
        conn.close()
    if not made_by_demo:
        raise UsageError(f"{path} exists and was not made by trustladder demo, so the demo will not overwrite it; pass --warehouse PATH for a new file")
    return [path]


def _open_warehouse(path: Path) -> duckdb.DuckDBPyConnection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return duckdb.connect(str(path))
    except (OSError, duckdb.Error) as error:
        raise UsageError(f"cannot create the warehouse {path}: {_first_line(error)}; pass --warehouse PATH in a writable place") from None


def _first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _rows(counts: dict[str, int]) -> str:
    return ", ".join(f"{table} {count:,}" for table, count in counts.items())


def _report(sup: Supervisor, args: argparse.Namespace, *, start: datetime, waiting: list[str], warehouse_rows: dict[str, int]) -> DemoReport:
    by_week, changes, destructive, refused = read_figures(sup, start=start, weeks=args.weeks)
    end = start + timedelta(weeks=args.weeks)
    changed = {change.action_type for change in changes}
    final_levels = {row.action_type: row.level for row in sup.ladder_status(now=end) if row.action_type in changed}
    audit = sup.verify_audit()
    pending = [
        PendingRow(proposal_id=stored.proposal_id, action_type=stored.assessment.action_type, expires_at=request.expires_at, summary=stored.assessment.summary)
        for stored, request in sup.queue()
        if stored.proposal_id in waiting
    ]
    return DemoReport(
        seed=args.seed,
        weeks=args.weeks,
        start=start.date().isoformat(),
        ledger=str(args.ledger),
        warehouse=str(args.warehouse),
        warehouse_rows=warehouse_rows,
        by_week=tuple(by_week),
        level_changes=tuple(changes),
        needs_human_weeks_1_2=share(by_week, 1, 2),
        needs_human_after_week_4=share(by_week, 5, args.weeks),
        promoted=tuple(sorted({c.action_type for c in changes if c.to_level > c.from_level})),
        demotions=tuple(c for c in changes if c.to_level < c.from_level),
        final_levels=final_levels,
        destructive=destructive,
        refused_at_gate=refused,
        audit_ok=audit.ok,
        audit_entries=audit.entries,
        pending=tuple(pending),
        elapsed_s=0.0,
        next_commands=_next_commands(args, first_pending=pending[0].proposal_id if pending else None),
    )


def _next_commands(args: argparse.Namespace, *, first_pending: str | None) -> tuple[str, ...]:
    from supervisor.cli import DEFAULT_LADDER, DEFAULT_LEDGER

    prefix = "trustladder"
    if args.ladder != DEFAULT_LADDER:
        prefix += f" --ladder {args.ladder}"
    if args.ledger != DEFAULT_LEDGER:
        prefix += f" --ledger {args.ledger}"
    env = f"TRUSTLADDER_LEDGER={args.ledger} " if args.ledger != DEFAULT_LEDGER else ""
    show = f"{prefix} show {first_pending} --warehouse {args.warehouse}" if first_pending else None
    return tuple(
        command
        for command in (
            f"{prefix} queue",
            show,
            f"{prefix} ladder",
            f"{prefix} report",
            f"{prefix} simulate --ladder supervisor/examples/walkthrough.yaml",
            f"{prefix} serve --config integrations/web/serve.example.yaml --warehouse {args.warehouse}",
            f"{env}TRUSTLADDER_WAREHOUSE={args.warehouse} dagster dev -m dagster_project",
        )
        if command
    )


def render(report: DemoReport) -> str:
    """The demo's figures as text: the weeks, the level changes, the headline and what to try next."""
    lines = [f"trustladder demo: {report.weeks} simulated weeks from Monday {report.start}, seed {report.seed} ({report.elapsed_s:.1f} s)", ""]
    header = ("week", "from", "proposals", "needs human", "no human", "approved", "rejected", "expired/escalated", "failures", "incidents", "level changes")
    table = [
        (
            str(row.week),
            row.start[5:],
            str(row.proposals),
            f"{row.needs_human_share:.0%}" if row.needs_human_share is not None else "-",
            str(row.ran_without_human),
            str(row.approved),
            str(row.rejected),
            f"{row.expired}/{row.escalated}",
            str(row.failures),
            str(row.incidents),
            ", ".join(row.level_changes) or "-",
        )
        for row in report.by_week
    ]
    lines += _table(header, table)
    lines += ["", "level changes:"]
    lines += [f"  week {c.week}: {c.action_type} {c.from_level} -> {c.to_level}, {c.message}" for c in report.level_changes] or ["  none"]
    weeks_1_2 = _percent(report.needs_human_weeks_1_2)
    after_4 = _percent(report.needs_human_after_week_4)
    check = report.destructive
    waiting = check.proposed - check.approved - check.rejected - check.expired
    lines += [
        "",
        f"needed a human: {weeks_1_2} of proposals in weeks 1-2, {after_4} after week 4",
        "promoted: " + (", ".join(f"{name} (level {report.final_levels[name]} at the end)" for name in report.promoted) or "none"),
    ]
    lines += [f"demoted: week {d.week}: {d.action_type} {d.from_level} -> {d.to_level}, {d.message}" for d in report.demotions] or ["demoted: none"]
    lines += [
        (
            f"destructive proposals executed without approval: {check.executed_without_approval} (from the ledger: {check.proposed} destructive proposals, "
            f"{check.approved} approved, {check.executed} executed, {check.rejected} rejected, {check.expired} expired, {waiting} waiting)"
        ),
        f"runs the gate refused when they came to run: {report.refused_at_gate}"
        + (" (decided before their type was demoted; the agent proposed them again)" if report.refused_at_gate else ""),
        f"audit chain: {'ok' if report.audit_ok else 'BROKEN'}, {report.audit_entries:,} entries",
        f"warehouse {report.warehouse}: {_rows(report.warehouse_rows)}",
    ]
    if report.pending:
        expires = min(item.expires_at for item in report.pending)
        lines += ["", f"left waiting for a human: {len(report.pending)} proposals (they time out at {expires:%H:%M} UTC; then tick escalates or expires them)"]
        lines += [f"  {item.proposal_id}  {item.action_type:<26} {item.summary}" for item in report.pending]
    lines += ["", "try next:"] + [f"  {command}" for command in report.next_commands]
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return f"{value:.0%}" if value is not None else "n/a"


def _table(headers: tuple[str, ...], rows: Sequence[tuple[str, ...]]) -> list[str]:
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(len(headers))]
    align = [str.ljust, str.ljust] + [str.rjust] * (len(headers) - 3) + [str.ljust]
    lines = ["  ".join(a(h, w) for a, h, w in zip(align, headers, widths)).rstrip()]
    lines += ["  ".join(a(c, w) for a, c, w in zip(align, row, widths)).rstrip() for row in rows]
    return lines
