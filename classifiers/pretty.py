"""SQL pretty-printed in its own dialect, for reviewers."""

from __future__ import annotations

import sqlglot
from sqlglot.errors import SqlglotError


def pretty_sql(sql: str, *, dialect: str | None) -> str:
    """The statements laid out one clause per line, in the dialect they were written in.

    What sqlglot cannot parse, or parses only into an opaque command, is returned as written:
    a reviewer must never read a reformatted text that differs from what would run.

    Example:
        >>> print(pretty_sql("delete from shop.orders where id = 1", dialect="postgres"))
        DELETE FROM shop.orders
        WHERE
          id = 1;
    """
    try:
        statements = sqlglot.parse(sql, read=dialect)
    except SqlglotError:
        return sql.strip()
    if not statements or any(s is None or isinstance(s, sqlglot.exp.Command) for s in statements):
        return sql.strip()
    return "\n\n".join(statement.sql(dialect=dialect, pretty=True) + ";" for statement in statements if statement is not None)
