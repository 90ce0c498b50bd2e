"""Latency of measuring a proposal's blast radius on a DuckDB warehouse, against a bare count.

What is measured: the demo warehouse (``dagster_project.warehouse.seed`` plus the demo assets'
views and a view on a view) is built in a temporary directory, its orders and events copied
``--scale`` times over. Each demo statement is proposed once on a ledger there; then, in
``--rounds`` shuffled rounds, the measurer from ``integrations.warehouse.duckdb_measurer`` is
timed on the stored proposal (open read-only, catalog, counts, sizes, views, rollback options,
close), one call each. Baseline, interleaved call by call: ``duckdb.connect(file, read_only=True)``,
``SELECT count(*)`` of the statement's table, ``close()``: the least any read of the warehouse
costs. One row also measures with the demo's Dagster definitions, for the downstream assets.

Timed calls run after a full collection with the collector off. The machine may be running other
work; the load average is printed with the results. Run with trustladder importable (installed, or
``PYTHONPATH`` set to the repository root):

    python benchmarks/blast_radius.py [--rounds N] [--scale K]
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
from tables import print_summary, render  # benchmarks/tables.py, beside this script

from dagster_project.warehouse import seed
from integrations.warehouse import duckdb_measurer
from supervisor.ledger import StoredProposal
from supervisor.models import Proposal
from supervisor.service import Supervisor
from supervisor.trust_ladder import load_ladder

REPO_ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
VIEWS = (
    """CREATE OR REPLACE VIEW daily_revenue AS
       SELECT ordered_at::DATE AS day, sum(amount) AS revenue, count(*) AS orders
       FROM orders WHERE status IN ('shipped', 'delivered') GROUP BY 1""",
    """CREATE OR REPLACE VIEW customer_orders AS
       SELECT c.id, c.name, c.region, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS spend
       FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY ALL""",
    "CREATE OR REPLACE VIEW weekly_revenue AS SELECT date_trunc('week', day) AS week, sum(revenue) AS revenue FROM daily_revenue GROUP BY 1",
)
# (label, SQL, dialect, the table the baseline counts, with the Dagster definitions)
STATEMENTS: tuple[tuple[str, str, str, str, bool], ...] = (
    ("DELETE ... WHERE status", "DELETE FROM orders WHERE status = 'stuck'", "duckdb", "orders", False),
    ("UPDATE ... FROM (postgres)", "UPDATE orders o SET status = 'shipped' FROM customers c WHERE c.id = o.customer_id AND c.region = 'apac'", "postgres", "orders", False),
    ("DELETE ... USING (postgres)", "DELETE FROM events e USING customers c WHERE e.customer_id = c.id AND c.region = 'eu'", "postgres", "events", False),
    ("DROP TABLE", "DROP TABLE orders", "duckdb", "orders", False),
    ("TRUNCATE", "TRUNCATE TABLE events", "duckdb", "events", False),
    ("backfill INSERT ... SELECT, 10 days", "INSERT INTO events SELECT * FROM events WHERE ts >= TIMESTAMP '2026-07-01' AND ts < TIMESTAMP '2026-07-11'", "duckdb", "events", False),
    ("DELETE, with Dagster definitions", "DELETE FROM orders WHERE status = 'stuck'", "duckdb", "orders", True),
)


def percentile(values: Sequence[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


def build_warehouse(path: Path, scale: int) -> dict[str, int]:
    """The demo warehouse with its views, orders and events copied ``scale`` times; rows per table."""
    with duckdb.connect(str(path)) as conn:
        seed(conn)
        for copy in range(1, scale):
            conn.execute(f"INSERT INTO orders SELECT id + {copy * 5000}, customer_id, amount, status, ordered_at FROM orders WHERE id <= 5000")
            conn.execute(f"INSERT INTO events SELECT id + {copy * 20000}, customer_id, event_type, ts FROM events WHERE id <= 20000")
        for view in VIEWS:
            conn.execute(view)
        conn.execute("CHECKPOINT")
        return {t: int(conn.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0]) for t in ("customers", "orders", "events")}


def stored_proposals(directory: Path) -> list[StoredProposal]:
    sup = Supervisor(ladder=load_ladder(REPO_ROOT / "trust_ladder.yaml"), ledger=directory / "ledger.duckdb")
    stored = []
    for _, text, dialect, _, _ in STATEMENTS:
        recorded = sup.propose(Proposal(sql=text, dialect=dialect, agent="fixer", confidence=0.9), now=NOW)
        stored.append(sup.get(recorded.proposal_id)[0])
    return stored


def bare_count(path: Path, table: str) -> None:
    conn = duckdb.connect(str(path), read_only=True)
    conn.execute(f"SELECT count(*) FROM {table}").fetchall()
    conn.close()


def measure(path: Path, rounds: int) -> tuple[list[list[float]], list[list[float]], list[Any]]:
    """Per-call milliseconds of the measurer and of the baseline, per statement; and one result each."""
    import dagster_project

    plain = duckdb_measurer(database=path, time_budget_s=60)
    with_defs = duckdb_measurer(database=path, time_budget_s=60, definitions=dagster_project.defs)
    stored = stored_proposals(path.parent)
    calls: list[Callable[[], Any]] = [
        (lambda s=s, dagster=row[4]: (with_defs if dagster else plain)(s)) for s, row in zip(stored, STATEMENTS)
    ]
    results = [call()[0] for call in calls]  # warm-up, and the figures to print
    for (label, *_), result in zip(STATEMENTS, results):
        if result is None or not result.measured:
            sys.exit(f"blast_radius: {label} was not measured: {result.note if result else 'no measurement'}")
    measured_ms: list[list[float]] = [[] for _ in STATEMENTS]
    baseline_ms: list[list[float]] = [[] for _ in STATEMENTS]
    order = list(range(len(STATEMENTS)))
    shuffle = random.Random(0).shuffle
    for r in range(rounds):
        shuffle(order)
        for i in order:
            table = STATEMENTS[i][3]
            steps: list[tuple[list[float], Callable[[], object]]] = [
                (measured_ms[i], calls[i]),
                (baseline_ms[i], lambda table=table: bare_count(path, table)),
            ]
            for sink, fn in steps if (r + i) % 2 == 0 else reversed(steps):
                gc.collect()
                gc.disable()
                try:
                    start = time.perf_counter()
                    fn()
                    sink.append((time.perf_counter() - start) * 1000)
                finally:
                    gc.enable()
    return measured_ms, baseline_ms, results


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=50, help="timed calls per statement (default: %(default)s)")
    parser.add_argument("--scale", type=int, default=1, help="copies of the demo's orders and events (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.rounds < 2 or args.scale < 1:
        parser.error("--rounds must be at least 2 and --scale at least 1")
    logging.getLogger("sqlglot").setLevel(logging.CRITICAL)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    env = (f"Python {platform.python_version()}, duckdb {version('duckdb')}, sqlglot {version('sqlglot')}, dagster {version('dagster')}, "
           f"{os.cpu_count()} CPUs, load average {load}")
    print(f"{env}\n")
    with tempfile.TemporaryDirectory(prefix="trustladder-bench-") as tmp:
        path = Path(tmp) / "warehouse.duckdb"
        rows = build_warehouse(path, args.scale)
        size = path.stat().st_size
        measured_ms, baseline_ms, results = measure(path, args.rounds)
    print(f"## Blast radius on the demo warehouse ({', '.join(f'{t} {n:,}' for t, n in rows.items())} rows; file {size / 1e6:,.1f} MB; "
          f"{args.rounds} calls each)\n")
    headers = ["statement", "rows affected", "measure p50 (ms)", "measure p99 (ms)", "baseline p50 (ms)", "baseline p99 (ms)", "p50 ratio"]
    table = []
    for (label, *_), result, got, base in zip(STATEMENTS, results, measured_ms, baseline_ms):
        m50, m99, b50, b99 = percentile(got, 50), percentile(got, 99), percentile(base, 50), percentile(base, 99)
        affected = f"{result.rows_affected:,}" if result.rows_affected is not None else "-"
        table.append([label, affected, f"{m50:,.1f}", f"{m99:,.1f}", f"{b50:,.1f}", f"{b99:,.1f}", f"{m50 / b50:.1f}x"])
    print(render(headers, table))
    every = [x for got in measured_ms for x in got]
    print(f"\nall statements: measure p50 {percentile(every, 50):,.1f} ms, p99 {percentile(every, 99):,.1f} ms; "
          "baseline = duckdb.connect(read_only=True) + SELECT count(*) of the table + close\n")
    print_summary("blast_radius.py", argv, env, headers, table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
