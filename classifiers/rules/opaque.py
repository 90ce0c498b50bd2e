"""Rules for what cannot be read: procedure calls, dynamic SQL and unsupported syntax."""

from __future__ import annotations

import re
from itertools import pairwise

from sqlglot import exp
from sqlglot.tokens import TokenType

from classifiers.context import StatementContext, table_name
from supervisor.models import Category, Finding

from .common import finding
from .session import setting_findings


def dynamic_sql(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """EXEC/EXECUTE of a procedure is ``opaque``; a literal SQL string is classified instead.

    ``COPY ... PROGRAM`` runs a shell command on the server, and is ``opaque`` too. Functions
    that run SQL given as text (Postgres's ``dblink_exec``, ``dblink``, ``query_to_xml``,
    T-SQL's ``OPENQUERY``) are read like EXECUTE: their literal SQL is classified, anything else
    is ``opaque``. Functions that act when a query calls them (ending sessions, moving a sequence, deleting a large
    object, changing a setting) report what they do; a function named with escape sequences
    (Postgres's ``U&"\\0070g_terminate_backend"``, which sqlglot keeps as written) is ``opaque``.

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
        elif ctx.dialect in _SERVER_FILE_COPIES and not node.args.get("kind") and _names_a_file(node):
            # COPY ... TO '/path' in Postgres writes the file as the server's own user: it can
            # overwrite the server's configuration, as lo_export can. TO STDOUT goes to the client.
            found.append(finding(Category.OPAQUE, table_name(node.this), "COPY ... TO a file writes a file on the database server, whose effect cannot be known from the text"))
    for call in ctx.nodes.get(exp.Anonymous, ()):
        function = call.name.lower()
        if function not in SQL_FUNCTIONS:
            if function in SIDE_EFFECTS or function == "set_config":
                found.extend(_side_effect(call, function))
            elif "\\" in function and _ESCAPE.search(function):
                found.append(_escaped_name(call.name))
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


# Functions that run SQL passed to them as text: Postgres's dblink family and query_to_xml with
# its kin, and T-SQL's OPENQUERY and OPENROWSET, which pass it to a linked server.
SQL_FUNCTIONS = frozenset({
    "dblink", "dblink_exec", "dblink_send_query", "dblink_open",
    "query_to_xml", "query_to_xmlschema", "query_to_xml_and_xmlschema",
    "openquery", "openrowset",
})
# Functions that change something when a query calls them, with the category and what they do.
# (Postgres's set_config is read as the SET it is.)
SIDE_EFFECTS: dict[str, tuple[Category, str]] = {
    "pg_terminate_backend": (Category.OPAQUE, "ends other database sessions and rolls back their work"),
    "pg_cancel_backend": (Category.OPAQUE, "cancels other sessions' running queries"),
    "pg_promote": (Category.OPAQUE, "promotes a standby server to primary"),
    "setval": (Category.SCHEMA_CHANGE, "moves a sequence: later inserts can be given keys that already exist"),
    "lo_unlink": (Category.DROP, "deletes a large object"),
    "lo_truncate": (Category.DROP, "cuts a large object short, deleting its data past the new length"),
    "lo_put": (Category.OVERWRITE, "writes over a large object's data"),
    "lowrite": (Category.OVERWRITE, "writes over a large object's data"),
    "lo_from_bytea": (Category.WRITE, "creates a large object"),
    "lo_import": (Category.OPAQUE, "reads a file on the database server into the database"),
    "lo_export": (Category.OPAQUE, "writes a file on the database server"),
    # adminpack
    "pg_file_unlink": (Category.DROP, "deletes a file on the database server"),
    "pg_file_write": (Category.OPAQUE, "writes a file on the database server"),
    "pg_file_rename": (Category.OPAQUE, "renames a file on the database server"),
    "pg_reload_conf": (Category.SCHEMA_CHANGE, "reloads the server's configuration"),
    "pg_drop_replication_slot": (Category.DROP, "drops a replication slot that change capture may depend on"),
    # Reading a slot's changes with get (not peek) consumes them: its consumers never see them.
    "pg_logical_slot_get_changes": (Category.OPAQUE, "consumes a replication slot's changes: change capture reading the slot loses them"),
    "pg_logical_slot_get_binary_changes": (Category.OPAQUE, "consumes a replication slot's changes: change capture reading the slot loses them"),
    "pg_replication_slot_advance": (Category.OPAQUE, "moves a replication slot past changes its consumers have not read"),
    "pg_replication_origin_advance": (Category.OPAQUE, "moves a replication origin's progress: changes can be skipped or applied twice"),
    "pg_replication_origin_drop": (Category.DROP, "drops a replication origin and its progress"),
    "load_extension": (Category.OPAQUE, "loads a native library into the database process and runs its code"),
    "system$cancel_query": (Category.OPAQUE, "cancels a running query"),
    "system$cancel_all_queries": (Category.OPAQUE, "cancels every running query of a session"),
    "system$abort_session": (Category.OPAQUE, "ends a session and rolls back its work"),
    "system$abort_transaction": (Category.OPAQUE, "rolls back another session's transaction"),
    "system$disable_database_replication": (Category.OPAQUE, "stops replicating a database to its secondaries"),
    "system$global_account_set_parameter": (Category.SCHEMA_CHANGE, "changes an account-wide setting, such as whether its databases replicate"),
    "system$enable_behavior_change_bundle": (Category.SCHEMA_CHANGE, "changes how SQL behaves for the whole account"),
    "system$disable_behavior_change_bundle": (Category.SCHEMA_CHANGE, "changes how SQL behaves for the whole account"),
    "system$user_task_cancel_ongoing_executions": (Category.OPAQUE, "cancels a task's running executions"),
    "system$task_dependents_enable": (Category.OPAQUE, "starts a task and every task after it on their schedules"),
    "system$pipe_force_resume": (Category.OPAQUE, "resumes a pipe, which loads every file waiting for it"),
    "system$authorize_privatelink": (Category.ACCESS_CHANGE, "lets a cloud account reach the Snowflake account over a private link"),
    "system$revoke_privatelink": (Category.ACCESS_CHANGE, "revokes a cloud account's private link to the Snowflake account"),
}
# What the names of all these functions contain, to tell from the text alone that a query may
# call one; a query that may is walked whole instead of read from its FROM clause. Every name
# above contains one of these (a test checks it).
_FUNCTION_HINTS = ("dblink", "query_to_xml", "openquery", "openrowset", "pg_terminate", "pg_cancel", "pg_promote",
                   "setval", "lo_unlink", "lo_import", "lo_export", "lo_truncate", "lo_put", "lo_from_bytea",
                   "lowrite", "pg_file_", "pg_reload", "replication_slot", "pg_logical_slot_get",
                   "replication_origin", "load_extension", "set_config", "system$")


# A Unicode escape in a Postgres U&"..." name (\0070 or \+000070), which sqlglot keeps as written.
_ESCAPE = re.compile(r"\\(?:[0-9a-f]{4}|\+[0-9a-f]{6})", re.IGNORECASE)
# U&"..." names and U&'...' strings hide any name from the hints, so a query with one is walked.
_UNICODE_ESCAPED = ('u&"', "u&'")


# Most hints share a short marker: the text is searched for the markers, and for a marker's
# hints only where it holds the marker; a script is searched about half as many times.
_MARKED_HINTS = tuple(
    (marker, tuple(hint for hint in _FUNCTION_HINTS if marker in hint)) for marker in ("pg_", "lo_", "replication_", "open")
)
_UNMARKED_HINTS = tuple(hint for hint in _FUNCTION_HINTS if not any(marker in hint for marker, _ in _MARKED_HINTS))


def mentions_sql_function(text: str) -> bool:
    """Whether the text may call a function that runs SQL given as a string, or that acts when
    called (``pg_terminate_backend``), or names something with Unicode escapes (``U&"..."``);
    case-insensitive."""
    lowered = text.lower()
    if any(hint in lowered for hint in _UNMARKED_HINTS):
        return True
    if any(marker in lowered and any(hint in lowered for hint in hints) for marker, hints in _MARKED_HINTS):
        return True
    return "u&" in lowered and any(mark in lowered for mark in _UNICODE_ESCAPED)


def _escaped_name(name: str) -> Finding:
    """A call of a function named with escape sequences: which function it is is left to the
    server, so it is ``opaque`` (the message shows the name decoded)."""
    decoded = _ESCAPE.sub(_decoded, name)
    return finding(
        Category.OPAQUE, None, f"a function named with escape sequences ({decoded}) runs code whose effect cannot be known from the text"
    )


def _decoded(escape: re.Match[str]) -> str:
    code = int(escape.group(0).lstrip("\\+"), 16)
    # Past the last code point the server refuses the name; show it as written.
    return chr(code) if code <= 0x10FFFF else escape.group(0)


def _side_effect(call: exp.Anonymous, function: str) -> list[Finding]:
    """What a call of one of ``SIDE_EFFECTS`` (or ``set_config``) does."""
    arguments = call.expressions
    if function == "set_config":
        name, value = (arguments + [None, None])[:2]
        if isinstance(name, exp.Literal) and name.is_string and isinstance(value, exp.Literal):
            return setting_findings(str(name.this).lower(), str(value.this).upper(), "", "set_config()")
        return [finding(Category.OPAQUE, None, "set_config() changes a setting only named when it runs")]
    category, what = SIDE_EFFECTS[function]
    first = arguments[0] if arguments else None
    named = str(first.this) if function == "setval" and isinstance(first, exp.Literal) and first.is_string else None
    return [finding(category, named, f"{call.name}() {what}")]


def _sql_argument(node: exp.Anonymous) -> exp.Expression | None:
    """The argument of a SQL-running function call that holds its SQL text.

    query_to_xml and its kin take the SQL first. The others take it last: dblink and
    dblink_exec take (connection, SQL) or (SQL), dblink_open a cursor name before it,
    dblink_send_query (connection, SQL), OPENQUERY (server, SQL) and OPENROWSET (provider,
    connection, SQL); the dblink ones may end with a boolean, which is not the SQL.
    """
    arguments = node.expressions
    if node.name.lower().startswith("query_to_xml"):
        return arguments[0] if arguments else None
    if len(arguments) >= 2 and isinstance(arguments[-1], exp.Boolean):
        arguments = arguments[:-1]
    return arguments[-1] if arguments else None


# Dialects whose COPY ... TO 'path' writes on the database server, not on the client.
_SERVER_FILE_COPIES = frozenset({"postgres"})


def _names_a_file(node: exp.Expression) -> bool:
    """Whether a COPY's destination is a path written as a string (not STDOUT or a program)."""
    return any(isinstance(target, exp.Literal) and target.is_string for target in node.args.get("files") or ())


def _runs_program(node: exp.Expression) -> bool:
    """Whether a COPY reads from or writes to a program (Postgres ``COPY ... FROM PROGRAM 'cmd'``)."""
    return any(
        type(source) is exp.Identifier and not source.quoted and source.name.upper() == "PROGRAM"
        for source in node.args.get("files") or ()
    )


def _literal_sql(node: exp.Expression) -> str | None:
    """The SQL text a dynamic-SQL call runs, when it is written out as a literal."""
    if isinstance(node, exp.ExecuteSql):
        return _joined_literals(node.expressions[0]) if node.expressions else None
    target = node.this
    # T-SQL EXEC('...') arrives as a parenthesised, quoted name; EXEC('...') AT server, which runs
    # it on a linked server, as the same with an alias AT and the server after it.
    if isinstance(target, exp.Subquery) and isinstance(target.this, exp.Table) and (not node.expressions or _runs_at(node)):
        identifier = target.this.this
        if isinstance(identifier, exp.Identifier) and identifier.quoted and not target.this.args.get("db"):
            return identifier.name
    if isinstance(target, exp.Literal) and target.is_string:
        return str(target.this)
    return None


def _runs_at(node: exp.Expression) -> bool:
    """Whether an EXEC is T-SQL's ``EXEC ('...') AT server`` (sqlglot reads AT as an alias)."""
    alias = node.this.args.get("alias")
    return isinstance(alias, exp.TableAlias) and alias.name.upper() == "AT" and len(node.expressions) == 1


def _joined_literals(node: object) -> str | None:
    """The text of a string literal, or of string literals joined with ``+`` or ``||``; None for
    anything else (a variable, a function call), whose SQL is only built at run time."""
    if isinstance(node, (exp.Literal, exp.National)):
        return node.this if isinstance(node.this, str) and (type(node) is exp.National or node.is_string) else None
    if isinstance(node, (exp.Add, exp.DPipe)):
        left, right = _joined_literals(node.left), _joined_literals(node.right)
        return None if left is None or right is None else left + right
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


# Dialects whose statements need no ';' between them and whose reserved words cannot be
# unquoted names, so such a word begins a statement wherever it stands.
RESERVED_STATEMENT_DIALECTS = frozenset({"tsql", "fabric"})
# The reserved words of those dialects that begin a statement which changes something.
RESERVED_STATEMENT_WORDS = frozenset(
    {"DELETE", "UPDATE", "INSERT", "MERGE", "DROP", "TRUNCATE", "ALTER", "CREATE", "EXEC", "EXECUTE", "GRANT",
     "REVOKE", "DENY", "SHUTDOWN", "KILL", "BACKUP", "RESTORE", "DBCC", "RECONFIGURE", "BULK", "SETUSER"}
)


def statement_read_as_alias(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """A T-SQL statement that sqlglot read as an alias of the one before it.

    T-SQL needs no ``;`` between statements and its reserved words cannot be unquoted names, so
    in ``SELECT getdate() DELETE FROM t`` the server runs a SELECT and then a DELETE of every
    row, where sqlglot reads one SELECT with a column called ``DELETE``. What follows such a
    word is read as the statement it is.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("SELECT 1 DELETE FROM t", dialect="tsql").action_type
        'sql.unscoped_delete'
    """
    if ctx.dialect not in RESERVED_STATEMENT_DIALECTS:
        return []
    aliased = {offset for node in expression.find_all(exp.Alias, exp.TableAlias) if (offset := _reserved_alias(node)) is not None}
    # After AS the word can only be a name, which T-SQL refuses: the batch fails, nothing runs.
    starts = [token.start for before, token in pairwise(ctx.tokens) if token.start in aliased and before.token_type is not TokenType.ALIAS]
    if not starts:
        return []
    word = ctx.source[starts[0] :].split(None, 1)[0].upper()
    found: list[Finding] = []
    for item in ctx.classify_nested(ctx.source[starts[0] : ctx.end]):
        if item.category is Category.PARSE_ERROR:
            item = finding(Category.OPAQUE, item.object, f"{word} begins a statement of its own that cannot be read: {item.message}")
        found.append(item)
    return found


def _reserved_alias(node: exp.Expression) -> int | None:
    """Where an alias that is an unquoted reserved statement word starts in the text, or None."""
    name = node.args.get("alias") if type(node) is exp.Alias else node.this
    if type(name) is not exp.Identifier or name.quoted or name.name.upper() not in RESERVED_STATEMENT_WORDS:
        return None
    start = name.meta.get("start")
    return start if isinstance(start, int) else None
