"""What each statement of a proposal changes, as DuckDB queries that only read.

Pure sqlglot: a statement is parsed in the proposal's dialect and each change it makes becomes a
``Change`` whose SQL is generated for DuckDB. A DELETE or UPDATE becomes ``SELECT COUNT(*)`` over
the same predicate; its joined sources (``DELETE ... USING``, ``UPDATE ... FROM``) become an
``EXISTS`` over them, so each target row counts once, as the statement changes each row once.
Shapes whose rows cannot be counted exactly this way (``LIMIT`` on a DELETE, MySQL's multi-table
UPDATE, MERGE) are reported as unsupported rather than guessed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

from supervisor.errors import UsageError

TARGET = "duckdb"
# rows: the predicate selects the rows it changes; table: it replaces or removes all of a table's
# rows; view: it drops or replaces a view; structure: it alters a table without touching rows.
Kind = Literal["rows", "table", "view", "structure"]
# Statements that change nothing in the warehouse.
_READS = (exp.Query, exp.Describe, exp.Show, exp.Transaction, exp.Commit, exp.Rollback, exp.Use, exp.Set, exp.Pragma)


@dataclass(frozen=True)
class Change:
    """One object a statement changes, with the read-only DuckDB queries that measure it.

    Attributes:
        kind: how it changes the object.
        verb: DELETE, UPDATE, INSERT, DROP TABLE, TRUNCATE, ...
        table: the object as the statement names it, alias removed.
        count_sql: ``SELECT COUNT(*)`` of the rows it changes (removes, for kind ``table``).
        rows_sql: ``SELECT`` of the existing rows it changes, for a snapshot.
        scans: the tables it reads, each with a ``COUNT(*)`` of the rows its filter keeps, or
            None when it reads them whole.
    """

    kind: Kind
    verb: str
    table: exp.Table
    count_sql: str | None = None
    rows_sql: str | None = None
    scans: tuple[tuple[exp.Table, str | None], ...] = ()


@dataclass(frozen=True)
class Plan:
    """The changes of a whole script and the statements that cannot be measured."""

    changes: tuple[Change, ...]
    unsupported: tuple[str, ...]


def plan_changes(sql: str, *, dialect: str) -> Plan:
    """Turn a script into the changes it makes, each with DuckDB queries that measure it.

    Args:
        sql: the proposal's SQL.
        dialect: the sqlglot dialect it is written in.

    Returns:
        The changes in statement order, and one line per statement that cannot be measured.

    Raises:
        UsageError: the SQL does not parse in ``dialect``.
    """
    try:
        statements = sqlglot.parse(sql, read=dialect)
    except ParseError as error:
        first = str(error).splitlines()[0]
        raise UsageError(f"the SQL does not parse as {dialect}: {first}") from error
    changes: list[Change] = []
    unsupported: list[str] = []
    for index, statement in enumerate(statements):
        if statement is None or isinstance(statement, _READS):
            continue
        found = _changes(statement)
        if isinstance(found, str):
            unsupported.append(f"statement {index + 1}: {found}")
        else:
            changes.extend(found)
    return Plan(changes=tuple(changes), unsupported=tuple(unsupported))


def table_key(table: exp.Table, *, default_schema: str = "main") -> tuple[str, str]:
    """(schema, name) of a table reference, lower-cased, with DuckDB's default schema filled in.

    Args:
        table: a table reference.
        default_schema: the schema an unqualified name resolves to.

    Returns:
        The key views and catalog rows are matched on.
    """
    return ((table.db or default_schema).lower(), table.name.lower())


def display(table: exp.Table) -> str:
    """The table's name as the statement writes it, without alias.

    Args:
        table: a table reference.

    Returns:
        e.g. ``shop.orders``.
    """
    return exp.table_name(_bare(table))


def _changes(statement: exp.Expression) -> list[Change] | str:
    if isinstance(statement, exp.Delete):
        return _delete(statement)
    if isinstance(statement, exp.Update):
        return _update(statement)
    if isinstance(statement, exp.Insert):
        return _insert(statement)
    if isinstance(statement, exp.Create):
        return _create(statement)
    if isinstance(statement, exp.Drop):
        return _drop(statement)
    if isinstance(statement, exp.TruncateTable):
        tables = [t for t in statement.expressions if isinstance(t, exp.Table)]
        return [_whole("TRUNCATE", t) for t in tables] or "TRUNCATE names no table"
    if isinstance(statement, exp.Alter) and isinstance(statement.this, exp.Table):
        return [Change(kind="structure", verb="ALTER", table=_bare(statement.this))]
    kind = statement.key.upper() if not isinstance(statement, exp.Command) else str(statement.this).upper()
    return f"{kind} statements are not measured; their effect is not a set of rows trustladder can count"


def _delete(statement: exp.Delete) -> list[Change] | str:
    target = statement.this
    if not isinstance(target, exp.Table) or statement.args.get("limit") or statement.args.get("order"):
        return "a DELETE with LIMIT or ORDER BY, or without a plain target table, is not measured"
    using = statement.args.get("using")
    return [_scoped("DELETE", target, _where(statement), list(using) if isinstance(using, list) else [], statement.args.get("with_"))]


def _update(statement: exp.Update) -> list[Change] | str:
    target = statement.this
    if not isinstance(target, exp.Table) or target.args.get("joins") or statement.args.get("limit") or statement.args.get("order"):
        return "a multi-table UPDATE, or one with LIMIT or ORDER BY, is not measured"
    source = statement.args.get("from_")
    sources = [source.this] if isinstance(source, exp.From) else []
    return [_scoped("UPDATE", target, _where(statement), sources, statement.args.get("with_"))]


def _scoped(verb: str, target: exp.Table, predicate: exp.Expression | None, sources: list[exp.Expression], with_: exp.With | None) -> Change:
    """The rows a DELETE or UPDATE changes: the target's rows for which its predicate holds."""
    if sources:
        # Each target row changes once however many source rows match it: EXISTS, not a join.
        inner = exp.select("1").from_(sources[0].copy())
        for extra in sources[1:]:
            inner = inner.join(extra.copy())
        if predicate is not None:
            inner = inner.where(predicate.copy())
        predicate = exp.Exists(this=inner)
    rows = exp.select("*").from_(target.copy())
    if predicate is not None:
        rows = rows.where(predicate.copy())
    if with_ is not None:
        rows.set("with_", with_.copy())
    alias = target.alias_or_name
    rows_sql = rows.select(exp.Column(this=exp.Star(), table=exp.to_identifier(alias)), append=False)
    count = rows.select(exp.Count(this=exp.Star()), append=False)
    # the scan a backfill pays: the target's rows its own filter keeps (joined sources read all)
    scans = [(_bare(target), count.sql(dialect=TARGET))]
    scans += [(_bare(t), None) for s in sources for t in s.find_all(exp.Table)]
    return Change(kind="rows", verb=verb, table=_bare(target), count_sql=count.sql(dialect=TARGET), rows_sql=rows_sql.sql(dialect=TARGET), scans=tuple(scans))


def _insert(statement: exp.Insert) -> list[Change] | str:
    target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
    if not isinstance(target, exp.Table):
        return "an INSERT into something other than a table is not measured"
    if statement.args.get("overwrite"):
        return [_whole("INSERT OVERWRITE", target, source=statement.expression)]
    source = statement.expression
    if isinstance(source, exp.Values):
        count_sql = exp.select(exp.Literal.number(len(source.expressions))).sql(dialect=TARGET)
    elif isinstance(source, exp.Query):
        query = source.copy()
        if statement.args.get("with_") is not None and query.args.get("with_") is None:
            query.set("with_", statement.args["with_"].copy())
        count_sql = exp.select(exp.Count(this=exp.Star())).from_(query.subquery("_inserted")).sql(dialect=TARGET)
    else:
        return "an INSERT without VALUES or a query is not measured"
    return [Change(kind="rows", verb="INSERT", table=_bare(target), count_sql=count_sql, scans=_scans(source))]


def _create(statement: exp.Create) -> list[Change] | str:
    kind = (statement.args.get("kind") or "").upper()
    target = statement.this.this if isinstance(statement.this, exp.Schema) else statement.this
    if not statement.args.get("replace") or not isinstance(target, exp.Table):
        return []  # creates something new; nothing that exists changes
    if kind == "TABLE":
        return [_whole("CREATE OR REPLACE TABLE", target, source=statement.expression)]
    if kind == "VIEW":
        return [Change(kind="view", verb="CREATE OR REPLACE VIEW", table=_bare(target))]
    return f"CREATE OR REPLACE {kind} is not measured"


def _drop(statement: exp.Drop) -> list[Change] | str:
    kind = (statement.args.get("kind") or "").upper()
    tables = [t for t in statement.args.get("tables") or [statement.this] if isinstance(t, exp.Table)]
    if kind == "TABLE":
        return [_whole("DROP TABLE", t) for t in tables]
    if kind == "VIEW":
        return [Change(kind="view", verb="DROP VIEW", table=_bare(t)) for t in tables]
    return f"DROP {kind or 'of this kind'} is not measured; measure the tables in it one by one"


def _whole(verb: str, target: exp.Table, *, source: exp.Expression | None = None) -> Change:
    """A change that removes or replaces every row of a table."""
    bare = _bare(target)
    rows_sql = exp.select("*").from_(bare.copy()).sql(dialect=TARGET)
    count_sql = exp.select(exp.Count(this=exp.Star())).from_(bare.copy()).sql(dialect=TARGET)
    return Change(kind="table", verb=verb, table=bare, count_sql=count_sql, rows_sql=rows_sql, scans=_scans(source) if source is not None else ())


def _scans(source: exp.Expression | None) -> tuple[tuple[exp.Table, str | None], ...]:
    """Tables a query reads; a lone table's count keeps the query's filter, joined tables read all."""
    if not isinstance(source, exp.Select):
        return tuple((_bare(t), None) for t in _tables(source)) if source is not None else ()
    sources = _tables(source)
    from_ = source.args.get("from_")
    if len(sources) == 1 and isinstance(from_, exp.From) and isinstance(from_.this, exp.Table) and not source.args.get("joins"):
        counted = exp.select(exp.Count(this=exp.Star())).from_(from_.this.copy())
        where = source.args.get("where")
        if where is not None:
            counted = counted.where(where.this.copy())
        return ((_bare(sources[0]), counted.sql(dialect=TARGET)),)
    return tuple((_bare(t), None) for t in sources)


def _tables(node: exp.Expression) -> list[exp.Table]:
    """Base tables a query reads, CTE names excluded."""
    ctes = {cte.alias_or_name.lower() for cte in node.find_all(exp.CTE)}
    return [t for t in node.find_all(exp.Table) if t.name and not (not t.db and t.name.lower() in ctes)]


def _where(statement: exp.Expression) -> exp.Expression | None:
    where = statement.args.get("where")
    return where.this if isinstance(where, exp.Where) else None


def _bare(table: exp.Table) -> exp.Table:
    """The table without its alias or joins."""
    bare = table.copy()
    for key in ("alias", "joins", "laterals", "pivots"):
        bare.set(key, None)
    return bare
