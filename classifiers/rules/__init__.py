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
from .ddl import access_change, routine_body, schema_change
from .destructive import drop_object, lost_by_alter, overwrite_table, truncate_table
from .opaque import dynamic_sql, statement_read_as_alias, unsupported_command
from .reads_writes import READ_ROOTS, read_query, scoped_write
from .scope import delete_without_where, update_without_where, upsert_of_itself
from .session import block_call, session_setting

Rule = Callable[[exp.Expression, StatementContext], list[Finding]]

RULES: tuple[Rule, ...] = (
    drop_object,
    truncate_table,
    delete_without_where,
    update_without_where,
    upsert_of_itself,
    overwrite_table,
    lost_by_alter,
    access_change,
    schema_change,
    costly_backfill,
    dynamic_sql,
    unsupported_command,
    scoped_write,
    routine_body,
    session_setting,
    block_call,
    statement_read_as_alias,
    read_query,
)

# The node types that make a rule worth running; a rule not listed runs on every statement.
TRIGGERS: dict[Rule, frozenset[type[exp.Expression]]] = {
    drop_object: frozenset({exp.Drop, exp.DropPartition}),
    truncate_table: frozenset({exp.TruncateTable}),
    delete_without_where: frozenset({exp.Delete, exp.Merge}),
    update_without_where: frozenset({exp.Update, exp.Merge}),
    upsert_of_itself: frozenset({exp.Insert}),
    overwrite_table: frozenset({exp.Create, exp.Insert, exp.MultitableInserts, exp.Merge, exp.ReplacePartition, exp.LoadData}),
    lost_by_alter: frozenset({exp.Alter, exp.Create}),
    access_change: frozenset({exp.Grant, exp.Revoke, exp.Create}),
    schema_change: frozenset({exp.Alter, exp.Create, exp.Comment, exp.Undrop}),
    costly_backfill: frozenset({exp.Insert, exp.Merge, exp.Create, exp.Into}),
    dynamic_sql: frozenset({exp.Execute, exp.ExecuteSql, exp.Copy, exp.Anonymous}),
    unsupported_command: frozenset({exp.Command}),
    scoped_write: frozenset({exp.Insert, exp.MultitableInserts, exp.Merge, exp.Into, exp.Copy, exp.Create, exp.LoadData}),
    routine_body: frozenset({exp.Create}),
}
# The root types a rule can find anything in; a rule not listed looks at every root.
ROOT_TRIGGERS: dict[Rule, tuple[type[exp.Expression], ...]] = {
    read_query: READ_ROOTS,
    session_setting: (exp.Set, exp.Use),
    block_call: (exp.Transaction,),
}

__all__ = [
    "ROOT_TRIGGERS",
    "RULES",
    "TRIGGERS",
    "Rule",
    "access_change",
    "block_call",
    "costly_backfill",
    "delete_without_where",
    "drop_object",
    "dynamic_sql",
    "lost_by_alter",
    "overwrite_table",
    "read_query",
    "routine_body",
    "schema_change",
    "scoped_write",
    "session_setting",
    "statement_read_as_alias",
    "truncate_table",
    "unsupported_command",
    "update_without_where",
    "upsert_of_itself",
]
