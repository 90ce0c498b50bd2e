"""Rules for what cannot be read: procedure calls, dynamic SQL and unsupported syntax."""

from __future__ import annotations

from sqlglot import exp

from classifiers.context import StatementContext, table_name
from supervisor.models import Category, Finding

from .common import finding


def dynamic_sql(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """EXEC/EXECUTE of a procedure is ``opaque``; a literal SQL string is classified instead.

    ``COPY ... PROGRAM`` runs a shell command on the server, and is ``opaque`` too. Functions
    that run SQL given as text (Postgres's ``dblink_exec``, ``dblink``, ``query_to_xml``) are
    read like EXECUTE: their literal SQL is classified, anything else is ``opaque``.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("EXEC sp_rename 'a', 'b'", dialect="tsql").action_type
        'sql.opaque'
        >>> classify_sql("EXEC('DROP TABLE t')", dialect="tsql").action_type
        'sql.drop'
    """
    found: list[Finding] = []
    for node in ctx.nodes.get(exp.Copy, ()):
        if _runs_program(node):
            name = table_name(node.this)
            found.append(finding(Category.OPAQUE, name, "COPY ... PROGRAM runs a shell command on the database server, whose effect cannot be known from the text"))
    for call in ctx.nodes.get(exp.Anonymous, ()):
        function = call.name.lower()
        if function not in SQL_FUNCTIONS:
            continue
        text = _sql_argument(call)
        if isinstance(text, exp.Literal) and text.is_string:
            for item in ctx.classify_nested(str(text.this)):
                found.append(finding(item.category, item.object, f"through {function}(): {item.message}", item.span_hours))
        else:
            found.append(finding(Category.OPAQUE, None, f"{function}() runs SQL that is only known when it runs"))
    for node in (*ctx.nodes.get(exp.Execute, ()), *ctx.nodes.get(exp.ExecuteSql, ())):
        text = _literal_sql(node)
        if text is not None:
            found.extend(ctx.classify_nested(text))
            continue
        name = table_name(node.this) if isinstance(node.this, exp.Table) else None
        found.append(finding(Category.OPAQUE, name, f"EXECUTE {name or 'dynamic SQL'} runs code whose effect cannot be known from the text"))
    return found


# Functions that run SQL passed to them as text: Postgres's dblink, dblink_exec and
# query_to_xml with its kin.
SQL_FUNCTIONS = frozenset({"dblink", "dblink_exec", "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema"})
# What any of their names contains, to tell from the text alone that a query may call one.
_SQL_FUNCTION_HINTS = ("dblink", "query_to_xml")


def mentions_sql_function(text: str) -> bool:
    """Whether the text may call a function that runs SQL given as a string (case-insensitive)."""
    lowered = text.lower()
    return any(hint in lowered for hint in _SQL_FUNCTION_HINTS)


def _sql_argument(node: exp.Anonymous) -> exp.Expression | None:
    """The argument of a SQL-running function call that holds its SQL text.

    dblink and dblink_exec take (connection, SQL) or (SQL), either with an optional boolean
    after it; query_to_xml and its kin take the SQL first.
    """
    arguments = node.expressions
    if node.name.lower().startswith("dblink") and len(arguments) >= 2 and not isinstance(arguments[1], exp.Boolean):
        return arguments[1]
    return arguments[0] if arguments else None


def _runs_program(node: exp.Expression) -> bool:
    """Whether a COPY reads from or writes to a program (Postgres ``COPY ... FROM PROGRAM 'cmd'``)."""
    return any(
        type(source) is exp.Identifier and not source.quoted and source.name.upper() == "PROGRAM"
        for source in node.args.get("files") or ()
    )


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
