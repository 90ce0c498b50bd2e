"""What every rule gets about the statement it looks at: one walk over the tree, indexed by type."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import TokenError
from sqlglot.parser import Parser
from sqlglot.tokens import Token, Tokenizer, TokenType

from supervisor.models import Finding

# Node types the rules ask for. Indexing only these keeps the single walk cheap.
INDEXED: tuple[type[exp.Expression], ...] = (
    exp.Table,
    exp.Delete,
    exp.Update,
    exp.Insert,
    exp.Merge,
    exp.MultitableInserts,
    exp.Drop,
    exp.DropPartition,
    exp.TruncateTable,
    exp.Alter,
    exp.Create,
    exp.Grant,
    exp.Revoke,
    exp.Command,
    exp.Execute,
    exp.ExecuteSql,
    exp.Into,
    exp.Copy,
    exp.LoadData,
    exp.Comment,
    exp.CTE,
    exp.Undrop,
    exp.ReplacePartition,
    exp.Anonymous,
)
_INDEXED = frozenset(INDEXED)
# Token types that can begin or mark a write, DDL or dynamic SQL anywhere in a statement. A
# statement with none of them cannot change anything, whatever sqlglot made of it.
WRITE_TOKENS = frozenset(
    {TokenType.ALTER, TokenType.BULK_COLLECT_INTO, TokenType.COMMAND, TokenType.COMMENT, TokenType.COPY,
     TokenType.CREATE, TokenType.DELETE, TokenType.DROP, TokenType.EXECUTE, TokenType.GRANT, TokenType.INSERT,
     TokenType.INTO, TokenType.MERGE, TokenType.OVERWRITE, TokenType.RENAME, TokenType.REPLACE, TokenType.REVOKE,
     TokenType.TRUNCATE, TokenType.UNDROP, TokenType.UPDATE, TokenType.EXPORT, TokenType.DESCRIBE}
)


@dataclass(slots=True)
class StatementContext:
    """One statement, as the rules see it.

    Attributes:
        dialect: the sqlglot dialect name the statement was read in.
        sql: the statement's text.
        source: the whole script the statement is part of (token offsets point into it).
        end: the offset in ``source`` just past the statement's last token.
        tokens: the statement's tokens (comments and string literals are not keywords here).
        nodes: the statement's nodes of the ``INDEXED`` types, in walk order; only the types
            present are keys, so a rule reads ``ctx.nodes.get(kind, ())``.
        backfill_max_hours: a write spanning more than this is a costly backfill.
        now: the reference time for relative date ranges, or None when unknown.
        classify_nested: classifies SQL found inside this statement (a literal passed to
            EXECUTE IMMEDIATE, a procedure body, the statement behind EXPLAIN ANALYZE).
        kinds: the token types of ``tokens``, in order, or None when not collected; a rule can
            then tell from one lookup that a clause's keyword is absent.
        switched: the text is read with a backslash in a string taken the other way from the
            dialect's default (see ``BACKSLASH_SWITCHES``); text re-read from it is read so too.
    """

    dialect: str
    sql: str
    source: str
    end: int
    tokens: Sequence[Token]
    backfill_max_hours: float
    now: datetime | None
    classify_nested: Callable[[str], list[Finding]]
    kinds: Sequence[TokenType] | None = None
    switched: bool = False
    nodes: dict[type[exp.Expression], list[exp.Expression]] = field(default_factory=dict)

    def index(self, root: exp.Expression, *, shallow: bool = False) -> None:
        """Walk the tree once and remember the nodes the rules look for.

        ``shallow`` indexes only the root (and an ALTER's actions): enough when the statement's
        only write keyword is its first token, so nothing else in it can write.

        EXPLAIN without ANALYZE (``exp.Describe``) only plans its statement, so the walk
        does not descend into it: a ``DELETE`` behind ``EXPLAIN`` deletes nothing.
        """
        nodes = self.nodes
        if shallow:
            nodes[type(root)] = [root]
            for action in root.args.get("actions") or () if isinstance(root, exp.Alter) else ():
                nodes.setdefault(type(action), []).append(action)
            return
        # sqlglot's compiled depth-first walk visits nodes in the same order as the stack walk
        # below at half the cost; only EXPLAIN, whose statement must not be walked, needs that.
        for node in root.dfs():
            kind = type(node)
            if kind in _INDEXED:
                bucket = nodes.get(kind)
                if bucket is None:
                    nodes[kind] = [node]
                else:
                    bucket.append(node)
            elif kind is exp.Describe and node.args.get("style") != "ANALYZE":
                nodes.clear()
                self._index_planned(root)
                return

    def _index_planned(self, root: exp.Expression) -> None:
        """The walk for a tree holding an EXPLAIN: the explained statement's tables, not its effect."""
        nodes = self.nodes
        stack: list[exp.Expression] = [root]
        pop, push = stack.pop, stack.extend
        while stack:
            node = pop()
            kind = type(node)
            if kind in _INDEXED:
                bucket = nodes.get(kind)
                if bucket is None:
                    nodes[kind] = [node]
                else:
                    bucket.append(node)
            elif kind is exp.Describe and node.args.get("style") != "ANALYZE":
                # EXPLAIN only plans its statement: read the tables, not the statement's effect.
                push(node.find_all(exp.Table))
                continue
            push(node.iter_expressions(reverse=True))


@lru_cache(maxsize=64)
def dialect_engine(name: str) -> Dialect:
    """The sqlglot dialect object for a checked dialect name (built once)."""
    return Dialect.get_or_raise(name)


# Dialects whose servers can be told to read a backslash in a string literal the other way,
# and the setting that does it. sqlglot reads each dialect as its servers do by default.
BACKSLASH_SWITCHES: dict[str, str] = {
    **dict.fromkeys(("mysql", "singlestore", "doris", "starrocks"), "sql_mode NO_BACKSLASH_ESCAPES"),
    **dict.fromkeys(("spark", "spark2", "databricks"), "spark.sql.parser.escapedStringLiterals"),
    "postgres": "standard_conforming_strings = off",
}


class _PerThread(threading.local):
    def __init__(self) -> None:
        self.tokenizers: dict[tuple[str, bool], Tokenizer] = {}
        self.parsers: dict[str, Parser] = {}


_PER_THREAD = _PerThread()


def tokenizer_for(name: str, switched: bool = False) -> Tokenizer:
    """A tokenizer for a dialect, reused by this thread (building one costs more than a short parse).

    ``switched`` reads a backslash in a string literal the other way from the dialect's
    default: not an escape where it is one, an escape where it is not.
    """
    key = (name, switched)
    tokenizer = _PER_THREAD.tokenizers.get(key)
    if tokenizer is None:
        engine = dialect_engine(name)
        kind = _switched_backslash(engine.tokenizer_class) if switched else engine.tokenizer_class
        tokenizer = _PER_THREAD.tokenizers[key] = kind(dialect=engine)
    return tokenizer


@lru_cache(maxsize=16)
def _switched_backslash(base: type[Tokenizer]) -> type[Tokenizer]:
    escapes = list(base.STRING_ESCAPES)
    escapes = [escape for escape in escapes if escape != "\\"] if "\\" in escapes else [*escapes, "\\"]
    return type(f"{base.__name__}SwitchedBackslash", (base,), {"STRING_ESCAPES": escapes})


def tokenize(name: str, sql: str, switched: bool = False) -> list[Token]:
    """Tokenize a text with this thread's tokenizer for a dialect, which keeps no hold on the tokens.

    A tokenizer holds on to the tokens it returned until its next call, so a script's tokens
    would outlive their use, and the next script's would be allocated while they are still
    alive; tokenizing an empty text after each call lets them go with the caller's list.
    """
    tokenizer = tokenizer_for(name, switched)
    try:
        return tokenizer.tokenize(sql)
    finally:
        tokenizer.tokenize("")


def complete_statements(name: str, sql: str, switched: bool = False) -> str:
    """The text up to the end of the last statement the tokenizer completes.

    All of it when it tokenizes; otherwise up to the last ``;`` reached before the error ('' when
    there is none). A server running a script statement by statement runs those before it
    meets the one it cannot read.
    """
    tokenizer = tokenizer_for(name, switched)
    try:
        tokenizer.tokenize(sql)
        return sql
    except TokenError:
        ends = [token.end for token in tokenizer.tokens if token.token_type is TokenType.SEMICOLON]
        return sql[: ends[-1] + 1] if ends else ""
    finally:
        tokenizer.tokenize("")


def parser_for(name: str) -> Parser:
    """A parser for a dialect, reused by this thread; ``parse`` resets its state on every call."""
    parser = _PER_THREAD.parsers.get(name)
    if parser is None:
        parser = _PER_THREAD.parsers[name] = dialect_engine(name).parser()
    return parser


def table_name(table: object) -> str | None:
    """The dotted name of a table-like node as written (catalog.schema.name), or None.

    Example:
        >>> import sqlglot
        >>> table_name(sqlglot.parse_one("SELECT 1 FROM shop.public.orders").find(exp.Table))
        'shop.public.orders'
    """
    kind = type(table)
    if kind is exp.Schema:  # CREATE TABLE t (...): the name is the table inside
        table = table.this
        kind = type(table)
    if kind is exp.Table:
        args = table.args
        if args.get("catalog") is None:
            db = args.get("db")
            this = args.get("this")
            if type(this) is exp.Identifier:
                # name or schema.name, most tables: what ``parts`` gives, without building it.
                # An identifier's ``this`` is its text.
                if db is None:
                    return this.this or None
                if type(db) is exp.Identifier:
                    schema, name = db.this, this.this
                    return f"{schema}.{name}" if schema and name else (schema or name or None)
            elif db is None:
                return table.name or None
    if not isinstance(table, exp.Expression):
        return None
    if isinstance(table, exp.Table):
        parts = [part.name for part in table.parts if part.name]
        return ".".join(parts) or None
    if isinstance(table, (exp.Schema, exp.UserDefinedFunction, exp.StoredProcedure, exp.Index)):
        return table_name(table.this)
    if isinstance(table, (exp.Column, exp.Dot)):
        return ".".join(part.name for part in table.parts if part.name) or None
    name = table.name
    return name or None


def target_names(table: exp.Expression | None) -> set[str]:
    """Lower-cased names a column qualifier may use to mean this table: its name and alias."""
    names: set[str] = set()
    if isinstance(table, exp.Table):
        name, alias = table.name, table.alias
        if name:
            names.add(name.lower())
        if alias:
            names.add(alias.lower())
    return names
