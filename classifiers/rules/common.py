"""Small helpers the rules share."""

from __future__ import annotations

from functools import lru_cache
from itertools import islice

from sqlglot import exp
from sqlglot.errors import SqlglotError

from classifiers.context import StatementContext, dialect_engine
from supervisor.models import Category, Finding

MAX_SHOWN = 80


@lru_cache(maxsize=4096)
def finding(category: Category, obj: str | None, message: str, span_hours: float | None = None) -> Finding:
    """Build a finding (a thin alias that keeps rule bodies short).

    Findings are immutable, so statements that say the same thing about the same object
    share one instead of each validating its own.
    """
    return Finding(category=category, object=obj, message=message, span_hours=span_hours)


# Expressions with more nodes than this are shown by their first parts: rendering copies the
# whole tree first, which for a WHERE of thousands of ORs costs more than parsing it did.
_MAX_RENDERED_NODES = 200


def shown(node: exp.Expression | None, ctx: StatementContext) -> str:
    """A short rendering of an expression for a message, as the statement writes it; never fails.

    A predicate made of columns, literals, comparisons, AND/OR and parentheses is shown as its
    text in the statement, which is what the reviewer wrote; anything else is rendered by
    sqlglot's generator, which copies the tree first and costs many times more.
    """
    if node is None:
        return ""
    span = _written_span(node, ctx.source)
    if span is not None:
        text = " ".join(ctx.source[span[0] : span[1] + 1].split())
        return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."
    try:
        if next(islice(node.walk(), _MAX_RENDERED_NODES, None), None) is not None:
            text = _first_parts(node, ctx)
        else:
            text = node.sql(dialect=dialect_engine(ctx.dialect))
    except (RecursionError, SqlglotError, ValueError, TypeError, KeyError):
        return type(node).__name__
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def _written_span(node: exp.Expr, source: str, depth: int = 0) -> tuple[int, int] | None:
    """The offsets of the first and last character of a simple predicate in ``source``, or None.

    The parser records where each identifier and literal was written; a column spans its
    parts, an operator its operands, parentheses the characters around what they hold. Any
    other node, or a position that does not hold what the node says (a tree read from other
    text), gives None.
    """
    kind = type(node)
    if kind is exp.Literal or kind is exp.Identifier:
        meta = node.meta
        start, end = meta.get("start"), meta.get("end")
        if start is None or end is None:
            return None
        written = source[start : end + 1]
        value = node.this
        same = written == value if kind is exp.Literal and not node.is_string else value in written
        return (start, end) if same else None
    if depth > 32:
        return None
    if isinstance(node, exp.Column):
        parts = node.parts
        first, last = _written_span(parts[0], source, depth + 1), _written_span(parts[-1], source, depth + 1)
        return (first[0], last[1]) if first and last and first[0] <= last[1] else None
    if kind in _WRITTEN_BINARY:
        left, right = _written_span(node.this, source, depth + 1), _written_span(node.expression, source, depth + 1)
        return (left[0], right[1]) if left and right and left[1] < right[0] else None
    if kind is exp.Paren:
        inner = _written_span(node.this, source, depth + 1)
        if inner is None:
            return None
        before = len(source[: inner[0]].rstrip()) - 1
        after = len(source) - len(source[inner[1] + 1 :].lstrip())
        if before >= 0 and after < len(source) and source[before] == "(" and source[after] == ")":
            return before, after
    return None


# Operators whose text lies between their operands'.
_WRITTEN_BINARY = frozenset(
    {exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.And, exp.Or, exp.Add, exp.Sub, exp.Mul, exp.Div}
)


def _first_parts(node: exp.Expression, ctx: StatementContext) -> str:
    """A large expression by its first few parts: the first branches of an AND/OR chain, the
    first values of an IN list; anything else by its kind."""
    if isinstance(node, exp.Connector):
        word = " OR " if isinstance(node, exp.Or) else " AND "
        branches: list[exp.Expression] = []
        pending = [node]
        while pending and len(branches) < 3:
            item = pending.pop()
            if type(item) is type(node):
                pending.extend((item.expression, item.this))
            else:
                branches.append(item)
        rest = word + "..." if pending else ""
        return word.join(shown(branch, ctx) for branch in branches) + rest
    if isinstance(node, exp.In) and node.expressions:
        values = ", ".join(shown(value, ctx) for value in node.expressions[:3])
        return f"{shown(node.this, ctx)} IN ({values}, ...)"
    return f"a {type(node).__name__.upper()} too large to show"


def kind_of(node: exp.Expression) -> str:
    """The upper-cased object kind of a DDL node (TABLE, VIEW, COLUMN ...), or ''."""
    kind = node.args.get("kind")
    return kind.upper() if isinstance(kind, str) else ""


def strip_block(body: str) -> str:
    """Drop the BEGIN/END shell (and a DECLARE section) of a procedural block.

    Example:
        >>> strip_block("BEGIN DELETE FROM t; END;")
        ' DELETE FROM t; '
    """
    text = body.strip()
    upper = text.upper()
    if upper.startswith("DECLARE"):
        begin = upper.find("BEGIN")
        if begin >= 0:
            text, upper = text[begin:], upper[begin:]
    if upper.startswith("BEGIN"):
        text = text[5:]
        stripped = text.rstrip().rstrip(";").rstrip()
        if stripped.upper().endswith("END"):
            text = stripped[:-3]
    return text


def stored_code_findings(items: list[Finding], what: str) -> list[Finding]:
    """The risky findings of code a statement stores to run later (a routine, trigger, rule,
    event or task body), each named as part of ``what``.

    What does not parse there is ``opaque``: the code cannot be read, and it will run.
    """
    found: list[Finding] = []
    for item in items:
        if item.category.is_risky:
            category = Category.OPAQUE if item.category is Category.PARSE_ERROR else item.category
            found.append(finding(category, item.object, f"{what}: {item.message}", item.span_hours))
    return found
