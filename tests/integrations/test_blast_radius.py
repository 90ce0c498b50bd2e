"""The blast radius measured on a real DuckDB warehouse: the counts match what the statements then
really change, dependents and downstream assets are exactly those that read the table, budgets and
locks give "could not measure", and the warehouse is unchanged afterwards."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
import sqlglot
from dagster import AssetSpec, Definitions, materialize
from dagster_duckdb import DuckDBResource

import dagster_project
from dagster_project.warehouse import customer_orders, daily_revenue, raw_tables
from integrations.warehouse import duckdb_measurer, load_definitions, plan_changes
from supervisor.cli import main
from supervisor.errors import UsageError
from supervisor.models import Proposal
from supervisor.packet import Packet
from supervisor.service import Supervisor
from supervisor.trust_ladder import load_ladder
from tests.supervisor.conftest import LADDER, T0

pytestmark = pytest.mark.slow

# Beside the demo's views: a view on a view, a view over events, a same-named table in another
# schema with its own view, and a view whose CTE is called orders but reads no table orders.
EXTRA = (
    "CREATE VIEW weekly_revenue AS SELECT date_trunc('week', day) AS week, sum(revenue) AS revenue FROM daily_revenue GROUP BY 1",
    "CREATE VIEW event_counts AS SELECT event_type, count(*) AS n FROM events GROUP BY 1",
    "CREATE SCHEMA archive",
    "CREATE TABLE archive.orders AS SELECT * FROM orders WHERE id <= 100",
    "CREATE VIEW archive.order_ids AS SELECT id FROM orders",  # unqualified: archive.orders
    "CREATE VIEW cte_trick AS WITH orders AS (SELECT 1 AS id) SELECT id FROM orders",
)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo warehouse, seeded and with the demo assets' views, materialized by Dagster once."""
    path = tmp_path_factory.mktemp("warehouse") / "warehouse.duckdb"
    result = materialize([raw_tables, daily_revenue, customer_orders], resources={"warehouse": DuckDBResource(database=str(path))})
    assert result.success
    with duckdb.connect(str(path)) as conn:
        for statement in EXTRA:
            conn.execute(statement)
    return path


@pytest.fixture
def warehouse(seeded: Path, tmp_path: Path) -> Path:
    """A fresh copy of the seeded warehouse for one test."""
    return Path(shutil.copy(seeded, tmp_path / "warehouse.duckdb"))


@pytest.fixture
def packet(tmp_path: Path) -> Callable[..., Packet]:
    """Propose on a fresh ledger, then build the packet measured with a DuckDB measurer."""
    sup = Supervisor(ladder=load_ladder(LADDER), ledger=tmp_path / "ledger.duckdb")

    def build(proposal: Proposal, **measurer: Any) -> Packet:
        recorded = sup.propose(proposal, now=T0)
        return sup.packet(recorded.proposal_id, measure=duckdb_measurer(**measurer))

    return build


def sql(text: str, dialect: str = "duckdb") -> Proposal:
    return Proposal(sql=text, dialect=dialect, agent="fixer", confidence=0.9, team="commerce")


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def checksums(path: Path) -> dict[str, tuple[int, str]]:
    """Rows and an order-independent digest of every table's contents."""
    with duckdb.connect(str(path), read_only=True) as conn:
        tables = conn.execute("SELECT schema_name, table_name FROM duckdb_tables() ORDER BY ALL").fetchall()
        return {
            f"{schema}.{name}": conn.execute(f'SELECT count(*), md5(coalesce(string_agg(t::VARCHAR, \'|\' ORDER BY t::VARCHAR), \'\')) FROM "{schema}"."{name}" t').fetchone()
            for schema, name in tables
        }


def run_for_real(path: Path, text: str, dialect: str) -> int:
    """Run the statements on a copy of the warehouse; the rows DuckDB reports changed, summed."""
    copy = path.with_name("executed.duckdb")
    shutil.copy(path, copy)
    changed = 0
    with duckdb.connect(str(copy)) as conn:
        for statement in sqlglot.transpile(text, read=dialect, write="duckdb"):
            changed += int(conn.execute(statement).fetchall()[0][0])
    copy.unlink()
    return changed


ROW_CASES = [
    ("delete by status", "DELETE FROM orders WHERE status = 'stuck'", "duckdb"),
    ("delete with an alias", "DELETE FROM orders AS o WHERE o.amount > 300 AND o.status <> 'delivered'", "duckdb"),
    ("delete, unscoped", "DELETE FROM events", "duckdb"),
    ("delete matching nothing", "DELETE FROM orders WHERE id < 0", "duckdb"),
    ("update with an IN subquery", "UPDATE orders SET status = 'placed' WHERE customer_id IN (SELECT id FROM customers WHERE region = 'eu')", "duckdb"),
    ("update ... from, postgres", "UPDATE orders o SET status = 'shipped' FROM customers c WHERE c.id = o.customer_id AND c.region = 'apac' AND o.status = 'stuck'", "postgres"),
    ("update ... from, several matches per row", "UPDATE customers c SET name = 'x' FROM orders o WHERE o.customer_id = c.id AND o.status = 'stuck'", "postgres"),
    ("delete ... using, postgres", "DELETE FROM events e USING customers c WHERE e.customer_id = c.id AND c.signed_up < DATE '2026-02-01'", "postgres"),
    ("delete with a CTE", "WITH us AS (SELECT id FROM customers WHERE region = 'us') DELETE FROM orders WHERE customer_id IN (SELECT id FROM us)", "duckdb"),
    ("snowflake date arithmetic", "DELETE FROM ORDERS WHERE ORDERED_AT < DATEADD(day, 10, '2026-10-01')", "snowflake"),
    ("mysql quoting and a nested subquery", "DELETE FROM `orders` WHERE id IN (SELECT id FROM (SELECT id FROM orders ORDER BY amount DESC LIMIT 10) AS top)", "mysql"),
    ("update a time window", "UPDATE events SET event_type = 'bot' WHERE event_type = 'page_view' AND ts >= TIMESTAMP '2026-07-01' AND ts < TIMESTAMP '2026-07-08'", "duckdb"),
    ("a script over two tables", "DELETE FROM events WHERE event_type = 'bot'; UPDATE customers SET region = 'eu' WHERE region = 'us'", "duckdb"),
    ("insert from a query", "INSERT INTO customers SELECT id + 1000, name, region, signed_up FROM customers WHERE region = 'eu'", "duckdb"),
    ("a qualified name", "UPDATE main.orders SET amount = 0 WHERE orders.status = 'placed'", "duckdb"),
]


@pytest.mark.parametrize(("text", "dialect"), [case[1:] for case in ROW_CASES], ids=[case[0] for case in ROW_CASES])
def test_rows_affected_is_what_the_statement_then_changes(warehouse: Path, packet: Callable[..., Packet], text: str, dialect: str) -> None:
    before = file_digest(warehouse)
    measured = packet(sql(text, dialect), database=warehouse).blast_radius.measured
    assert measured is not None and measured.measured, measured
    assert file_digest(warehouse) == before
    assert measured.rows_affected == run_for_real(warehouse, text, dialect)


@pytest.mark.parametrize(
    ("text", "dialect", "table", "rows"),
    [
        ("DROP TABLE orders", "duckdb", "orders", 5000),
        ("DROP TABLE IF EXISTS archive.orders", "postgres", "archive.orders", 100),
        ("TRUNCATE TABLE events", "duckdb", "events", 20000),
        ("TRUNCATE TABLE customers", "snowflake", "customers", 500),
        ("CREATE OR REPLACE TABLE orders AS SELECT * FROM orders WHERE status = 'stuck'", "duckdb", "orders", 5000),
        ("INSERT OVERWRITE TABLE events SELECT * FROM events WHERE event_type = 'bot'", "spark", "events", 20000),
    ],
)
def test_drop_truncate_and_overwrite_report_the_tables_true_rows_and_size(
    warehouse: Path, packet: Callable[..., Packet], text: str, dialect: str, table: str, rows: int
) -> None:
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        [(true_rows,)] = conn.execute(f"SELECT count(*) FROM {table}").fetchall()
        [(block_size, used_blocks)] = conn.execute("SELECT block_size, used_blocks FROM pragma_database_size()").fetchall()
    measured = packet(sql(text, dialect), database=warehouse).blast_radius.measured
    assert measured is not None and measured.measured, measured
    assert true_rows == rows
    assert measured.rows_affected == rows
    [facts] = measured.tables
    assert (facts.name, facts.rows) == (table, rows)
    assert facts.bytes is not None and 0 < facts.bytes <= block_size * used_blocks
    assert "pragma_storage_info" in measured.note


def test_a_script_reports_each_table_once_and_sums_its_rows(warehouse: Path, packet: Callable[..., Packet]) -> None:
    measured = packet(sql("TRUNCATE TABLE events; DROP TABLE customers; DELETE FROM events WHERE id < 10"), database=warehouse).blast_radius.measured
    assert measured is not None
    assert [t.name for t in measured.tables] == ["events", "customers"]
    assert measured.rows_affected == 20000 + 500 + 9


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DROP TABLE orders", ("customer_orders", "daily_revenue", "weekly_revenue")),
        ("DELETE FROM customers WHERE region = 'eu'", ("customer_orders",)),
        ("TRUNCATE TABLE events", ("event_counts",)),
        ("DELETE FROM archive.orders WHERE id = 1", ("archive.order_ids",)),
        ("DROP VIEW daily_revenue", ("weekly_revenue",)),
        ("DROP VIEW weekly_revenue", ()),
        ("ALTER TABLE orders ADD COLUMN note VARCHAR", ("customer_orders", "daily_revenue", "weekly_revenue")),
    ],
)
def test_dependents_are_exactly_the_views_that_read_it(warehouse: Path, packet: Callable[..., Packet], text: str, expected: tuple[str, ...]) -> None:
    measured = packet(sql(text), database=warehouse).blast_radius.measured
    assert measured is not None and measured.measured, measured
    assert measured.dependents == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("DELETE FROM orders WHERE status = 'stuck'", ("customer_orders", "daily_revenue")),
        ("DROP VIEW daily_revenue", ("daily_revenue",)),
        ("DELETE FROM customers WHERE id = 1", ("customer_orders",)),
        ("TRUNCATE TABLE events", ()),
    ],
)
def test_downstream_assets_from_the_demo_definitions(warehouse: Path, packet: Callable[..., Packet], text: str, expected: tuple[str, ...]) -> None:
    measured = packet(sql(text), database=warehouse, definitions=dagster_project.defs).blast_radius.measured
    assert measured is not None and measured.measured, measured
    assert measured.downstream_assets == expected


def test_downstream_follows_table_name_metadata_through_the_asset_graph(warehouse: Path, packet: Callable[..., Packet]) -> None:
    defs = Definitions(
        assets=[
            AssetSpec("raw_orders", metadata={"dagster/table_name": "main.orders"}),
            AssetSpec("clean_orders", deps=["raw_orders"]),
            AssetSpec(["reports", "revenue"], deps=["clean_orders"]),
            AssetSpec("raw_events", metadata={"dagster/table_name": "main.events"}),
        ]
    )
    measured = packet(sql("DELETE FROM orders WHERE id = 1"), database=warehouse, definitions=defs).blast_radius.measured
    assert measured is not None
    assert measured.downstream_assets == ("raw_orders", "clean_orders", "reports/revenue")


def test_a_sql_backfill_reports_span_partitions_scan_and_cost(warehouse: Path, packet: Callable[..., Packet]) -> None:
    text = "INSERT INTO events SELECT * FROM events WHERE ts >= TIMESTAMP '2026-07-01' AND ts < TIMESTAMP '2026-07-11'"
    built = packet(sql(text), database=warehouse, price_per_tb_usd=2000.0)
    measured = built.blast_radius.measured
    assert measured is not None and measured.measured, measured
    assert built.blast_radius.span_hours == 240
    assert measured.partitions == 10
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        [(kept,)] = conn.execute("SELECT count(*) FROM events WHERE ts >= TIMESTAMP '2026-07-01' AND ts < TIMESTAMP '2026-07-11'").fetchall()
    [events] = measured.tables
    assert measured.rows_affected == kept == run_for_real(warehouse, text, "duckdb")
    assert events.bytes is not None and measured.scanned_bytes == int(events.bytes * kept / 20000)
    assert measured.estimated_cost_usd == round(measured.scanned_bytes / 1e12 * 2000.0, 6)
    assert "per TB" in measured.note


def test_a_pipeline_backfill_counts_its_partitions_and_assets(warehouse: Path, packet: Callable[..., Packet]) -> None:
    backfill = Proposal(action="trigger_backfill", params={"asset": "daily_revenue", "start": "2026-01-01", "end": "2026-01-31"}, agent="ops", confidence=0.9)
    measured = packet(backfill, database=warehouse, definitions=dagster_project.defs).blast_radius.measured
    assert measured is not None and measured.measured
    assert (measured.partitions, measured.downstream_assets) == (31, ("daily_revenue",))


def test_other_pipeline_actions_are_not_measured_on_the_warehouse(warehouse: Path, packet: Callable[..., Packet]) -> None:
    retry = Proposal(action="retry_task", params={"job": "daily_etl", "task": "load"}, agent="ops", confidence=0.9)
    built = packet(retry, database=warehouse)
    assert built.blast_radius.measured is not None and not built.blast_radius.measured.measured
    assert "pipeline actions are not measured on the warehouse" in built.blast_radius.measured.note
    assert built.rollback_options == ()


def test_the_time_budget_interrupts_a_runaway_count(warehouse: Path, packet: Callable[..., Packet]) -> None:
    text = "DELETE FROM events WHERE id IN (SELECT a.id FROM events a, events b, events c WHERE hash(a.id + b.id * c.id) = 0)"
    started = time.monotonic()
    measured = packet(sql(text), database=warehouse, time_budget_s=0.3).blast_radius.measured
    assert time.monotonic() - started < 10
    assert measured is not None and not measured.measured
    assert measured.note.startswith("could not measure within 0.3 s: counting the rows DELETE changes in events was interrupted")
    assert measured.rows_affected is None


@pytest.fixture
def writer(warehouse: Path) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the warehouse open for writing."""
    hold = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('ready', flush=True); time.sleep(60)"
    with subprocess.Popen([sys.executable, "-c", hold, str(warehouse)], stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
            yield proc
        finally:
            proc.kill()


def test_a_locked_warehouse_is_not_measured_and_does_not_wait(warehouse: Path, writer: subprocess.Popen[str], packet: Callable[..., Packet]) -> None:
    started = time.monotonic()
    built = packet(sql("DELETE FROM orders WHERE status = 'stuck'"), database=warehouse)
    assert time.monotonic() - started < 5
    measured = built.blast_radius.measured
    assert measured is not None and not measured.measured
    assert measured.note == f"could not measure: the warehouse file {warehouse} is locked by a writer; try again"
    assert built.rollback_options == ()


@pytest.mark.parametrize(
    ("text", "dialect", "note"),
    [
        ("DELETE FROM shop.orders WHERE id = 1", "duckdb", "could not measure: shop.orders is not a table in the warehouse"),
        ("MERGE INTO orders t USING customers s ON t.customer_id = s.id WHEN MATCHED THEN DELETE", "snowflake", "could not measure statement 1: MERGE statements are not measured"),
        ("DELETE FROM orders WHERE id > 10 LIMIT 3", "mysql", "could not measure statement 1: a DELETE with LIMIT"),
        ("DELETE FROM orders WHERE nope = 1", "duckdb", "could not measure: DuckDB refused a read while counting the rows DELETE changes in orders: Binder Error"),
    ],
)
def test_what_cannot_be_measured_says_so(warehouse: Path, packet: Callable[..., Packet], text: str, dialect: str, note: str) -> None:
    measured = packet(sql(text, dialect), database=warehouse).blast_radius.measured
    assert measured is not None and not measured.measured
    assert measured.note.startswith(note), measured.note
    assert measured.rows_affected is None


def test_a_missing_warehouse_file(tmp_path: Path, packet: Callable[..., Packet]) -> None:
    measured = packet(sql("DELETE FROM orders WHERE id = 1"), database=tmp_path / "nope.duckdb").blast_radius.measured
    assert measured is not None and not measured.measured
    assert measured.note.startswith(f"could not measure: no warehouse file at {tmp_path / 'nope.duckdb'}")
    assert not (tmp_path / "nope.duckdb").exists()


def test_the_rollback_snapshots_restore_what_a_delete_removes(warehouse: Path, packet: Callable[..., Packet]) -> None:
    text = "DELETE FROM orders o USING customers c WHERE o.customer_id = c.id AND c.region = 'eu' AND o.status = 'stuck'"
    built = packet(sql(text, "postgres"), database=warehouse)
    measured, options = built.blast_radius.measured, built.rollback_options
    assert measured is not None and measured.rows_affected
    pid = built.proposal_id.lower().replace("-", "_")
    assert options[0] == f"DuckDB has no time travel: snapshot orders first: CREATE TABLE orders_before_{pid} AS SELECT * FROM orders"
    snapshot, undo = options[1].split(": ", 1)[1].split("; undo with ")
    assert options[1].startswith(f"or snapshot only the {measured.rows_affected:,} rows the DELETE changes")
    original = checksums(warehouse)["main.orders"]
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute(snapshot)
        assert conn.execute(f"SELECT count(*) FROM orders_rows_{pid}").fetchall() == [(measured.rows_affected,)]
        conn.execute(sqlglot.transpile(text, read="postgres", write="duckdb")[0])
        conn.execute(undo)
    assert checksums(warehouse)["main.orders"] == original


def test_measuring_every_case_leaves_the_warehouse_unchanged(warehouse: Path, packet: Callable[..., Packet]) -> None:
    before_file, before_tables = file_digest(warehouse), checksums(warehouse)
    for _, text, dialect in ROW_CASES:
        packet(sql(text, dialect), database=warehouse)
    for text in ("DROP TABLE orders", "TRUNCATE TABLE events", "CREATE OR REPLACE VIEW daily_revenue AS SELECT 1 AS day"):
        packet(sql(text), database=warehouse, definitions=dagster_project.defs)
    assert checksums(warehouse) == before_tables
    assert file_digest(warehouse) == before_file


def test_bad_settings_and_modules_are_one_line_errors() -> None:
    with pytest.raises(UsageError, match=r"the time budget must be positive, got 0 seconds"):
        duckdb_measurer(database="w.duckdb", time_budget_s=0)
    with pytest.raises(UsageError, match=r"the price per TB must be zero or more, got -1"):
        duckdb_measurer(database="w.duckdb", price_per_tb_usd=-1)
    with pytest.raises(UsageError, match=r"cannot import --dagster-module 'no_such_module'"):
        load_definitions("no_such_module")
    with pytest.raises(UsageError, match=r"--dagster-module 'json' has no Definitions; expose the one to use as 'defs'"):
        load_definitions("json")
    with pytest.raises(UsageError, match=r"the SQL does not parse as duckdb"):
        plan_changes("DELETE FROM WHERE", dialect="duckdb")


def test_show_measures_with_warehouse_and_dagster_module(warehouse: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import json

    base = ["--ladder", str(LADDER), "--ledger", str(tmp_path / "ledger.duckdb")]
    assert main([*base, "propose", "--sql", "DELETE FROM orders WHERE status = 'stuck'", "--agent", "fixer", "--confidence", "0.9"]) == 3
    pid = capsys.readouterr().out.strip()

    assert main([*base, "show", pid]) == 0
    assert "rows:" not in capsys.readouterr().out  # without --warehouse nothing is measured

    assert main([*base, "show", pid, "--warehouse", str(warehouse), "--dagster-module", "dagster_project", "--json"]) == 0
    measured = json.loads(capsys.readouterr().out)["blast_radius"]["measured"]
    expected = run_for_real(warehouse, "DELETE FROM orders WHERE status = 'stuck'", "duckdb")
    assert (measured["measured"], measured["rows_affected"]) == (True, expected)
    assert measured["downstream_assets"] == ["customer_orders", "daily_revenue"]

    assert main([*base, "show", pid, "--warehouse", str(warehouse)]) == 0
    text = capsys.readouterr().out
    assert f"rows:       {expected:,} affected" in text
    assert "read by:    customer_orders, daily_revenue, weekly_revenue" in text
    assert "DuckDB has no time travel: snapshot orders first" in text

    assert main([*base, "show", pid, "--dagster-module", "dagster_project"]) == 2
    assert "--dagster-module needs --warehouse" in capsys.readouterr().err
    assert main([*base, "show", pid, "--warehouse", str(warehouse), "--time-budget", "0"]) == 2
    assert "the time budget must be positive" in capsys.readouterr().err
