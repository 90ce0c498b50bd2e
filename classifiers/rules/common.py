"""Small helpers the rules share."""

from __future__ import annotations

from functools import lru_cache
from itertools import islice

from sqlglot import exp
from sqlglot.errors import SqlglotError

from classifiers.context import dialect_engine
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


def shown(node: exp.Expression | None, dialect: str) -> str:
    """A short rendering of an expression for a message; never fails."""
    if node is None:
        return ""
    try:
        if next(islice(node.walk(), _MAX_RENDERED_NODES, None), None) is not None:
            text = _first_parts(node, dialect)
        else:
            text = node.sql(dialect=dialect_engine(dialect))
    except (RecursionError, SqlglotError, ValueError, TypeError, KeyError):
        return type(node).__name__
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


def _first_parts(node: exp.Expression, dialect: str) -> str:
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
        return word.join(shown(branch, dialect) for branch in branches) + rest
    if isinstance(node, exp.In) and node.expressions:
        values = ", ".join(shown(value, dialect) for value in node.expressions[:3])
        return f"{shown(node.this, dialect)} IN ({values}, ...)"
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
