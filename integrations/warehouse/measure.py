"""The blast radius of a proposal, measured on a DuckDB warehouse without changing it.

The warehouse is opened read-only, each query runs against one time budget (a timer interrupts
the connection when it runs out), and every figure comes from a read: a DELETE or UPDATE is the
``COUNT(*)`` of its own predicate, a DROP, TRUNCATE or overwrite the table's rows and size, views
that read what changes come from ``duckdb_views()``, and assets downstream from the Dagster asset
graph when one is given. What cannot be measured says so in the note, never a guess.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
from sqlglot import exp

from integrations.warehouse.assets import downstream_assets
from integrations.warehouse.catalog import (
    Key,
    Relation,
    dependents,
    relations,
    table_bytes,
)
from integrations.warehouse.statements import (
    TARGET,
    Change,
    Plan,
    display,
    plan_changes,
    table_key,
)
from supervisor.errors import UsageError
from supervisor.ledger import StoredProposal
from supervisor.models import Category
from supervisor.packet import Measurement, TableFacts

if TYPE_CHECKING:
    from dagster import Definitions

    from supervisor.service import Measurer

TB = 1e12


class _OutOfTime(Exception):
    """The time budget ran out while ``doing``."""

    def __init__(self, doing: str) -> None:
        super().__init__(doing)
        self.doing = doing


class _Budget:
    """Runs queries on one connection until a deadline; a timer interrupts the one running then."""

    def __init__(self, conn: duckdb.DuckDBPyConnection, seconds: float) -> None:
        self.conn = conn
        self.deadline = time.monotonic() + seconds
        self.doing = "opening the warehouse"

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise _OutOfTime(self.doing)
        timer = threading.Timer(remaining, self.conn.interrupt)
        timer.daemon = True
        timer.start()
        try:
            return self.conn.execute(sql, list(params)).fetchall()
        except duckdb.InterruptException as error:
            raise _OutOfTime(self.doing) from error
        finally:
            timer.cancel()


def duckdb_measurer(
    *,
    database: str | Path,
    time_budget_s: float = 5.0,
    price_per_tb_usd: float = 5.0,
    definitions: Definitions | None = None,
) -> Measurer:
    """A measurer for ``Supervisor.packet(measure=...)`` on a DuckDB warehouse file.

    Args:
        database: the DuckDB file the proposals' SQL runs against; opened read-only per call.
        time_budget_s: how long one measurement may take in all; a query still running then is
            interrupted and the packet says it could not be measured in time.
        price_per_tb_usd: the price of scanning a terabyte, for a backfill's estimated cost.
        definitions: the Dagster code location, for the assets downstream of what changes.

    Returns:
        A function from a stored proposal to its measurement and the rollback options the
        warehouse offers.

    Raises:
        UsageError: the time budget is not positive or the price is negative.
    """
    if not time_budget_s > 0:
        raise UsageError(f"the time budget must be positive, got {time_budget_s!r} seconds; e.g. 5")
    if not price_per_tb_usd >= 0:
        raise UsageError(f"the price per TB must be zero or more, got {price_per_tb_usd!r}; e.g. 5")
    path = Path(database)

    def measure(stored: StoredProposal) -> tuple[Measurement | None, tuple[str, ...]]:
        return measure_proposal(stored, database=path, time_budget_s=time_budget_s, price_per_tb_usd=price_per_tb_usd, definitions=definitions)

    return measure


def measure_proposal(
    stored: StoredProposal,
    *,
    database: Path,
    time_budget_s: float,
    price_per_tb_usd: float,
    definitions: Definitions | None = None,
) -> tuple[Measurement, tuple[str, ...]]:
    """Measure one stored proposal on a DuckDB file (see ``duckdb_measurer``).

    Args:
        stored: the proposal as the ledger holds it.
        database: the DuckDB file.
        time_budget_s: the time budget in seconds.
        price_per_tb_usd: the price per TB scanned.
        definitions: the Dagster code location, if any.

    Returns:
        The measurement, and the rollback options the warehouse offers.
    """
    started = time.perf_counter()
    proposal = stored.proposal
    if proposal.sql is None:
        return _pipeline(stored, definitions, started), ()
    try:
        plan = plan_changes(proposal.sql, dialect=proposal.dialect or TARGET)
    except UsageError as error:
        return _failed(f"could not measure: {error}", started), ()
    if not plan.changes and not plan.unsupported:
        return Measurement(measured=True, note="it changes nothing in the warehouse", elapsed_ms=_ms(started)), ()
    conn, problem = _open(database)
    if conn is None:
        return _failed(problem, started), ()
    budget = _Budget(conn, time_budget_s)
    try:
        return _measure(stored, plan, budget, database=database, price_per_tb_usd=price_per_tb_usd, definitions=definitions, started=started)
    except _OutOfTime as stop:
        return _failed(f"could not measure within {time_budget_s:g} s: {stop.doing} was interrupted; measure off-peak or raise the time budget", started), ()
    except duckdb.Error as error:
        first = str(error).strip().splitlines()[0]
        return _failed(f"could not measure: DuckDB refused a read while {budget.doing}: {first}", started), ()
    finally:
        conn.close()


def _measure(
    stored: StoredProposal,
    plan: Plan,
    budget: _Budget,
    *,
    database: Path,
    price_per_tb_usd: float,
    definitions: Definitions | None,
    started: float,
) -> tuple[Measurement, tuple[str, ...]]:
    budget.doing = "reading the catalog"
    found = relations(budget.query)
    changes: list[tuple[Change, Key]] = []
    for change in plan.changes:
        key = table_key(change.table)
        if key not in found:
            if change.verb in ("CREATE OR REPLACE TABLE", "CREATE OR REPLACE VIEW", "DROP TABLE", "DROP VIEW"):
                continue  # creates something new, or drops what is not there (IF EXISTS): nothing changes
            return _failed(f"could not measure: {display(change.table)} is not a table in the warehouse {database}", started), ()
        changes.append((change, key))

    rows_total = 0
    counted: dict[str, int] = {}
    for change, key in changes:
        if change.count_sql is None:
            continue
        budget.doing = f"counting the rows {change.verb} changes in {display(change.table)}"
        [(count,)] = budget.query(change.count_sql)
        counted[change.count_sql] = int(count)
        rows_total += int(count)

    changed_tables = list(dict.fromkeys(key for change, key in changes if not found[key].is_view and change.kind != "view"))
    is_backfill = stored.assessment.span_hours is not None or Category.COSTLY_BACKFILL in stored.assessment.categories
    scanned_keys = [table_key(t) for change, _ in changes for t, _ in change.scans] if is_backfill else []
    scanned_keys = [key for key in dict.fromkeys(scanned_keys) if key in found and not found[key].is_view]
    budget.doing = "sizing the tables"
    sizes = table_bytes(budget.query, [*changed_tables, *scanned_keys], found)
    rows_in: dict[Key, int] = {}
    for key in dict.fromkeys([*changed_tables, *scanned_keys]):
        budget.doing = f"counting the rows of {_name(key)}"
        [(count,)] = budget.query(f'SELECT count(*) FROM "{key[0]}"."{key[1]}"')
        rows_in[key] = int(count)
    tables = tuple(TableFacts(name=_name(key), rows=rows_in[key], bytes=sizes.get(key)) for key in changed_tables)

    budget.doing = "reading view definitions"
    changed_keys = list(dict.fromkeys(key for _, key in changes))
    views = [_name(key) for key in dependents(found, changed_keys)]
    assets: tuple[str, ...] = ()
    if definitions is not None:
        assets = tuple(downstream_assets(definitions, [*(_name(key) for key in changed_keys), *views]))

    partitions = scanned = cost = None
    notes = [f"measured read-only on {database.name}"]
    if counted:
        notes.append("rows by COUNT(*) over each statement's own predicate in DuckDB SQL (a DROP, TRUNCATE or overwrite: every row it removes)")
    if len(counted) > 1:
        notes.append("statements counted one by one on the warehouse as it is now")
    if tables:
        notes.append("size from pragma_storage_info (on-disk column segments; a small table sharing a block may be over-estimated by up to one block)")
    notes.append("views from duckdb_views(), transitively")
    if is_backfill:
        span = stored.assessment.span_hours
        partitions = math.ceil(span / 24) if span else None
        budget.doing = "measuring the backfill's scan"
        scanned = _scanned(plan, budget, sizes, rows_in)
        cost = round(scanned / TB * price_per_tb_usd, 6)
        notes.append(
            "backfill: one partition per day of the span; scan: each table it reads, its size times the share of its rows "
            f"the statement's filter keeps (a joined table whole); cost at ${price_per_tb_usd:g} per TB"
        )
    measured = not plan.unsupported
    if plan.unsupported:
        notes.insert(0, f"could not measure {'; '.join(plan.unsupported)}; the figures below cover the rest")
    measurement = Measurement(
        measured=measured,
        note="; ".join(notes),
        elapsed_ms=_ms(started),
        rows_affected=rows_total if measured and counted else None,
        tables=tables,
        dependents=tuple(views),
        downstream_assets=assets,
        partitions=partitions,
        scanned_bytes=scanned,
        estimated_cost_usd=cost,
    )
    return measurement, _rollback(stored.proposal_id, changes, found, counted, database)


def _scanned(plan: Plan, budget: _Budget, sizes: dict[Key, int], rows_in: dict[Key, int]) -> int:
    """Bytes a backfill reads: per table, the largest share of its rows any statement keeps."""
    share: dict[Key, float] = {}
    for change in plan.changes:
        for table, count_sql in change.scans:
            key = table_key(table)
            if key not in sizes:
                continue
            total = rows_in.get(key, 0)
            if count_sql is None or total == 0:
                part = 1.0
            else:
                [(kept,)] = budget.query(count_sql)
                part = min(1.0, int(kept) / total)
            share[key] = max(share.get(key, 0.0), part)
    return int(sum(sizes[key] * part for key, part in share.items()))


def _rollback(proposal_id: str, changes: list[tuple[Change, Key]], found: dict[Key, Relation], counted: dict[str, int], database: Path) -> tuple[str, ...]:
    """What DuckDB offers to undo the changes: snapshots taken first, view definitions, a file copy."""
    suffix = "".join(c if c.isalnum() else "_" for c in proposal_id.lower())
    options: list[str] = []
    snapshotted: set[Key] = set()
    for change, key in changes:
        relation = found[key]
        if relation.is_view:
            definition = " ".join((relation.sql or "").split())
            options.append(f"{_name(key)} is a view: recreate it from its definition: {definition}")
            continue
        if key not in snapshotted:
            snapshotted.add(key)
            options.append(f"DuckDB has no time travel: snapshot {_name(key)} first: {_snapshot(key, f'before_{suffix}', None)}")
        if change.kind == "rows" and change.rows_sql is not None and change.verb in ("DELETE", "UPDATE"):
            rows = counted.get(change.count_sql or "", 0)
            copy = _snapshot(key, f"rows_{suffix}", change.rows_sql)
            undo = (
                f"; undo with INSERT INTO {_name(key)} SELECT * FROM {_name(key)}_rows_{suffix}"
                if change.verb == "DELETE"
                else "; undo by writing its values back, matched on the table's key"
            )
            options.append(f"or snapshot only the {rows:,} rows the {change.verb} changes: {copy}{undo}")
    if changes:
        options.append(f"or copy {database} while no writer has it open: DuckDB keeps the whole database in that one file")
    return tuple(options)


def _snapshot(key: Key, suffix: str, rows_sql: str | None) -> str:
    name = exp.to_table(f"{key[1]}_{suffix}", dialect=TARGET)
    if key[0] != "main":
        name.set("db", exp.to_identifier(key[0]))
    source = exp.maybe_parse(rows_sql, dialect=TARGET) if rows_sql else exp.select("*").from_(exp.table_(key[1], db=key[0] if key[0] != "main" else None))
    return exp.Create(this=name, kind="TABLE", expression=source).sql(dialect=TARGET)


def _pipeline(stored: StoredProposal, definitions: Definitions | None, started: float) -> Measurement:
    """Pipeline actions run in the orchestrator, not as SQL: only a backfill's partitions are counted."""
    proposal, assessment = stored.proposal, stored.assessment
    if proposal.action != "trigger_backfill":
        return _failed("not measured: pipeline actions are not measured on the warehouse", started)
    span = assessment.span_hours
    assets = tuple(downstream_assets(definitions, assessment.objects)) if definitions is not None else ()
    note = "a pipeline backfill runs nothing on the warehouse here: partitions are days of its requested range"
    note += "; downstream from the Dagster asset graph" if definitions is not None else "; pass the Dagster definitions for the assets downstream"
    return Measurement(
        measured=True,
        note=note if span else note.replace("partitions are days of its requested range", "its range is open-ended, so every partition may run"),
        elapsed_ms=_ms(started),
        downstream_assets=assets,
        partitions=math.ceil(span / 24) if span else None,
    )


def _open(database: Path) -> tuple[duckdb.DuckDBPyConnection | None, str]:
    if not database.is_file():
        return None, f"could not measure: no warehouse file at {database}; pass the DuckDB file the SQL runs against"
    try:
        return duckdb.connect(str(database), read_only=True), ""
    except duckdb.Error as error:
        text = str(error)
        if "lock" in text.lower():
            return None, f"could not measure: the warehouse file {database} is locked by a writer; try again"
        if "different configuration" in text:
            return None, f"could not measure: {database} is open for writing in this process; close that connection first"
        return None, f"could not measure: DuckDB cannot open {database}: {text.strip().splitlines()[0]}"


def _failed(note: str, started: float) -> Measurement:
    return Measurement(measured=False, note=note, elapsed_ms=_ms(started))


def _name(key: Key) -> str:
    return key[1] if key[0] == "main" else f"{key[0]}.{key[1]}"


def _ms(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)
