"""The costly-backfill rule: writes whose time filter spans too long, or never ends."""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp
from sqlglot.tokens import TokenType

from classifiers.context import StatementContext, table_name
from classifiers.timespan import write_span
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
            conditions = _filters(node, wheres)
            if not conditions:
                continue
            span = write_span(conditions, ctx.now)
            if span is None or (span.hours is not None and span.hours <= ctx.backfill_max_hours):
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
            span = write_span(wheres(select), ctx.now)
            if span is not None and (span.hours is None or span.hours > ctx.backfill_max_hours):
                name = table_name(node.this)
                found.append(finding(Category.COSTLY_BACKFILL, name, f"SELECT ... INTO {name} covers {span.describe(ctx.dialect)}", span.hours))
    return found


def _filters(node: exp.Expression, wheres: Callable[[object], list[exp.Expression]]) -> list[exp.Expression]:
    """The predicates that bound which rows a write touches or produces.

    ``wheres`` finds the WHERE conditions under a node (``_none`` when the statement has none).
    """
    args = node.args
    with_ = args.get("with_")
    conditions: list[exp.Expression] = wheres(with_) if with_ is not None else []
    if isinstance(node, exp.Insert):
        if args.get("where") is not None:
            conditions.append(args["where"])
        conditions.extend(wheres(node.expression))
    elif isinstance(node, exp.Merge):
        if args.get("on") is not None:
            conditions.append(args["on"])
        conditions.extend(wheres(args.get("using")))
        whens = args.get("whens")
        for when in whens.expressions if whens else []:
            if when.args.get("condition") is not None:
                conditions.append(when.args["condition"])
    elif isinstance(node, exp.Create) and isinstance(node.expression, exp.Query):
        conditions.extend(wheres(node.expression))
    return conditions


def _wheres(source: object) -> list[exp.Expression]:
    if not isinstance(source, exp.Expression) or isinstance(source, exp.Values):
        return []
    return [where.this for where in source.find_all(exp.Where)]


def _none(source: object) -> list[exp.Expression]:
    return []
