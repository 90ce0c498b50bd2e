"""One plain function per risk, run in order over every statement, like sqlglot's optimizer RULES.

Each rule has the signature ``(expression, ctx) -> list[Finding]``. Adding a rule means writing
a function, appending it to ``RULES`` and adding fixture rows to
``tests/fixtures/classifiers/sql_risk.sql``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp

from classifiers.context import StatementContext
from supervisor.models import Finding

from .backfill import costly_backfill
from .ddl import access_change, schema_change
from .destructive import drop_object, overwrite_table, truncate_table
from .opaque import dynamic_sql, unsupported_command
from .reads_writes import read_query, scoped_write
from .scope import delete_without_where, update_without_where

Rule = Callable[[exp.Expression, StatementContext], list[Finding]]

RULES: tuple[Rule, ...] = (
    drop_object,
    truncate_table,
    delete_without_where,
    update_without_where,
    overwrite_table,
    access_change,
    schema_change,
    costly_backfill,
    dynamic_sql,
    unsupported_command,
    scoped_write,
    read_query,
)

__all__ = [
    "RULES",
    "Rule",
    "access_change",
    "costly_backfill",
    "delete_without_where",
    "drop_object",
    "dynamic_sql",
    "overwrite_table",
    "read_query",
    "schema_change",
    "scoped_write",
    "truncate_table",
    "unsupported_command",
    "update_without_where",
]
