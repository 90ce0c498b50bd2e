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
        >>> classify_sql("EXEC('DROP TABLE t')", dialect="tsql").action_type
        'sql.drop'
    """
    found: list[Finding] = []
    for node in (*ctx.nodes.get(exp.Execute, ()), *ctx.nodes.get(exp.ExecuteSql, ())):
        text = _literal_sql(node)
        if text is not None:
            found.extend(ctx.classify_nested(text))
            continue
        name = table_name(node.this) if isinstance(node.this, exp.Table) else None
        found.append(finding(Category.OPAQUE, name, f"EXECUTE {name or 'dynamic SQL'} runs code whose effect cannot be known from the text"))
    return found


def _literal_sql(node: exp.Expression) -> str | None:
    """The SQL text a dynamic-SQL call runs, when it is written out as a literal."""
    if isinstance(node, exp.ExecuteSql):
        first = node.expressions[0] if node.expressions else None
        if isinstance(first, (exp.Literal, exp.National)) and isinstance(first.this, str):
            return first.this
        return None
    target = node.this
    # T-SQL EXEC('...') arrives as a parenthesised, quoted name.
    if isinstance(target, exp.Subquery) and isinstance(target.this, exp.Table) and not node.expressions:
        identifier = target.this.this
        if isinstance(identifier, exp.Identifier) and identifier.quoted and not target.this.args.get("db"):
            return identifier.name
    if isinstance(target, exp.Literal) and target.is_string:
        return str(target.this)
    return None


def unsupported_command(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """A statement sqlglot kept as ``exp.Command`` is read from its tokens, else ``opaque``.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("ALTER TABLE t DROP COLUMN a, DROP COLUMN b", dialect="mysql").action_type
        'sql.drop'
    """
    from classifiers.commands import recognize_command

    commands = ctx.nodes.get(exp.Command, ())
    if not commands:
        return []
    if commands[0] is expression or (isinstance(expression, exp.Alter) and ctx.tokens):
        # An ALTER with one clause sqlglot could not model: read the whole statement's tokens.
        return recognize_command(ctx)
    return [finding(Category.OPAQUE, None, f"{node.name} inside the statement cannot be read") for node in commands]
