"""What a DuckDB warehouse says about its tables and views, read through one read-only connection.

Sizes are DuckDB's own on-disk layout: ``pragma_storage_info`` lists every column segment with
the block it lives in and its offset there. A segment is taken to end where the next segment in
the same block starts (whichever table that belongs to), the last one in a block at the block's
end, and overflow blocks count whole; so a small table sharing a block is over-estimated by at
most one block.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from integrations.warehouse.statements import table_key

Query = Callable[[str, Sequence[Any]], list[tuple[Any, ...]]]
Key = tuple[str, str]


@dataclass(frozen=True)
class Relation:
    """A table or view in the warehouse."""

    key: Key
    is_view: bool
    sql: str | None = None


def relations(query: Query) -> dict[Key, Relation]:
    """Every user table and view of the warehouse's current database, by (schema, name).

    Args:
        query: runs one read-only query with parameters and returns its rows.

    Returns:
        Tables and views, views with their ``CREATE VIEW`` text.
    """
    found: dict[Key, Relation] = {}
    rows = query(
        """SELECT schema_name, table_name, false, NULL FROM duckdb_tables() WHERE NOT internal AND database_name = current_database()
           UNION ALL
           SELECT schema_name, view_name, true, sql FROM duckdb_views() WHERE NOT internal AND database_name = current_database()""",
        [],
    )
    for schema, name, is_view, sql in rows:
        key = (str(schema).lower(), str(name).lower())
        found[key] = Relation(key=key, is_view=bool(is_view), sql=sql)
    return found


def table_bytes(query: Query, keys: Iterable[Key], found: dict[Key, Relation]) -> dict[Key, int]:
    """On-disk bytes of each table, estimated from its column segments (see the module docstring).

    Args:
        query: runs one read-only query with parameters and returns its rows.
        keys: the tables to size.
        found: the warehouse's relations (``relations``).

    Returns:
        Bytes per table; a table never written to disk yet has 0.
    """
    wanted = set(keys)
    if not wanted:
        return {}
    [(block_size,)] = query("SELECT block_size FROM pragma_database_size()", [])
    # Every table's segments are needed to know where each segment in a shared block ends.
    everything = [key for key, rel in found.items() if not rel.is_view]
    starts: dict[int, list[int]] = defaultdict(list)
    owned: dict[Key, list[tuple[int, int]]] = defaultdict(list)
    extra: dict[Key, int] = defaultdict(int)
    for key in everything:
        rows = query(
            "SELECT block_id, block_offset, additional_block_ids FROM pragma_storage_info(?) WHERE persistent AND block_id >= 0",
            [f'"{key[0]}"."{key[1]}"'],
        )
        for block, offset, additional in rows:
            starts[int(block)].append(int(offset))
            if key in wanted:
                owned[key].append((int(block), int(offset)))
                extra[key] += len(additional or ())
    ends = {block: sorted(set(offsets)) for block, offsets in starts.items()}
    sizes: dict[Key, int] = {}
    for key in wanted:
        total = extra[key] * int(block_size)
        for block, offset in owned[key]:
            following = [o for o in ends[block] if o > offset]
            total += (following[0] if following else int(block_size)) - offset
        sizes[key] = total
    return sizes


def view_reads(relation: Relation) -> set[Key]:
    """The tables and views a view's definition reads, CTE names excluded.

    Args:
        relation: a view with its ``CREATE VIEW`` text.

    Returns:
        (schema, name) keys; empty when the definition does not parse.
    """
    if not relation.sql:
        return set()
    try:
        parsed = sqlglot.parse_one(relation.sql, read="duckdb")
    except SqlglotError:
        return set()
    body = parsed.expression if isinstance(parsed, exp.Create) and parsed.expression is not None else parsed
    ctes = {cte.alias_or_name.lower() for cte in body.find_all(exp.CTE)}
    # an unqualified name resolves in the view's own schema
    schema = relation.key[0]
    return {table_key(t, default_schema=schema) for t in body.find_all(exp.Table) if t.name and (t.db or t.name.lower() not in ctes)}


def dependents(found: dict[Key, Relation], changed: Iterable[Key]) -> list[Key]:
    """Views that read a changed object, directly or through other views, nearest first.

    Args:
        found: the warehouse's relations (``relations``).
        changed: the tables and views a proposal changes.

    Returns:
        View keys in breadth-first order, each once, never one of ``changed``.
    """
    reads = {key: view_reads(rel) for key, rel in found.items() if rel.is_view}
    seen = set(changed)
    frontier = set(changed)
    ordered: list[Key] = []
    while frontier:
        layer = sorted(key for key, sources in reads.items() if key not in seen and sources & frontier)
        ordered += layer
        seen.update(layer)
        frontier = set(layer)
    return ordered
