"""The costly-backfill rule: writes whose time filter spans too long, or never ends."""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp
from sqlglot.tokens import TokenType

from classifiers.context import StatementContext, table_name
from classifiers.timespan import Span, write_span
from supervisor.models import Category, Finding

from .common import finding
from .reads_writes import into_variables

# Writes that produce rows from a source. DELETE and UPDATE change rows in place: their
# reach is judged by scope, not as a backfill.
_WRITES = (exp.Insert, exp.Merge, exp.Create)
# The tokens after which sqlglot builds an ``exp.Where``: the WHERE keyword, an aggregate's
# FILTER (whose WHERE is optional) and an optimizer hint (its comment is parsed on its own).
_WHERE_TOKENS = frozenset({TokenType.WHERE, TokenType.FILTER, TokenType.HINT})
# Dialects whose parser also turns a bare word into a WHERE (PRQL's ``filter`` transform).
_WHERE_BY_NAME = frozenset({"prql"})


def costly_backfill(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """A write whose time filter covers more than ``backfill_max_hours`` or is open-ended.

    The span is read from the write's own filter and from its source query, subqueries
    included. A write with no time filter at all is not a backfill by its text.

    Example:
        >>> from classifiers import classify_sql
        >>> sql = "INSERT INTO t SELECT * FROM s WHERE d >= CURRENT_DATE - INTERVAL '30 days'"
        >>> classify_sql(sql, dialect="postgres").action_type
        'sql.costly_backfill'
    """
    # Searching a source query for WHERE clauses is most of this rule's cost, and most writes
    # have none: when no token could have started one, the trees hold none to find.
    kinds = ctx.kinds
    nodes = ctx.nodes
    if kinds is None or ctx.dialect in _WHERE_BY_NAME or not _WHERE_TOKENS.isdisjoint(kinds):
        wheres = _wheres
    elif exp.Merge in nodes:
        wheres = _none  # a MERGE's ON and WHEN conditions need no WHERE keyword
    else:
        return []  # no filter anywhere: nothing bounds the write in time, so no span to measure
    found: list[Finding] = []
    for kind in _WRITES:
        for node in nodes.get(kind, ()):
            if isinstance(node.parent, exp.When):
                continue  # MERGE ... THEN INSERT: the MERGE itself is measured
            spans = [span for conditions in _filters(node, wheres) if conditions for span in [write_span(conditions, ctx.now)] if span]
            if not spans:
                continue
            span = _widest(spans)
            if span.hours is not None and span.hours <= ctx.backfill_max_hours:
                continue
            name = table_name(node.this) if not isinstance(node.this, exp.Schema) else table_name(node.this.this)
            size = "an open-ended range" if span.hours is None else f"{span.hours:g} hours"
            found.append(
                finding(
                    Category.COSTLY_BACKFILL,
                    name,
                    f"{type(node).__name__.upper()} into {name} covers {size} ({span.describe(ctx.dialect)}); "
                    f"more than {ctx.backfill_max_hours:g} hours is a backfill",
                    span.hours,
                )
            )
    for node in nodes.get(exp.Into, ()):
        select = node.parent
        if isinstance(select, exp.Select) and not into_variables(node):
            into = write_span(wheres(select), ctx.now)
            if into is not None and (into.hours is None or into.hours > ctx.backfill_max_hours):
                name = table_name(node.this)
                found.append(finding(Category.COSTLY_BACKFILL, name, f"SELECT ... INTO {name} covers {into.describe(ctx.dialect)}", into.hours))
    return found


def _filters(node: exp.Expression, wheres: Callable[[object], list[exp.Expression]]) -> list[list[exp.Expression]]:
    """The predicates that bound which rows a write touches or produces, one list per branch of a
    UNION in its source (each branch's rows are written, so each is measured on its own).

    ``wheres`` finds the WHERE conditions under a node (``_none`` when the statement has none).
    """
    args = node.args
    with_ = args.get("with_")
    shared: list[exp.Expression] = wheres(with_) if with_ is not None else []
    if isinstance(node, exp.Insert):
        if args.get("where") is not None:
            shared.append(args["where"])
        return [shared + wheres(branch) for branch in _branches(node.expression)] + _subquery_filters(node.expression, wheres)
    if isinstance(node, exp.Merge):
        if args.get("on") is not None:
            shared.append(args["on"])
        shared.extend(wheres(args.get("using")))
        whens = args.get("whens")
        for when in whens.expressions if whens else []:
            if when.args.get("condition") is not None:
                shared.append(when.args["condition"])
        return [shared]
    if isinstance(node, exp.Create) and isinstance(node.expression, exp.Query):
        return [shared + wheres(branch) for branch in _branches(node.expression)] + _subquery_filters(node.expression, wheres)
    return [shared]


def _subquery_filters(source: object, wheres: Callable[[object], list[exp.Expression]]) -> list[list[exp.Expression]]:
    """The filters of each subquery in a predicate of the source (``id IN (SELECT id FROM u WHERE
    d >= ...)``), measured on their own: they bound the rows the statement reads to decide, not
    the rows it writes, and a long span there is still a long scan."""
    if wheres is _none or not isinstance(source, exp.Expression) or source.find(exp.Subquery, exp.Exists) is None:
        return []
    groups: list[list[exp.Expression]] = []
    for node in source.walk(prune=_bounds_other_rows):
        if node is not source and _bounds_other_rows(node):
            groups.extend(wheres(branch) for branch in _branches(node))
            groups.extend(_subquery_filters(node.this if isinstance(node, exp.Subquery) else node, wheres))
    return groups


def _branches(source: object) -> list[object]:
    """The queries whose rows a source writes: each branch of a UNION, else the source itself."""
    while isinstance(source, exp.Subquery):
        source = source.this
    if isinstance(source, exp.Union):
        return [*_branches(source.this), *_branches(source.expression)]
    return [source]


def _widest(spans: list[Span]) -> Span:
    return next((span for span in spans if span.hours is None), None) or max(spans, key=lambda span: span.hours or 0.0)


def _wheres(source: object) -> list[exp.Expression]:
    """The WHERE conditions that bound the rows a source query produces: its own, its derived
    tables' and its CTEs', but not those of a subquery in a predicate (``id IN (SELECT id FROM u
    WHERE d = ...)``), which bound another table's rows."""
    if not isinstance(source, exp.Expression) or isinstance(source, exp.Values):
        return []
    if source.find(exp.Subquery, exp.Exists) is None:  # the usual case, found by sqlglot's own search
        return [where.this for where in source.find_all(exp.Where)]
    return [node.this for node in source.walk(prune=_bounds_other_rows) if type(node) is exp.Where]


# What a query or subquery may sit in and still produce the rows written.
_ROW_SOURCES = (exp.From, exp.Join, exp.CTE, exp.SetOperation, exp.Subquery, exp.With, exp.Lateral, exp.Insert, exp.Create, exp.Merge)


def _bounds_other_rows(node: exp.Expr) -> bool:
    return isinstance(node, (exp.Subquery, exp.Select)) and node.parent is not None and not isinstance(node.parent, _ROW_SOURCES)


def _none(source: object) -> list[exp.Expression]:
    return []
