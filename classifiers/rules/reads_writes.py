"""Rules for what is not risky by itself: reads and scoped writes."""

from __future__ import annotations

from functools import lru_cache

from sqlglot import exp

from classifiers.context import StatementContext, table_name
from supervisor.models import Category, Finding

from .common import finding, kind_of
from .destructive import merge_replaces, multitable_targets

_WRITE_NODES = frozenset({exp.Delete, exp.Update, exp.Insert, exp.Merge})
READ_ROOTS = (exp.Query, exp.Values, exp.Describe, exp.Show, exp.Pragma, exp.Export)


def read_query(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """A query, SHOW or EXPLAIN reads: one ``read`` finding per table it reads.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("SELECT * FROM shop.orders", dialect="postgres").categories
        (<Category.READ: 'read'>,)
    """
    if not isinstance(expression, READ_ROOTS) or _selects_into(expression):
        return []
    if isinstance(expression, exp.Pragma) and isinstance(expression.this, exp.EQ):
        return []
    if not _WRITE_NODES.isdisjoint(ctx.nodes):
        return []  # a query around a data-modifying CTE does more than read
    ctes = {cte.alias_or_name.lower() for cte in ctx.nodes.get(exp.CTE, ())}
    names: list[str] = []
    for table in ctx.nodes.get(exp.Table, ()):
        read_here = isinstance(table.parent, (exp.From, exp.Join)) or isinstance(expression, exp.Describe)
        name = table_name(table) if read_here else None
        if name and name.lower() not in ctes and name not in names:
            names.append(name)
    return _read_findings(expression, names)


def read_tables(expression: exp.Expression) -> tuple[Finding, ...]:
    """``read`` findings for a plain query from the tables of its top-level FROM and JOINs.

    Used where the statement is known to be a pure read without walking its whole tree.
    """
    if type(expression) is exp.Select:
        # Most reads are one SELECT with no CTE or join, from one table or from nothing.
        args = expression.args
        if not args.get("joins") and args.get("with_") is None:
            from_ = args.get("from_")
            if from_ is None:
                return _NOTHING_SELECTED
            source = from_.this
            if type(source) is exp.Table:
                name = table_name(source)
                return _reads((name,)) if name else _NOTHING_SELECTED
    names: list[str] = []
    ctes: set[str] = set()
    pending = [expression]
    while pending:
        node = pending.pop()
        if type(node) is not exp.Select:  # the usual case, and neither of these
            if isinstance(node, exp.SetOperation):
                pending.extend((node.expression, node.this))
                continue
            if isinstance(node, exp.Subquery):
                pending.append(node.this)
                continue
        args = node.args
        with_ = args.get("with_")
        bodies = with_.expressions if with_ is not None else ()
        for cte in bodies:
            # A CTE's name is not a stored table, and what its body reads is read too.
            ctes.add(cte.alias_or_name.lower())
        from_ = args.get("from_")
        sources = [from_.this] if from_ is not None else []
        for join in args.get("joins") or ():
            sources.append(join.this)
        # Subqueries in FROM and JOIN, then CTE bodies, are read next, in that order.
        nested: list[exp.Expression] = []
        for source in sources:
            if type(source) is exp.Table:
                name = table_name(source)
                if name and name not in names and name.lower() not in ctes:
                    names.append(name)
            elif isinstance(source, exp.Subquery):
                nested.append(source)
        for cte in bodies:
            nested.append(cte.this)
        if nested:
            pending.extend(reversed(nested))
    if not names:
        return (_reads_nothing(type(expression).__name__.upper()),)
    return _reads(tuple(names))


def _read_findings(expression: exp.Expression, names: list[str]) -> list[Finding]:
    if not names:
        return [_reads_nothing(type(expression).__name__.upper())]
    if isinstance(expression, exp.Export):
        into = expression.meta.get("into")
        if into is not None:
            # MySQL's SELECT ... INTO OUTFILE (or DUMPFILE), read as the query it exports.
            return [finding(Category.READ, name, f"SELECT ... INTO {into} reads {name} and writes its rows to a file on the database server") for name in names]
        return [finding(Category.READ, name, f"EXPORT DATA reads {name} and writes files outside the database") for name in names]
    return [_read(name) for name in names]


@lru_cache(maxsize=64)
def _reads_nothing(kind: str) -> Finding:
    verb = "explains" if kind == "DESCRIBE" else "reads"
    return finding(Category.READ, None, f"{kind} {verb} no stored table")


_NOTHING_SELECTED = (_reads_nothing("SELECT"),)


@lru_cache(maxsize=1024)
def _reads(names: tuple[str, ...]) -> tuple[Finding, ...]:
    return tuple(_read(name) for name in names)


@lru_cache(maxsize=4096)
def _read(name: str) -> Finding:
    # Findings are immutable, so a script that reads one table many times shares one.
    return finding(Category.READ, name, f"reads {name}")


def _selects_into(expression: exp.Expression) -> bool:
    if not isinstance(expression, exp.Select):
        return False
    into = expression.args.get("into")
    return into is not None and not into_variables(into)


def into_variables(node: exp.Expression) -> bool:
    """Whether ``SELECT ... INTO`` sets variables (MySQL's ``INTO @total``) rather than creating a table."""
    target = node.this
    return type(target) is exp.Table and type(target.this) in (exp.Parameter, exp.Placeholder)


def _copies_database(ctx: StatementContext) -> bool:
    tokens = ctx.tokens
    return len(tokens) > 3 and tokens[1].text.upper() == "FROM" and tokens[2].text.upper() == "DATABASE"


def scoped_write(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """INSERT, MERGE, COPY INTO, SELECT INTO and CREATE of something new are ``write``.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("INSERT INTO shop.orders VALUES (1)", dialect="duckdb").action_type
        'sql.write'
    """
    found: list[Finding] = []
    for node in ctx.nodes.get(exp.Insert, ()):
        if isinstance(node.parent, exp.When):
            continue  # MERGE ... THEN INSERT: reported with the MERGE
        if node.args.get("overwrite") or node.args.get("where") is not None or node.args.get("using"):
            continue  # overwrite_table reports these
        name = table_name(node.this)
        verb = "upserts rows into" if node.args.get("alternative") else "inserts rows into"
        if node.args.get("conflict") is not None:
            verb = "upserts rows into"
        found.append(finding(Category.WRITE, name, f"INSERT {verb} {name}"))
    for node in ctx.nodes.get(exp.MultitableInserts, ()):
        for name in multitable_targets(node):
            found.append(finding(Category.WRITE, name, f"INSERT ALL inserts rows into {name}"))
    for node in ctx.nodes.get(exp.Merge, ()):
        if merge_replaces(node):
            continue  # overwrite_table reports it
        name = table_name(node.this)
        found.append(finding(Category.WRITE, name, f"MERGE changes rows of {name} matched by its ON condition"))
    for node in ctx.nodes.get(exp.Into, ()):
        if into_variables(node):
            continue  # read_query reports what the query reads
        name = table_name(node.this)
        found.append(finding(Category.WRITE, name, f"SELECT ... INTO creates the table {name}"))
    for node in ctx.nodes.get(exp.Copy, ()):
        name = table_name(node.this)
        if _copies_database(ctx):
            # DuckDB: COPY FROM DATABASE a TO b (sqlglot reads it as an export of a query).
            source, target = ctx.tokens[3].text, ", ".join(file.name for file in node.args.get("files") or ())
            found.append(finding(Category.WRITE, target or None, f"COPY FROM DATABASE {source} TO {target} copies every table and row of {source} into {target}"))
        elif node.args.get("kind"):
            found.append(finding(Category.WRITE, name, f"COPY loads files into {name}"))
        else:
            found.append(finding(Category.READ, name, f"COPY exports {name or 'a query'} to files outside the database"))
    for node in ctx.nodes.get(exp.LoadData, ()):
        if not node.args.get("overwrite"):
            name = table_name(node.this)
            found.append(finding(Category.WRITE, name, f"LOAD DATA loads files into {name}"))
    for node in ctx.nodes.get(exp.Create, ()):
        if node.args.get("replace"):
            continue  # overwrite_table or schema_change reports these
        name = table_name(node.this)
        found.append(finding(Category.WRITE, name, f"CREATE {kind_of(node)} {name} creates a new object"))
    return found
