"""The rule for settings that change what the statements after them may do.

Most ``SET`` and ``USE`` statements change nothing a reviewer gates (a time zone, a default
schema, a query tag). A few do: they switch the privileges a session acts with, turn off the
checks that keep data consistent, or reconfigure the whole server.
"""

from __future__ import annotations

from sqlglot import exp

from classifiers.context import StatementContext
from supervisor.models import Category, Finding

from .common import finding

# Every spelling of a boolean's off: MySQL's 0, OFF and FALSE, and Postgres's, which also takes
# NO and any unique prefix of FALSE, NO and OFF ("f", "n", "of").
_OFF = frozenset({"0", "OFF", "OF", "FALSE", "FALS", "FAL", "FA", "F", "NO", "N"})
# Session settings that turn a safeguard off, with the values that do, and what that means.
_SAFEGUARDS: dict[str, tuple[frozenset[str], str]] = {
    "foreign_key_checks": (_OFF, "turns off foreign-key checks: the writes after it can leave rows that break them"),
    "unique_checks": (_OFF, "turns off unique-key checks: the writes after it can add duplicate keys"),
    "sql_safe_updates": (_OFF, "turns off MySQL's safe-updates mode, which refuses UPDATE and DELETE without a key in the WHERE"),
    "sql_log_bin": (_OFF, "stops writing the binary log: replicas and change capture do not see the writes after it"),
    "session_replication_role": (
        frozenset({"REPLICA", "LOCAL"}),
        "turns off triggers and foreign-key checks: audit triggers do not fire and the writes after it can break keys",
    ),
}
# Settings that, turned off, let sessions write to a server or database kept read-only.
_READ_ONLY = frozenset({"read_only", "super_read_only", "transaction_read_only", "default_transaction_read_only", "tx_read_only"})
# Of those, the ones only a server has (MySQL's), whatever scope SET names.
_SERVER_ONLY = frozenset({"read_only", "super_read_only"})
# Scopes of SET that reach beyond the session.
_SERVER_WIDE = frozenset({"GLOBAL", "PERSIST", "PERSIST_ONLY"})
# Values that give up privileges, or go back to the session's own.
_NO_ROLE = frozenset({"NONE", "DEFAULT"})
# Settings whose value is the role or user the session acts as (Postgres's SET role = 'admin',
# set_config('role', ...), SET session_authorization = 'admin').
_IDENTITY = frozenset({"role", "session_authorization"})
# SET PASSWORD = '...' changes the current account's credentials (MySQL).
_PASSWORD = "password"


def session_setting(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """``SET`` and ``USE`` that switch privileges, turn off safeguards or reconfigure the server.

    Switching role (``USE ROLE ACCOUNTADMIN``, ``SET role = 'admin'``) or password is an
    ``access_change``, as is turning off a read-only setting. Turning off foreign-key, unique-key or trigger enforcement
    (``SET FOREIGN_KEY_CHECKS = 0``, ``SET session_replication_role = replica``) is ``opaque``:
    the statements after it no longer do what their text says. ``SET GLOBAL`` of anything else
    changes the server for every session: a ``schema_change``, as ``ALTER SYSTEM`` is. A
    safeguard or read-only setting given a value that is not plain (``SET FOREIGN_KEY_CHECKS =
    2 - 2``, ``= @v``) is ``opaque``: whether it turns the check off is only known when it runs.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("SET FOREIGN_KEY_CHECKS = 0", dialect="mysql").action_type
        'sql.opaque'
    """
    if isinstance(expression, exp.Use):
        return _use(expression)
    if not isinstance(expression, exp.Set):
        return []
    found: list[Finding] = []
    for item in expression.expressions:
        if not isinstance(item, exp.SetItem) or not isinstance(item.this, exp.EQ):
            continue
        target, value = item.this.this, item.this.expression
        name = _setting_name(target)
        if name == _PASSWORD:
            found.append(finding(Category.ACCESS_CHANGE, None, "SET PASSWORD changes the account's credentials"))
        elif name:
            scope = item.args.get("kind") or (target.args.get("kind") if isinstance(target, exp.SessionParameter) else None)
            found.extend(setting_findings(name, _value(value), str(scope or "").upper(), "SET"))
    return found


def setting_findings(name: str, value: str, scope: str, verb: str) -> list[Finding]:
    """What assigning ``value`` to the setting ``name`` changes that a reviewer gates, if anything.

    Args:
        name: the setting, lower-cased (``foreign_key_checks``).
        value: the value as written, upper-cased, or '' when it is not a plain value (an
            expression, a variable, a subquery), whose effect is only known when it runs.
        scope: the scope the statement names, upper-cased (``GLOBAL``, ``SESSION``), or ''.
        verb: how the statement is shown in the message (``SET``, ``set_config()``).
    """
    server_wide = scope in _SERVER_WIDE
    shown = f"{verb} {scope + ' ' if server_wide else ''}{name} = {value or '?'}"
    value = value.strip()
    guard = _SAFEGUARDS.get(name)
    if name in _IDENTITY and value not in _NO_ROLE:
        return [finding(Category.ACCESS_CHANGE, None, f"{shown} switches the role the statements after it run with, and its privileges")]
    if not value and (guard is not None or name in _READ_ONLY):
        # SET FOREIGN_KEY_CHECKS = 2 - 2: whether it turns the safeguard off is only known when it runs.
        return [finding(Category.OPAQUE, None, f"{shown} sets {name} to a value only known when it runs")]
    if name in _READ_ONLY and value in _OFF:
        who = "every session" if server_wide or name in _SERVER_ONLY else "the session"
        return [finding(Category.ACCESS_CHANGE, None, f"{shown} lets {who} write where writes were refused")]
    if guard is not None and value in guard[0]:
        return [finding(Category.OPAQUE, None, f"{shown} {guard[1]}")]
    if server_wide:
        return [finding(Category.SCHEMA_CHANGE, None, f"{shown} changes the server's configuration for every session")]
    return []


def _use(node: exp.Use) -> list[Finding]:
    kind = node.args.get("kind")
    kind_text = (kind.name if isinstance(kind, exp.Expression) else str(kind or "")).upper()
    if "ROLE" not in kind_text:
        return []  # USE db, USE WAREHOUSE, USE SCHEMA: where names resolve, not what is allowed
    role = node.this.name if isinstance(node.this, exp.Expression) else ""
    if role.upper() in _NO_ROLE:
        return []
    return [finding(Category.ACCESS_CHANGE, role or None, f"USE {kind_text} {role}: the statements after it run with its privileges")]


def _setting_name(target: object) -> str:
    """The lower-cased name a SET assigns to (``foreign_key_checks`` for ``@@session.foreign_key_checks``)."""
    if isinstance(target, (exp.Column, exp.SessionParameter, exp.Var, exp.Identifier, exp.Dot)):
        return target.name.lower()
    return ""


def _value(value: object) -> str:
    """A plain value upper-cased (``OFF``, ``'replica'``, ``0``, ``FALSE``), else ''."""
    if isinstance(value, exp.Boolean):
        return "TRUE" if value.this else "FALSE"
    if isinstance(value, (exp.Literal, exp.Var, exp.Column, exp.Identifier)):
        return str(value.name).upper()
    return ""


# Words a transaction's start may carry: isolation levels, access modes, SQLite's locking
# modes, MySQL's snapshot, Snowflake's NAME.
_TRANSACTION_WORDS = frozenset(
    {"TRANSACTION", "TRAN", "WORK", "ISOLATION", "LEVEL", "SERIALIZABLE", "REPEATABLE", "READ", "COMMITTED",
     "UNCOMMITTED", "SNAPSHOT", "ONLY", "WRITE", "NOT", "DEFERRABLE", "DEFERRED", "IMMEDIATE", "EXCLUSIVE",
     "WITH", "CONSISTENT", "NAME"}
)


_TRANSACTION_KEYWORDS = frozenset({"TRANSACTION", "TRAN", "WORK"})


def block_call(expression: exp.Expression, ctx: StatementContext) -> list[Finding]:
    """``BEGIN`` followed by something that is no transaction mode runs it: in PL/SQL
    ``BEGIN purge_all; END;`` calls the procedure, which sqlglot reads as a transaction start.

    Example:
        >>> from classifiers import classify_sql
        >>> classify_sql("BEGIN purge_all; END;", dialect="oracle").action_type
        'sql.opaque'
    """
    tokens = ctx.tokens
    if not isinstance(expression, exp.Transaction) or not tokens or tokens[0].text.upper() != "BEGIN":
        return []
    if len(tokens) > 1 and tokens[1].text.upper() in _TRANSACTION_KEYWORDS:
        return []  # BEGIN TRANSACTION name: what follows names the transaction
    for mode in expression.args.get("modes") or ():
        words = str(mode).split()
        named = len(words) == 2 and words[0].upper() == "NAME"  # Snowflake: BEGIN TRANSACTION NAME t1
        if not named and any(word.upper().strip(",") not in _TRANSACTION_WORDS for word in words):
            return [
                finding(
                    Category.OPAQUE,
                    None,
                    f"BEGIN {mode} is no transaction mode: in a procedural block it runs {words[0]}, whose effect cannot be known from the text",
                )
            ]
    return []

