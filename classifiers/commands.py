"""Reading statements sqlglot could only keep as an opaque ``exp.Command``.

sqlglot falls back to ``Command`` (a keyword plus the rest of the text) for syntax it does
not model: many GRANT forms, ``ALTER TABLE ... DROP COLUMN a, b``, ``TRUNCATE ... ON
CLUSTER``, ``REPLACE INTO``, ``EXPLAIN ANALYZE``. The tokens are still real tokens (strings
and comments are not keywords), so where the leading keywords make the effect certain we say
what it is; everything else is ``opaque``.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from operator import attrgetter

from sqlglot.errors import TokenError
from sqlglot.tokens import Token, TokenType

from classifiers.context import WRITE_TOKENS, StatementContext, tokenizer_for
from supervisor.models import Category, Finding

from .rules.common import finding, stored_code_findings, strip_block
from .rules.ddl import SQL_LANGUAGES
from .rules.destructive import (
    CONTAINERS,
    PRINCIPALS,
    blackhole_finding,
    ttl_delete_finding,
)
from .rules.opaque import RESERVED_STATEMENT_DIALECTS

_STRINGS = frozenset(
    {TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.HEREDOC_STRING, TokenType.RAW_STRING,
     TokenType.BYTE_STRING, TokenType.BIT_STRING, TokenType.HEX_STRING, TokenType.UNICODE_STRING}
)
_TOKEN_TYPE = attrgetter("token_type")
# Looked up once: reading an enum member off its class is slow enough to matter per token.
_L_PAREN, _R_PAREN, _DOT, _COMMA = TokenType.L_PAREN, TokenType.R_PAREN, TokenType.DOT, TokenType.COMMA
_NAME_ENDS = frozenset({TokenType.L_PAREN, TokenType.COMMA, TokenType.SEMICOLON})
_STATEMENT_STARTS = frozenset(
    {TokenType.DELETE, TokenType.UPDATE, TokenType.INSERT, TokenType.MERGE, TokenType.DROP, TokenType.TRUNCATE,
     TokenType.ALTER, TokenType.CREATE, TokenType.GRANT, TokenType.REVOKE, TokenType.EXECUTE}
)
_CLAUSE_LEADS = frozenset({"THEN", "FOR", "KEY", "ON", "OR", "AND", "BEFORE", "AFTER", "OF", "INSTEAD"})
# Statements that change nothing a reviewer gates: session and transaction control.
_NEUTRAL = frozenset(
    {"RESET", "UNSET", "USE", "BEGIN", "START", "COMMIT", "ROLLBACK", "END", "SAVEPOINT", "RELEASE",
     "ABORT", "DECLARE", "DEALLOCATE", "DISCARD", "LISTEN", "UNLISTEN", "NOTIFY", "ANALYZE", "CHECKPOINT",
     "GO", "PRINT", "INSTALL", "FETCH", "CLOSE", "MOVE", "COMPUTE", "CACHE",
     "UNCACHE", "ATTACH", "DETACH", "PREPARE", "LOCK", "UNLOCK", "FLUSH"}
)
_READS = frozenset({"SHOW", "DESCRIBE", "DESC", "LIST", "LS", "HELP", "SELECT", "WITH", "VALUES", "TABLE", "GET", "SUMMARIZE", "PRAGMA"})
_NON_DATA_DROPS = frozenset(
    {"CONSTRAINT", "INDEX", "KEY", "PRIMARY", "FOREIGN", "DEFAULT", "NOT", "CHECK", "UNIQUE", "PROJECTION",
     "STATISTICS", "SEARCH", "CLUSTERING", "ROW", "TAG", "MASKING", "FEATURE", "FEATURES", "TTL",
     "IDENTITY", "EXPRESSION", "PERIOD", "SYSTEM", "ALL", "ROLLUP", "TRIGGER"}
)
_OBJECT_WORDS = frozenset(
    {"TABLE", "VIEW", "SCHEMA", "DATABASE", "INDEX", "MATERIALIZED", "FUNCTION", "PROCEDURE", "ROLE", "USER",
     "SEQUENCE", "TYPE", "STAGE", "WAREHOUSE", "CATALOG", "EXTERNAL", "TEMPORARY", "TEMP", "IF", "EXISTS",
     "DYNAMIC", "ICEBERG", "TRANSIENT", "SECURE", "ONLY", "GLOBAL", "LOCAL", "SNAPSHOT", "STREAMING", "LIVE",
     "DICTIONARY", "MACRO", "POLICY", "OWNED", "BY", "SHARE", "STREAM", "TASK", "PIPE", "NAMESPACE",
     "TRIGGER", "PROC", "EVENT", "DEFINER", "ALGORITHM", "OR", "REPLACE", "ALTER", "AGGREGATE", "SUBSCRIPTION",
     "PUBLICATION"}
)


class _Tokens:
    """The statement's tokens read as upper-cased words (strings kept apart), with paren depth.

    ``text`` is what the tokens' offsets point into and ``end`` where the statement ends in it.
    The words are upper-cased in one pass when a handler first asks for one, and depths are
    counted on first use: most statements reach no handler that needs them.
    """

    def __init__(
        self, tokens: Sequence[Token], text: str, end: int, kinds: Sequence[TokenType] | None = None
    ) -> None:
        self.tokens = tokens
        self.text = text
        self.end = end
        self.kinds = list(map(_TOKEN_TYPE, tokens)) if kinds is None else kinds
        self._depth: list[int] | None = None
        self._upper: list[str] | None = None

    def __len__(self) -> int:
        return len(self.tokens)

    @property
    def upper(self) -> list[str]:
        """Every token's upper-cased word; '' for a string literal."""
        if self._upper is None:
            self._upper = [
                "" if kind in _STRINGS else token.text.upper() for token, kind in zip(self.tokens, self.kinds)
            ]
        return self._upper

    def word(self, index: int) -> str:
        """The upper-cased word at ``index``; '' for a string literal or past either end."""
        upper = self.upper
        return upper[index] if 0 <= index < len(upper) else ""

    def words(self, start: int = 0, stop: int | None = None) -> list[str]:
        """The words from ``start`` up to ``stop`` (the end when None), as ``word`` reads them."""
        if stop is not None and stop < 0:
            return []
        return self.upper[max(start, 0) : stop]

    @property
    def depth(self) -> list[int]:
        """How many parentheses enclose each token."""
        if self._depth is None:
            depth: list[int] = []
            level = 0
            for kind in self.kinds:
                if kind is _R_PAREN:
                    level -= 1
                depth.append(level)
                if kind is _L_PAREN:
                    level += 1
            self._depth = depth
        return self._depth

    def top(self, word: str, start: int = 0) -> int:
        """Index of the first occurrence of ``word`` outside parentheses, or -1."""
        upper = self.upper
        if word not in upper:
            return -1
        depth = self.depth
        index = max(start, 0) - 1
        try:
            while True:
                index = upper.index(word, index + 1)
                if depth[index] == 0:
                    return index
        except ValueError:
            return -1

    def object_after(self, index: int) -> str | None:
        """The dotted object name starting at or after ``index``, skipping kind words."""
        while index < len(self.tokens) and self.word(index) in _OBJECT_WORDS:
            index += 1
        parts: list[str] = []
        while index < len(self.tokens):
            kind = self.kinds[index]
            if kind is _DOT:
                index += 1
                continue
            if kind in _STRINGS or kind in _NAME_ENDS:
                break
            parts.append(self.tokens[index].text)
            index += 1
            if index < len(self.tokens) and self.kinds[index] is not _DOT:
                break
        return ".".join(parts) or None

    def rest(self, index: int) -> str:
        """The statement's text from token ``index`` to its end."""
        return self.text[self.tokens[index].start : self.end] if index < len(self.tokens) else ""

    def strings(self) -> list[str]:
        return [token.text for token in self.tokens if token.token_type in _STRINGS]


def recognize_command(ctx: StatementContext) -> list[Finding]:
    """Findings for a statement sqlglot kept as ``exp.Command``, read from its tokens.

    Args:
        ctx: the statement; its tokens are what is read.

    Returns:
        The findings; ``opaque`` when the effect cannot be known for certain.
    """
    head = ctx.tokens[0].text.upper() if ctx.tokens else ""
    if head in _NEUTRAL:
        return _swallowed(_read_tokens(ctx), ctx)
    handler = _HANDLERS.get(head)
    if handler is not None:
        return handler(_read_tokens(ctx), ctx)
    if head in _READS:
        # Only the token types matter here, so the remainder's tokens are not rebuilt into words.
        after = _remainder(ctx)
        if any(token.token_type in WRITE_TOKENS for token in (ctx.tokens[1:] if after is None else after)):
            # e.g. a WITH sqlglot could not model whose CTE deletes: not only a read.
            return _opaque(head, ctx, "it reads, but also contains a keyword that writes")
        return [finding(Category.READ, None, f"{head} reads metadata or data")]
    return _opaque(f"{head} {_read_tokens(ctx).word(1)}".strip(), ctx)


def _swallowed(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    """What a neutral command (SET NOCOUNT ON, PRINT, GO, DECLARE, BEGIN ...) swallowed after it.

    T-SQL needs no ``;`` between statements, and sqlglot keeps such a command and everything
    after it up to the next ``;`` as one ``Command``: ``SET NOCOUNT ON`` followed by a DELETE on
    the next line, or a ``BEGIN`` block's first statement, would pass as neutral. So each
    ``GO``-separated part of the rest is classified from its first write keyword on.
    """
    found: list[Finding] = []
    start = 1
    while start < len(toks):
        stop = _batch_end(toks, start)
        write = _first_write(toks, start, stop)
        if write >= 0:
            end = toks.tokens[stop].start if stop < len(toks) else toks.end
            what = f"{toks.word(0)} swallows the statement after it (no ';' between them)"
            nested = ctx.classify_nested(toks.text[toks.tokens[write].start : end])
            starts = _statement_starts(toks, write, stop)
            if len(starts) > 1 and any(item.category is Category.PARSE_ERROR for item in nested):
                # Several statements with no ';' between them (DELETE ... then DROP ... on the
                # next line): each read on its own, from the keyword that starts it.
                bounds = [toks.tokens[index].start for index in starts] + [end]
                nested = [item for a, b in pairwise(bounds) for item in ctx.classify_nested(toks.text[a:b])]
            found.extend(_nested_findings(nested, what))
        start = stop + 1
    return found


def _statement_starts(toks: _Tokens, start: int, stop: int) -> list[int]:
    """Indices in ``[start, stop)`` of the keywords that begin a statement, outside parentheses.

    A keyword that continues a clause is not a start: ``WHEN MATCHED THEN UPDATE``, ``FOR
    UPDATE``, ``ON DUPLICATE KEY UPDATE``, ``ON DELETE CASCADE``, ``CREATE OR ALTER``.
    """
    depth, kinds = toks.depth, toks.kinds
    return [
        index
        for index in range(start, stop)
        if kinds[index] in _STATEMENT_STARTS and depth[index] == 0 and (index == start or toks.word(index - 1) not in _CLAUSE_LEADS)
    ]


def _batch_end(toks: _Tokens, start: int) -> int:
    """The index of the next T-SQL batch separator (GO) at or after ``start``, or the length."""
    for index in range(start, len(toks)):
        if toks.kinds[index] is TokenType.COMMAND and toks.word(index) == "GO":
            return index
    return len(toks)


def _first_write(toks: _Tokens, start: int, stop: int) -> int:
    """The index of the first token in ``[start, stop)`` that begins a write, or -1.

    A locking clause (``FOR UPDATE``, ``FOR NO KEY UPDATE``), a cursor's or SELECT's ``INTO``
    a variable, and REPLACE or INSERT called as string functions write nothing.
    """
    kinds = toks.kinds
    for index in range(start, stop):
        kind = kinds[index]
        if kind not in WRITE_TOKENS:
            continue
        if kind is TokenType.UPDATE and toks.word(index - 1) in ("FOR", "KEY"):
            continue
        if kind is TokenType.INTO and toks.tokens[index + 1 : index + 2] and _is_variable(toks.tokens[index + 1]):
            continue
        if kind in (TokenType.REPLACE, TokenType.INSERT) and index + 1 < len(toks) and kinds[index + 1] is _L_PAREN:
            continue
        return index
    return -1


def _is_variable(token: Token) -> bool:
    return token.token_type is TokenType.PARAMETER or token.text[:1] in ("@", ":")


def _nested_findings(items: list[Finding], what: str) -> list[Finding]:
    """Findings of SQL read out of a command, as they are; what does not parse is ``opaque``."""
    found: list[Finding] = []
    for item in items:
        if item.category is Category.PARSE_ERROR:
            found.append(finding(Category.OPAQUE, item.object, f"{what}, which cannot be read: {item.message}"))
        else:
            found.append(item)
    return found


def _remainder(ctx: StatementContext) -> list[Token] | None:
    """The tokens of what follows a command keyword, or None when sqlglot tokenized it already.

    sqlglot's tokenizer keeps everything after EXPLAIN, DO, EXECUTE, SHOW ... as one string.
    """
    tokens = ctx.tokens
    if len(tokens) != 2 or tokens[1].token_type != TokenType.STRING:
        return None
    tokenizer = tokenizer_for(ctx.dialect, ctx.switched)
    # Each dialect's own list: T-SQL's END keeps the rest of its batch as text too.
    if tokens[0].token_type not in tokenizer.COMMANDS:
        return None
    try:
        return tokenizer.tokenize(ctx.source[tokens[0].end + 1 : ctx.end])
    except (TokenError, RecursionError):
        return None


def _read_tokens(ctx: StatementContext) -> _Tokens:
    """The statement's tokens, with a command keyword's raw remainder tokenized again."""
    tokens = ctx.tokens
    inner = _remainder(ctx)
    if inner is None:
        return _Tokens(tokens, ctx.source, ctx.end, ctx.kinds)
    text = " " + ctx.source[tokens[0].end + 1 : ctx.end]
    shifted = [Token(t.token_type, t.text, t.line, t.col, t.start + 1, t.end + 1, t.comments) for t in inner]
    head = Token(tokens[0].token_type, tokens[0].text, 1, 1, 0, 0, [])
    return _Tokens([head, *shifted], text, len(text))


def _opaque(what: str, ctx: StatementContext, why: str = "its effect cannot be known from the text") -> list[Finding]:
    return [finding(Category.OPAQUE, None, f"{what} is not a statement trustladder can read: {why}")]


def _grant(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    on = toks.top("ON")
    name = toks.object_after(on + 1) if on >= 0 else None
    verb = toks.word(0)
    return [finding(Category.ACCESS_CHANGE, name, f"{verb} changes who may use {name or 'a role or privilege'}")]


def _truncate(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    name = toks.object_after(1)
    found = [finding(Category.TRUNCATE, name, f"TRUNCATE {name} removes every row")]
    if ctx.dialect in RESERVED_STATEMENT_DIALECTS:
        # T-SQL needs no ';': TRUNCATE TABLE a DROP TABLE b runs both.
        starts = _statement_starts(toks, 2, len(toks))
        if starts:
            nested = ctx.classify_nested(toks.rest(starts[0]))
            found.extend(_nested_findings(nested, f"the statement after TRUNCATE {name} (no ';' between them)"))
    return found


def _drop(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    kind = toks.word(1)
    if kind == "OWNED":
        who = toks.object_after(3)
        return [
            finding(Category.DROP, who, f"DROP OWNED BY {who} drops every object the role owns"),
            finding(Category.ACCESS_CHANGE, who, f"DROP OWNED BY {who} revokes the role's privileges"),
        ]
    name = _principal_after(toks, 2) if kind in PRINCIPALS else toks.object_after(1)
    found = [finding(Category.DROP, name, f"DROP {kind} {name} cannot be undone")]
    if "MASKING" in toks.words(0, 3) or "POLICY" in toks.words(0, 4) or kind in PRINCIPALS:
        found.append(finding(Category.ACCESS_CHANGE, name, f"DROP {kind} {name} changes who may see what"))
    return found


def _undrop(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    name = toks.object_after(1)
    return [finding(Category.SCHEMA_CHANGE, name, f"UNDROP restores {name}")]


def _replace(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    if toks.word(1) == "TABLE":
        name = toks.object_after(1)
        return [finding(Category.OVERWRITE, name, f"REPLACE TABLE {name} replaces the table and its rows")]
    name = toks.object_after(2 if toks.word(1) == "INTO" else 1)
    # Row-level upsert: deletes and re-inserts rows whose key conflicts.
    return [finding(Category.WRITE, name, f"REPLACE INTO upserts rows into {name}")]


def _insert(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    name = toks.object_after(toks.top("INTO") + 1 if toks.top("INTO") >= 0 else 2)
    if toks.top("OVERWRITE") >= 0:
        return [finding(Category.OVERWRITE, name, f"INSERT OVERWRITE replaces the existing rows of {name}")]
    return [finding(Category.WRITE, name, f"INSERT adds rows to {name}")] + _opaque("INSERT", ctx, "its source could not be read")


def _create(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    replace = toks.word(1) == "OR" and toks.word(2) in ("REPLACE", "ALTER")
    as_at = toks.top("AS")
    head = toks.words(0, as_at if as_at > 0 else 8)
    name = toks.object_after(3 if replace else 1)
    if replace and "TABLE" in head and "FUNCTION" not in head and "PROCEDURE" not in head:
        return [finding(Category.OVERWRITE, name, f"CREATE OR REPLACE TABLE {name} replaces the table and all its rows")]
    kind = next((w for w in head[1:] if w in ("TABLE", "VIEW", "FUNCTION", "PROCEDURE", "PROC", "TRIGGER", "TYPE", "INDEX", "SCHEMA", "DATABASE", "STAGE", "MACRO", "SUBSCRIPTION", "PUBLICATION", *PRINCIPALS)), "OBJECT")
    if kind == "SUBSCRIPTION":
        # Postgres logical replication: the publisher's changes, deletes and truncates included,
        # are applied to local tables from then on.
        return [finding(Category.OPAQUE, name, f"CREATE SUBSCRIPTION {name} applies another server's inserts, updates, deletes and truncates to local tables")]
    if kind in PRINCIPALS:
        who = _principal_after(toks, head.index(kind) + 1)
        return [finding(Category.ACCESS_CHANGE, who, f"CREATE {kind} {who} adds an account or role that can be given access")]
    if kind == "OBJECT" and "POLICY" in head:
        # Row-level security, row access and masking policies decide who sees which data.
        at = head.index("POLICY")
        policy = toks.object_after(at + 1)
        label = " ".join(w for w in head[1 : at + 1] if w not in ("OR", "REPLACE", "ALTER"))
        return [finding(Category.ACCESS_CHANGE, policy, f"CREATE {label} {policy} changes who may see which data")]
    if replace and kind in CONTAINERS:
        return [finding(Category.DROP, name, f"CREATE OR REPLACE {kind} {name} drops the {kind.lower()} and every object in it")]
    found: list[Finding] = []
    at = 3 if replace else 1
    if kind == "OBJECT" and toks.word(at) in _SCHEDULED:
        kind = toks.word(at)
        name = toks.object_after(at + 1)
    if replace:
        found.append(finding(Category.SCHEMA_CHANGE, name, f"CREATE OR REPLACE {kind} {name} replaces its definition"))
    else:
        found.append(finding(Category.WRITE, name, f"CREATE {kind} {name} creates a new object"))
    if "POLICY" in head:
        found.append(finding(Category.ACCESS_CHANGE, name, f"CREATE {kind} {name} attaches a row access or masking policy"))
    found.extend(_stored_body(toks, ctx, kind, name))
    return found


_ROUTINES = frozenset({"FUNCTION", "PROCEDURE", "PROC", "TRIGGER"})


def _alters_body(toks: _Tokens, kind: str) -> bool:
    """Whether an ALTER of a routine, trigger, event or task gives it a new body (not only a
    new name, owner or state)."""
    if kind in _SCHEDULED:
        return toks.top(_SCHEDULED[kind]) >= 0
    if kind not in _ROUTINES:
        return False
    return toks.top("AS") >= 0 or bool(_bodies(toks)) or (kind == "TRIGGER" and _trigger_statement(toks) >= 0)


def _stored_body(toks: _Tokens, ctx: StatementContext, kind: str, name: str | None, *, after_as: bool = False) -> list[Finding]:
    """What is risky in the code a routine, trigger, rule, event or task stores, created or altered.

    The body is a string of code, a BEGIN ... END block, a trigger's one statement, or with
    ``after_as`` (T-SQL's ``ALTER PROCEDURE p AS DELETE ...``) the statements after ``AS``.
    """
    what = f"the body of {kind} {name}"
    if kind in _SCHEDULED:
        return _scheduled(toks, ctx, kind, what)
    if kind not in _ROUTINES:
        return []
    if kind == "TRIGGER" and _trigger_statement(toks) >= 0:
        return stored_code_findings(ctx.classify_nested(toks.rest(_trigger_statement(toks))), what)
    if kind != "TRIGGER" and _foreign_language(toks) is not None:
        return [finding(Category.OPAQUE, name, f"{what} is {_foreign_language(toks)} code trustladder cannot read")]
    if _bodies(toks) or not after_as:
        return _body(toks, ctx, what)
    at = toks.top("AS")
    if at < 0:
        return []
    return stored_code_findings(ctx.classify_nested(strip_block(toks.rest(at + 1))), what)


def _foreign_language(toks: _Tokens) -> str | None:
    """The language of a routine whose body is not SQL (``native`` for MySQL's SONAME), or None."""
    if toks.top("SONAME") >= 0:
        return "native"
    language = toks.top("LANGUAGE")
    if language >= 0:
        # The language may be quoted (LANGUAGE 'plpython3u'), which ``word`` reads as ''.
        name = (toks.word(language + 1) or toks.tokens[language + 1].text) if language + 1 < len(toks) else ""
        if name.lower() not in SQL_LANGUAGES:
            return name.lower() or "unknown"
    return None


def _trigger_statement(toks: _Tokens) -> int:
    """Where a trigger's body is a single statement, the index of its first token; else -1.

    MySQL's body follows ``FOR EACH ROW`` (and ``FOLLOWS``/``PRECEDES`` another trigger), T-SQL's
    follows ``AS``. A BEGIN ... END block, a string body and Postgres's ``EXECUTE FUNCTION f()``
    are left to ``_body``.
    """
    each = toks.top("EACH")
    if each >= 0 and toks.word(each + 1) == "ROW":
        start = each + 2
        if toks.word(start) in ("FOLLOWS", "PRECEDES"):
            start += 2
            while start < len(toks) and toks.kinds[start] is _DOT:
                start += 2
    else:
        start = next((i + 1 for i in range(len(toks)) if toks.word(i) == "AS" and toks.depth[i] == 0 and toks.word(i - 1) != "EXECUTE"), -1)
    if start < 0 or start >= len(toks) or toks.word(start) in ("BEGIN", "DECLARE", "WHEN", "EXECUTE", ""):
        return -1
    return start


# Objects whose body runs later, on a schedule or an event: Postgres rules (``DO [ALSO |
# INSTEAD] ...``), MySQL events (``DO ...``) and Snowflake tasks (``AS ...``).
_SCHEDULED = {"RULE": "DO", "EVENT": "DO", "TASK": "AS"}


def _scheduled(toks: _Tokens, ctx: StatementContext, kind: str, what: str) -> list[Finding]:
    """The risky part of what a rule, event or task will run."""
    start = toks.top(_SCHEDULED[kind])
    if start < 0:
        return _opaque(kind, ctx, "its body could not be found")
    start += 1
    while toks.word(start) in ("ALSO", "INSTEAD"):
        start += 1
    body = toks.rest(start).strip()
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
    if body.upper() == "NOTHING":  # a Postgres rule that does nothing instead
        return []
    return stored_code_findings(ctx.classify_nested(strip_block(body)), what)


def _principal_after(toks: _Tokens, index: int) -> str | None:
    """The account or role named at ``index`` (after IF NOT EXISTS); MySQL writes it as a string."""
    while toks.word(index) in ("IF", "NOT", "EXISTS"):
        index += 1
    if index < len(toks) and toks.kinds[index] in _STRINGS:
        return toks.tokens[index].text or None
    return toks.object_after(index)


def _alter(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    kind = toks.word(1)
    name = toks.object_after(1)
    if _alters_body(toks, kind):
        # A new body replaces the stored one: what it will run is read as CREATE's is.
        changed = finding(Category.SCHEMA_CHANGE, name, f"ALTER {kind} {name} changes its definition")
        return [changed, *_stored_body(toks, ctx, kind, name, after_as=True)]
    if kind == "DEFAULT" and toks.word(2) == "PRIVILEGES":
        return [finding(Category.ACCESS_CHANGE, None, "ALTER DEFAULT PRIVILEGES changes the access objects created later are given")]
    if kind == "AUTHORIZATION":  # T-SQL: ALTER AUTHORIZATION ON SCHEMA::s TO someone
        return [finding(Category.ACCESS_CHANGE, None, f"ALTER AUTHORIZATION {toks.rest(2).strip()} transfers ownership")]
    if toks.words(1, 3) == ["SERVER", "ROLE"]:  # T-SQL server roles (sysadmin ...)
        role = toks.object_after(3)
        return [finding(Category.ACCESS_CHANGE, role, f"ALTER SERVER ROLE {role} {toks.rest(4).strip()} changes who holds the role")]
    if "POLICY" in toks.words(1, 4):
        head = toks.words(0, 4)
        policy = toks.object_after(head.index("POLICY") + 1)
        return [finding(Category.ACCESS_CHANGE, policy, f"{' '.join(head[:head.index('POLICY') + 1])} {policy} changes who may see which data")]
    found: list[Finding] = []
    changes_definition = False
    for begin, end in _clauses(toks, 2):
        word, nxt = toks.word(begin), toks.word(begin + 1)
        words = toks.words(begin, end)
        # A tokenizer may keep two words as one keyword (Snowflake's PRIMARY KEY).
        if word == "DROP" and nxt.split(" ", 1)[0] not in _NON_DATA_DROPS:
            what = toks.word(begin + 2) if nxt in ("COLUMN", "COLUMNS", "PARTITION", "IF") else nxt
            label = nxt if nxt in ("COLUMN", "COLUMNS", "PARTITION") else "COLUMN"
            found.append(finding(Category.DROP, name, f"ALTER {kind} {name} DROP {label} {what.lower()} deletes stored data"))
        elif word == "TRUNCATE" and nxt == "PARTITION":
            found.append(finding(Category.TRUNCATE, name, f"ALTER {kind} {name} TRUNCATE PARTITION removes the partition's rows"))
        elif word == "REPLACE" and nxt == "PARTITION":
            found.append(finding(Category.OVERWRITE, name, f"ALTER {kind} {name} REPLACE PARTITION replaces the partition's rows"))
        elif word == "SWITCH" and "TRUNCATE_TARGET" in words:
            found.append(finding(Category.OVERWRITE, name, f"ALTER {kind} {name} SWITCH ... TRUNCATE_TARGET replaces the target's rows"))
        elif _pair_in(words, "OWNER", "TO"):
            owner = words[words.index("OWNER") + 2].lower() if words.index("OWNER") + 2 < len(words) else "another role"
            found.append(finding(Category.ACCESS_CHANGE, name, f"ALTER {kind} {name} OWNER TO {owner} transfers ownership"))
        elif "AUTHORIZATION" in words or _pair_in(words, "ADD", "MEMBER") or _pair_in(words, "DROP", "MEMBER") or (
            kind == "SHARE" and "ACCOUNTS" in words
        ):
            # Trino's SET AUTHORIZATION, T-SQL role membership, Snowflake's share consumers.
            found.append(finding(Category.ACCESS_CHANGE, name, f"ALTER {kind} {name} {' '.join(words[:3]).lower()} changes who may use it"))
        elif "MASKING" in words or ("ROW" in words and "ACCESS" in words and ("POLICY" in words or "POLICIES" in words)):
            found.append(finding(Category.ACCESS_CHANGE, name, f"ALTER {kind} {name} changes a masking or row access policy"))
            changes_definition = True
        elif "ROW" in words and "LEVEL" in words and "SECURITY" in words:
            found.append(finding(Category.ACCESS_CHANGE, name, f"ALTER {kind} {name} {' '.join(words).lower()} changes who may see which rows"))
        elif word in ("DELETE", "UPDATE"):
            found.extend(_unsupported_dml(toks, ctx, begin))
        elif loss := _data_loss_clause(words, toks, name, begin):
            found.extend(loss)
        else:
            changes_definition = True
    if kind in PRINCIPALS:
        found.append(finding(Category.ACCESS_CHANGE, name, f"ALTER {kind} {name} changes an account's access"))
    elif changes_definition or not found:
        found.append(finding(Category.SCHEMA_CHANGE, name, f"ALTER {kind} {name} changes its definition"))
    return found


def _data_loss_clause(words: list[str], toks: _Tokens, name: str | None, begin: int) -> list[Finding]:
    """Findings for an ALTER clause that loses stored data without saying DROP, or none.

    Oracle's SET UNUSED (the columns' data can never be read again), ClickHouse's CLEAR COLUMN
    (every stored value reset), MODIFY TTL and MATERIALIZE TTL (the server deletes the rows
    the TTL expires) and MOVE PARTITION ... TO TABLE (the rows leave the table), Redshift's
    APPEND FROM (every row of the source is moved out of it) and MySQL's BLACKHOLE engine
    (which stores nothing, so converting a table discards its rows).
    """
    head = words[:2]
    if head == ["SET", "UNUSED"]:
        return [finding(Category.DROP, name, f"ALTER TABLE {name} SET UNUSED makes columns unreadable for good, as a DROP COLUMN does")]
    if head == ["CLEAR", "COLUMN"]:
        column = toks.word(begin + 2).lower()
        return [finding(Category.UNSCOPED_UPDATE, name, f"ALTER TABLE {name} CLEAR COLUMN {column} resets the column's stored values in every row it covers")]
    if head == ["MATERIALIZE", "TTL"]:
        return [finding(Category.UNSCOPED_DELETE, name, f"ALTER TABLE {name} MATERIALIZE TTL applies the TTL now: the server deletes the rows it expires")]
    if head == ["MODIFY", "TTL"]:
        return [ttl_delete_finding(name)]
    if head == ["MODIFY", "COLUMN"] and "TTL" in words:
        column = toks.word(begin + 2).lower()
        return [finding(Category.UNSCOPED_UPDATE, name, f"ALTER TABLE {name} MODIFY COLUMN {column} ... TTL makes the server reset the values the TTL expires")]
    if head[:1] == ["MOVE"] and _pair_in(words, "TO", "TABLE"):
        return [finding(Category.DROP, name, f"ALTER TABLE {name} {' '.join(words[:3])} ... TO TABLE moves the rows out of {name}")]
    if head == ["APPEND", "FROM"]:
        source = toks.object_after(begin + 2)
        return [
            finding(Category.TRUNCATE, source, f"ALTER TABLE {name} APPEND FROM {source} moves every row out of {source}, leaving it empty"),
            finding(Category.WRITE, name, f"ALTER TABLE {name} APPEND FROM {source} adds {source}'s rows to {name}"),
        ]
    if "ENGINE" in words and "BLACKHOLE" in words:
        return [blackhole_finding(name)]
    return []


def _pair_in(words: list[str], first: str, second: str) -> bool:
    """Whether ``first`` is directly followed by ``second`` among the words."""
    return first in words and second in words and any(a == first and b == second for a, b in pairwise(words))


def _clauses(toks: _Tokens, start: int) -> list[tuple[int, int]]:
    """The comma-separated clauses of an ALTER, after the object's name, as token ranges."""
    index = start
    while toks.word(index) in _OBJECT_WORDS or toks.word(index) == "NOT":
        index += 1
    index += 1  # the name
    while index + 1 < len(toks) and toks.kinds[index] is _DOT:
        index += 2
    clauses: list[tuple[int, int]] = []
    begin = index
    depth = toks.depth
    for position in range(index, len(toks)):
        if depth[position] == 0 and toks.kinds[position] is _COMMA:
            if position > begin:
                clauses.append((begin, position))
            begin = position + 1
    if begin < len(toks):
        clauses.append((begin, len(toks)))
    return clauses


def _rename(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    name = toks.object_after(1)
    return [finding(Category.SCHEMA_CHANGE, name, f"RENAME {toks.word(1)} {name} renames it; queries using the old name break")]


def _unsupported_dml(toks: _Tokens, ctx: StatementContext, start: int = 0) -> list[Finding]:
    verb = toks.word(start)
    if toks.top("WHERE", start) < 0:
        category = Category.UNSCOPED_DELETE if verb == "DELETE" else Category.UNSCOPED_UPDATE
        return [finding(category, toks.object_after(start + 1), f"{verb} has no WHERE clause: it touches every row")]
    return _opaque(verb, ctx, "its WHERE could not be read, so its scope is unknown")


def _explain(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    """EXPLAIN plans a statement; with ANALYZE it runs it, and does whatever the statement does.

    ANALYZE may be a leading word (``EXPLAIN ANALYZE VERBOSE ...``) or anywhere in Postgres's
    options list (``EXPLAIN (FORMAT JSON, ANALYZE) ...``), where ``ANALYZE false`` turns it off.
    The explained statement starts after the balanced options list and the leading words.
    """
    start, analyze = 1, False
    if len(toks) > 1 and toks.kinds[1] is _L_PAREN:
        close = _closing_paren(toks, 1)
        if close < 0:
            return _opaque("EXPLAIN", ctx, "its options list is not closed")
        analyze = _analyze_option(toks, 2, close)
        start = close + 1
    while toks.word(start) in _EXPLAIN_WORDS:
        analyze = analyze or toks.word(start) in ("ANALYZE", "ANALYSE")
        start += 1
    if not analyze:
        return [finding(Category.READ, None, "EXPLAIN plans a statement without running it")]
    inner = ctx.classify_nested(toks.rest(start))
    return inner or [finding(Category.READ, None, "EXPLAIN ANALYZE runs a read")]


# Words that may stand between EXPLAIN and the statement it explains.
_EXPLAIN_WORDS = frozenset({"ANALYZE", "ANALYSE", "VERBOSE", "EXTENDED", "QUERY", "PLAN", "FORMATTED", "CODEGEN", "COST", "LOGICAL"})
_OFF = frozenset({"FALSE", "OFF", "0", "NO"})


def _closing_paren(toks: _Tokens, index: int) -> int:
    """The index of the ``)`` that closes the ``(`` at ``index``, or -1 when it is not closed."""
    depth = toks.depth
    for position in range(index + 1, len(toks)):
        if toks.kinds[position] is _R_PAREN and depth[position] == depth[index]:
            return position
    return -1


def _analyze_option(toks: _Tokens, start: int, stop: int) -> bool:
    """Whether an EXPLAIN options list ``[start, stop)`` turns ANALYZE on (it is off unless named)."""
    option: list[str] = []
    for index in range(start, stop + 1):
        if index == stop or (toks.kinds[index] is _COMMA and toks.depth[index] == toks.depth[start]):
            if option and option[0] in ("ANALYZE", "ANALYSE") and not (len(option) > 1 and option[1] in _OFF):
                return True
            option = []
        else:
            option.append(toks.word(index) or toks.tokens[index].text.upper())
    return False


def _execute(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    """EXECUTE IMMEDIATE, EXEC('...') and sp_executesql run the SQL text they are given.

    Only text written out as a string literal, or as string literals joined with ``||`` or
    ``+``, can be read; any other expression (``IF(...)``, ``REPLACE(...)``, a variable) builds
    the SQL at run time, and is ``opaque``.
    """
    span = _dynamic_sql_span(toks)
    if span is None:
        target = toks.object_after(1)
        return _opaque(f"{toks.word(0)} {target or ''}".strip(), ctx, "it runs code whose effect cannot be known from the text")
    text = _joined_literals(toks, *span)
    if text is None:
        return _opaque(toks.word(0), ctx, "it runs SQL built at run time")
    return ctx.classify_nested(strip_block(text)) or _opaque(toks.word(0), ctx)


def _dynamic_sql_span(toks: _Tokens) -> tuple[int, int] | None:
    """The token range ``[start, stop)`` of the SQL text an EXECUTE runs, or None for a procedure call."""
    if toks.word(1) == "IMMEDIATE":
        # BigQuery and Snowflake: EXECUTE IMMEDIATE <text> [INTO ...] [USING ...]
        ends = [at for at in (toks.top("INTO", 2), toks.top("USING", 2)) if at >= 0]
        return 2, min(ends, default=len(toks))
    if len(toks) > 1 and toks.kinds[1] is _L_PAREN and toks.strings():
        close = _closing_paren(toks, 1)
        return 2, close if close >= 0 else len(toks)
    words = toks.words()
    if "SP_EXECUTESQL" in words:
        start = words.index("SP_EXECUTESQL") + 1
        comma = next((i for i in range(start, len(toks)) if toks.kinds[i] is _COMMA and toks.depth[i] == 0), len(toks))
        return start, comma
    return None


_PLAIN_STRINGS = frozenset({TokenType.STRING, TokenType.NATIONAL_STRING, TokenType.HEREDOC_STRING, TokenType.RAW_STRING})
_CONCATENATION = frozenset({TokenType.DPIPE, TokenType.PLUS})


def _joined_literals(toks: _Tokens, start: int, stop: int) -> str | None:
    """The text of string literals joined with ``||`` or ``+`` in ``[start, stop)``, or None
    when anything else is there (a function call, a variable, a number)."""
    kinds = toks.kinds[start:stop]
    if not kinds or len(kinds) % 2 == 0:
        return None
    if any(kind not in _PLAIN_STRINGS for kind in kinds[::2]) or any(kind not in _CONCATENATION for kind in kinds[1::2]):
        return None
    return "".join(token.text for token in toks.tokens[start:stop:2])


def _do(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    """A DO block runs when the statement does: what its body does, scoped writes included."""
    found: list[Finding] = []
    for body in _bodies(toks):
        found.extend(_nested_findings(ctx.classify_nested(strip_block(body)), "the DO block"))
    return found or _opaque("DO", ctx)


def _body(toks: _Tokens, ctx: StatementContext, what: str) -> list[Finding]:
    """Classify a stored procedural body ($$...$$, or BEGIN ... END) and keep what is risky."""
    found: list[Finding] = []
    for body in _bodies(toks):
        found.extend(stored_code_findings(ctx.classify_nested(strip_block(body)), what))
    return found


def _bodies(toks: _Tokens) -> list[str]:
    """The procedural bodies a statement holds: its strings of code, else what follows BEGIN."""
    bodies = [text for text in toks.strings() if ";" in text or " " in text.strip()]
    begin = toks.top("BEGIN")
    if not bodies and begin >= 0:
        bodies = [toks.rest(begin)]
    return bodies


def _copy(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    if toks.top("TO") >= 0 and toks.top("FROM") < 0:
        return [finding(Category.READ, toks.object_after(1), "COPY exports data to files outside the database")]
    name = toks.object_after(2 if toks.word(1) == "INTO" else 1)
    return [finding(Category.WRITE, name, f"COPY loads files into {name}")]


def _comment(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    return [finding(Category.SCHEMA_CHANGE, toks.object_after(2), "COMMENT ON changes an object's description")]


def _merge(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    name = toks.object_after(2 if toks.word(1) == "INTO" else 1)
    return [finding(Category.WRITE, name, f"MERGE changes rows of {name}")] + _opaque("MERGE", ctx, "its conditions could not be read")


def _refresh(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    name = toks.object_after(1)
    return [finding(Category.WRITE, name, f"REFRESH recomputes and rewrites the stored rows of {name}")]


def _load(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    """MySQL's LOAD DATA and LOAD XML load a file into a table; DuckDB's LOAD loads an extension."""
    what = toks.word(1)
    if what not in ("DATA", "XML"):
        return []  # DuckDB's LOAD of an extension
    into = toks.top("INTO")
    name = toks.object_after(into + 1) if into >= 0 else None
    replaces = next((word for word in ("OVERWRITE", "REPLACE") if toks.top(word) >= 0), None)
    if replaces is not None:
        return [finding(Category.OVERWRITE, name, f"LOAD {what} ... {replaces} replaces the rows of {name}")]
    return [finding(Category.WRITE, name, f"LOAD {what} loads a file into {name}")]


def _set(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    """SET forms sqlglot keeps as a command: a switch of role or user, or a change of an
    account's password or default roles, changes what is allowed."""
    first = toks.word(1)
    if first == "PASSWORD":
        # MySQL: SET PASSWORD [FOR account] = ...
        who = _principal_after(toks, 3) if toks.word(2) == "FOR" else "the current account"
        return [finding(Category.ACCESS_CHANGE, who, f"SET PASSWORD changes the credentials of {who}")]
    if first == "DEFAULT" and toks.word(2) == "ROLE":
        to = toks.top("TO")
        who = _principal_after(toks, to + 1) if to >= 0 else None
        return [finding(Category.ACCESS_CHANGE, who, f"SET DEFAULT ROLE changes the roles {who or 'an account'} is given at login")]
    at = 2 if first in ("SESSION", "LOCAL") and toks.word(2) != "AUTHORIZATION" else 1
    if toks.word(at) == "ROLE":
        at += 1
    elif toks.words(at, at + 2) == ["SESSION", "AUTHORIZATION"]:
        at += 2
    else:
        # SET TIME ZONE, SET CONSTRAINTS ...: how the session reads, not what it may do; but
        # T-SQL's SET NOCOUNT ON can swallow the statement on the next line.
        return _swallowed(toks, ctx)
    quoted = at < len(toks) and toks.kinds[at] in _STRINGS
    if not quoted and toks.word(at) in ("", "NONE", "DEFAULT"):
        return []  # gives privileges up, or goes back to the session's own
    # A role named in quotes (SET ROLE 'admin', MySQL's 'admin'@'%') is a role all the same.
    who = toks.tokens[at].text if quoted else toks.object_after(at) or toks.word(at).lower()
    return [finding(Category.ACCESS_CHANGE, who, f"{' '.join(toks.words(0, at))} {who}: the statements after it run with its privileges")]


def _maintenance(toks: _Tokens, ctx: StatementContext) -> list[Finding]:
    return _opaque(toks.word(0), ctx, "a maintenance command whose effect depends on the warehouse (VACUUM can remove the history a rollback needs)")


_HANDLERS = {
    "GRANT": _grant,
    "REVOKE": _grant,
    "SET": _set,
    "DENY": _grant,
    "TRUNCATE": _truncate,
    "DROP": _drop,
    "UNDROP": _undrop,
    "RENAME": _rename,
    "REPLACE": _replace,
    "INSERT": _insert,
    "CREATE": _create,
    "ALTER": _alter,
    "EXPLAIN": _explain,
    "EXECUTE": _execute,
    "EXEC": _execute,
    "CALL": _execute,
    "DO": _do,
    "COPY": _copy,
    "COMMENT": _comment,
    "MERGE": _merge,
    "UPDATE": _unsupported_dml,
    "DELETE": _unsupported_dml,
    "REFRESH": _refresh,
    "LOAD": _load,
    "MSCK": _maintenance,
    "VACUUM": _maintenance,
    "OPTIMIZE": _maintenance,
    "REINDEX": _maintenance,
    "CLUSTER": _maintenance,
    "PURGE": _maintenance,
}
