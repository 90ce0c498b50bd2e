"""Rules for DDL that changes an object without dropping it, and for access changes."""

from __future__ import annotations

from sqlglot import exp

from classifiers.context import StatementContext, table_name
from supervisor.models import Category, Finding

from .common import finding, kind_of, stored_code_findings, strip_block
from .destructive import CONTAINERS, is_data_drop_action, ttl_deletes_rows


def schema_change(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """ALTER (other than dropping data), CREATE OR REPLACE of a non-table and COMMENT ON.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("ALTER TABLE t ADD COLUMN a INT", dialect="postgres").action_type
        'sql.schema_change'
    """
    found: list[Finding] = []
    for node in ctx.nodes.get(exp.Alter, ()):
        name = table_name(node.this)
        actions = node.args.get("actions") or []
        changes = [action for action in actions if not _handled_elsewhere(action)]
        if changes or not actions:
            what = ", ".join(dict.fromkeys(_describe(action) for action in changes))
            found.append(finding(Category.SCHEMA_CHANGE, name, f"ALTER {kind_of(node) or 'TABLE'} {name} changes its definition{': ' + what if what else ''}"))
    for node in ctx.nodes.get(exp.Create, ()):
        if node.args.get("replace") and kind_of(node) != "TABLE" and kind_of(node) not in CONTAINERS:
            name = table_name(node.this)
            found.append(finding(Category.SCHEMA_CHANGE, name, f"CREATE OR REPLACE {kind_of(node)} {name} replaces its definition"))
    for node in ctx.nodes.get(exp.Undrop, ()):
        name = table_name(node.this)
        found.append(finding(Category.SCHEMA_CHANGE, name, f"UNDROP {kind_of(node)} {name} restores a dropped object"))
    for node in ctx.nodes.get(exp.Comment, ()):
        name = table_name(node.this)
        found.append(finding(Category.SCHEMA_CHANGE, name, f"COMMENT ON {kind_of(node)} {name} changes its description"))
    return found


def _handled_elsewhere(action: exp.Expression) -> bool:
    return is_data_drop_action(action) or isinstance(action, (exp.Delete, exp.Update)) or ttl_deletes_rows(action)


_ACTION_WORDS = {
    "ColumnDef": "adds a column",
    "AlterColumn": "alters a column",
    "AlterRename": "renames it",
    "RenameColumn": "renames a column",
    "Drop": "drops a constraint or index",
    "AddConstraint": "adds a constraint",
    "AlterSet": "sets properties",
}


def _describe(action: exp.Expression) -> str:
    if action.find(exp.MergeTreeTTL) is not None:
        return "sets a TTL"  # sqlglot keeps ClickHouse's MODIFY TTL in a node named for another clause
    if isinstance(action, exp.Command):  # a clause sqlglot keeps as its words: DROP PRIMARY KEY
        rest = action.args.get("expression")
        words = rest.name if isinstance(rest, exp.Expression) else str(rest or "")
        return " ".join(f"{action.name} {words}".split()).lower()
    return _ACTION_WORDS.get(type(action).__name__, type(action).__name__)


_POLICY_NODES = (exp.RowAccessProperty, exp.MaskingProperty, exp.MaskingPolicyColumnConstraint, exp.ProjectionPolicyColumnConstraint)


def access_change(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """GRANT and REVOKE change who may do what; so does creating an object with a policy.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("GRANT SELECT ON shop.orders TO PUBLIC", dialect="postgres").action_type
        'sql.access_change'
    """
    found: list[Finding] = []
    # A table or view created with a row access or masking policy changes who sees its data.
    # Such a clause names POLICY, so most CREATEs are let go by one look at their text.
    creates = ctx.nodes.get(exp.Create, ())
    if creates and "POLICY" in ctx.sql.upper():
        for node in creates:
            if node.find(*_POLICY_NODES) is not None:
                name = table_name(node.this)
                found.append(finding(Category.ACCESS_CHANGE, name, f"CREATE {kind_of(node) or 'OBJECT'} {name} attaches a row access or masking policy"))
    for kind in (exp.Grant, exp.Revoke):
        verb = kind.__name__.upper()
        for node in ctx.nodes.get(kind, ()):
            name = table_name(node.args.get("securable"))
            privileges = ", ".join(p.name or p.sql() for p in node.args.get("privileges") or [])
            principals = ", ".join(p.name for p in node.args.get("principals") or [])
            to = "TO" if kind is exp.Grant else "FROM"
            found.append(finding(Category.ACCESS_CHANGE, name, f"{verb} {privileges} ON {name} {to} {principals}".strip()))
    return found


# Languages whose routine bodies are SQL trustladder can classify.
SQL_LANGUAGES = frozenset({"sql", "plpgsql", "tsql", "plsql", "snowflake"})


def routine_body(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """The risky part of a function or procedure body given as a string (``AS $$ ... $$``).

    Creating a routine runs nothing, but whoever approves it approves what every call will do,
    so a DELETE without WHERE in the body is reported as such. A body in another language
    (JavaScript, Python, Java, plpython3u, C) or a native library (MySQL's ``SONAME``) cannot
    be read, and is ``opaque``.

    Example:
        >>> from classifiers import classify_sql
        >>> sql = "CREATE FUNCTION f() RETURNS void AS $$ DELETE FROM t $$ LANGUAGE sql"
        >>> classify_sql(sql, dialect="postgres").action_type
        'sql.unscoped_delete'
    """
    found: list[Finding] = []
    for node in ctx.nodes.get(exp.Create, ()):
        if kind_of(node) not in ("FUNCTION", "PROCEDURE"):
            continue
        what = f"the body of {kind_of(node)} {table_name(node.this)}"
        foreign = _foreign_language(node)
        if foreign is not None:
            found.append(finding(Category.OPAQUE, table_name(node.this), f"{what} is {foreign} code trustladder cannot read"))
            continue
        body = _body_text(node.expression)
        if body is not None:
            found.extend(stored_code_findings(ctx.classify_nested(strip_block(body)), what))
    return found


def _foreign_language(node: exp.Expression) -> str | None:
    """The language of a routine whose body is not SQL (or ``native`` for a shared library), or None."""
    body = node.expression
    if isinstance(body, exp.Alias) and isinstance(body.this, exp.Column) and body.this.name.upper() == "SONAME":
        return f"native ({body.alias})"
    language = next(node.find_all(exp.LanguageProperty), None)
    if language is not None and language.name.lower() not in SQL_LANGUAGES:
        return language.name
    return None


def _body_text(body: exp.Expression | None) -> str | None:
    """The text of a routine body written as a string, ``$$ ... $$`` or a one-string block."""
    if isinstance(body, exp.Block) and len(body.expressions) == 1:
        body = body.expressions[0]
    if isinstance(body, (exp.Heredoc, exp.Literal, exp.RawString)) and isinstance(body.this, str):
        return body.this
    return None
