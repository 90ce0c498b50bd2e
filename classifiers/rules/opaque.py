"""Rules for what cannot be read: procedure calls, dynamic SQL and unsupported syntax."""

from __future__ import annotations

from sqlglot import exp

from classifiers.context import StatementContext, table_name
from supervisor.models import Category, Finding

from .common import finding


def dynamic_sql(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """EXEC/EXECUTE of a procedure is ``opaque``; a literal SQL string is classified instead.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("EXEC sp_rename 'a', 'b'", dialect="tsql").action_type
        'sql.opaque'
    """
    found: list[Finding] = []
    for node in ctx.of(exp.Execute):
        target = node.this
        if isinstance(target, exp.Literal) and target.is_string:
            found.extend(ctx.classify_nested(target.this) or [])
            continue
        name = table_name(target) if isinstance(target, exp.Table) else None
        found.append(finding(Category.OPAQUE, name, f"EXECUTE {name or 'dynamic SQL'} runs code whose effect cannot be known from the text"))
    return found


def unsupported_command(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """A statement sqlglot kept as ``exp.Command`` is read from its tokens, else ``opaque``.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("ALTER TABLE t DROP COLUMN a, DROP COLUMN b", dialect="mysql").action_type
        'sql.drop'
    """
    from classifiers.commands import recognize_command

    commands = ctx.of(exp.Command)
    if not commands:
        return []
    if commands[0] is expression:
        return recognize_command(ctx)
    return [finding(Category.OPAQUE, None, f"{node.name} inside the statement cannot be read") for node in commands]
