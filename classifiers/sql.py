"""Classify SQL text, statement by statement, in the dialect it is written in.

The text is tokenized once and parsed in one call; statements are split on ``;`` tokens, so a
``;`` inside a string or a comment never splits. When that parse fails, each statement is
parsed on its own, so one statement that does not parse is reported as ``parse_error`` without
hiding what the others do.

How much of a tree is read depends on its tokens: a query with no token that could start a
write is a plain read and is not walked; a statement whose only write keyword is its first
token is judged from its root; anything else is walked once, and the rules in
``classifiers.rules.RULES`` read that walk.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import datetime
from functools import cache, lru_cache
from itertools import chain
from operator import attrgetter

from pydantic import BaseModel
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError, TokenError
from sqlglot.parser import Parser
from sqlglot.tokens import Token, TokenType

from classifiers.context import (
    BACKSLASH_SWITCHES,
    WRITE_TOKENS,
    StatementContext,
    complete_statements,
    parser_for,
    tokenize,
)
from classifiers.rules import ROOT_TRIGGERS, RULES, TRIGGERS, Rule
from classifiers.rules.common import finding
from classifiers.rules.opaque import (
    RESERVED_STATEMENT_DIALECTS,
    RESERVED_STATEMENT_WORDS,
    mentions_sql_function,
)
from classifiers.rules.reads_writes import READ_ROOTS, read_tables
from supervisor.errors import ClassificationError
from supervisor.models import (
    Category,
    Finding,
    SqlClassification,
    SqlError,
    StatementClassification,
    sort_categories,
)

MAX_NESTING = 4
# Dialects whose executable comments (/*! ... */, MariaDB's /*M! ... */) the server runs as SQL.
_EXECUTABLE_COMMENTS = frozenset({"mysql", "singlestore", "doris", "starrocks"})
_MARIADB_COMMENT = "/*M!"
# Keywords that only qualify the write keyword before them (INSERT INTO, CREATE OR REPLACE).
_MODIFIERS = frozenset({TokenType.INTO, TokenType.REPLACE, TokenType.OVERWRITE})
_MODIFIED = frozenset({TokenType.INSERT, TokenType.MERGE, TokenType.REPLACE, TokenType.OVERWRITE, TokenType.OR})
# Write tokens that are a write wherever they stand.
_ALWAYS_WRITES = WRITE_TOKENS - _MODIFIERS
# How much of a statement's tree the rules need: none (a plain query), the top (its one write
# keyword is its first token), or all of it.
_PLAIN, _SIMPLE, _NESTED = 0, 1, 2
_READ_ONLY = (Category.READ,)
_TOKEN_TYPE = attrgetter("token_type")
_CATEGORIES = attrgetter("categories")
# Root nodes that change nothing a reviewer gates when no rule found anything in them.
_NEUTRAL_ROOTS: tuple[type[exp.Expression], ...] = (
    exp.Set, exp.Use, exp.Transaction, exp.Commit, exp.Rollback, exp.Command, exp.Analyze, exp.EndStatement,
    exp.Declare,
)
# MySQL's DELETE and UPDATE modifiers, which sqlglot's grammar does not take.
_DML_MODIFIERS = {TokenType.DELETE: frozenset({"LOW_PRIORITY", "QUICK", "IGNORE"}), TokenType.UPDATE: frozenset({"LOW_PRIORITY", "IGNORE"})}
_MODIFIER_WORDS = re.compile(r"LOW_PRIORITY|QUICK|IGNORE", re.IGNORECASE)
# Words that end the file options of SELECT ... INTO OUTFILE (and begin the query's next clause).
_AFTER_OUTFILE = frozenset({"FROM", "WHERE", "GROUP", "HAVING", "WINDOW", "ORDER", "LIMIT", "FOR", "LOCK", "UNION", "INTO"})
# The MySQL client's DELIMITER command, on a line of its own.
_DELIMITER_LINE = re.compile(r"^[ \t]*DELIMITER[ \t]+(\S+)[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
# Dialects whose scripts separate batches with GO on a line of its own.
_GO_BATCHES = frozenset({"tsql", "fabric"})
# Such a line, as the client tools find it: on the text's lines, before any SQL is read.
_GO_LINE = re.compile(r"^[ \t]*GO(?:[ \t]+\d+)?[ \t]*\r?$", re.IGNORECASE | re.MULTILINE)
# A sqlcmd scripting variable, which sqlcmd and SSMS replace with text before the server sees it.
_SQLCMD_VARIABLE = re.compile(r"\$\(\s*[A-Za-z_][\w]*\s*\)")
_DEEP = "is nested too deeply to read"
UNEXPECTED_SHAPE = "the statement has a shape the classifier does not know"
_NO_STATEMENT = "no SQL statement found; pass the statement to check"
StatementBuilder = Callable[[int, str, tuple[Category, ...], tuple[Finding, ...]], StatementClassification]


def _statement_builder() -> StatementBuilder:
    """How to build a statement result from values this module made, which have their field types.

    Validating such values only repeats checks, and validation is most of what building a
    result costs, for each of a script's thousands of statements. So the instance is set up as
    pydantic's ``model_construct`` sets it up, through ``BaseModel``'s slot descriptors. Should
    this pydantic lay its models out otherwise, the outcome is compared once, here, with a
    validated instance, and validation is used instead.
    """

    def validated(
        index: int, text: str, categories: tuple[Category, ...], findings: tuple[Finding, ...]
    ) -> StatementClassification:
        return StatementClassification(index=index, sql=text, categories=categories, findings=findings)

    try:
        slots = BaseModel.__dict__
        set_dict = slots["__dict__"].__set__
        set_fields_set = slots["__pydantic_fields_set__"].__set__
        set_extra = slots["__pydantic_extra__"].__set__
        set_private = slots["__pydantic_private__"].__set__
    except (KeyError, AttributeError):
        return validated
    new = object.__new__
    fields_set = {"index", "sql", "categories", "findings"}

    def built(
        index: int, text: str, categories: tuple[Category, ...], findings: tuple[Finding, ...]
    ) -> StatementClassification:
        statement = new(StatementClassification)
        set_dict(statement, {"index": index, "sql": text, "categories": categories, "findings": findings, "error": None})
        set_fields_set(statement, fields_set.copy())
        set_extra(statement, None)
        set_private(statement, None)
        return statement

    probe = (0, "SELECT 1", (Category.READ,), (Finding(category=Category.READ, message="reads"),))
    state = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
    try:
        ours, theirs = built(*probe), validated(*probe)
        same = ours == theirs and all(getattr(ours, name) == getattr(theirs, name) for name in state)
    except (AttributeError, TypeError):
        same = False
    return built if same else validated


_statement = _statement_builder()


GENERIC = "generic"


@cache
def dialect_names() -> tuple[str, ...]:
    """The sqlglot dialect names ``classify_sql`` accepts, sorted; ``generic`` is sqlglot's own."""
    return tuple(sorted([GENERIC, *(name for name in Dialect.classes if name)]))


def check_dialect(dialect: str) -> str:
    """Return the canonical dialect name, or raise ClassificationError naming the valid ones.

    Args:
        dialect: a sqlglot dialect name, any case.

    Returns:
        The lower-cased name.
    """
    name = (dialect or "").strip().lower()
    if name not in dialect_names():
        raise ClassificationError(
            f"unknown SQL dialect {dialect!r}; use one of: {', '.join(dialect_names())}"
        )
    return name


def _engine_name(name: str) -> str:
    return "" if name == GENERIC else name


def classify_sql(
    sql: str | bytes,
    *,
    dialect: str,
    backfill_max_hours: float = 24.0,
    now: datetime | None = None,
) -> SqlClassification:
    """Classify every statement of a SQL text into the contract's categories.

    Never raises for bad SQL: text that cannot be read comes back as ``parse_error`` (with the
    parser's message and position) or ``opaque``, both risky.

    Args:
        sql: the SQL text; bytes are decoded as UTF-8 (invalid UTF-8 is a ``parse_error``).
        dialect: the sqlglot dialect the text is written in, e.g. ``"snowflake"``.
        backfill_max_hours: a write whose time filter spans more than this is a costly backfill.
        now: reference time for date ranges that mix absolute and relative bounds.

    Returns:
        The statements with their categories and findings, and the script's action type.

    Raises:
        ClassificationError: the dialect is not one sqlglot knows.

    Example:
        >>> classify_sql("SELECT 1; DROP TABLE shop.orders", dialect="postgres").action_type
        'sql.drop'
    """
    name = check_dialect(dialect)
    if isinstance(sql, bytes):
        try:
            sql = sql.decode("utf-8")
        except UnicodeDecodeError as error:
            message = f"the input is not valid UTF-8 (byte {error.start}); save the file as UTF-8"
            return _result(name, [_failed(0, "", message, None, None)])
    statements = _classify_text(sql, name, backfill_max_hours, now, 0)
    if not _is_nfkc(sql):
        statements = _with_normalized(sql, statements, name, backfill_max_hours, now)
    if name in _EXECUTABLE_COMMENTS and ("/*!" in sql or _MARIADB_COMMENT in sql):
        skipped = skip_versioned_comments(sql)
        if skipped != sql:
            statements = _with_skipped_versions(skipped, statements, name, backfill_max_hours, now)
    if name in BACKSLASH_SWITCHES and "\\" in sql:
        statements = _with_switched_backslashes(sql, statements, name, backfill_max_hours, now)
    if name in _GO_BATCHES:
        batches = _GO_LINE.split(sql)
        if len(batches) > 1:
            statements = _with_go_lines(batches, statements, name, backfill_max_hours, now)
    if "\x00" in sql:
        statements = _with_nul_cut(sql, statements, name, backfill_max_hours, now)
    if name in _GO_BATCHES and "$(" in sql:
        statements = _with_sqlcmd_variables(statements)
    return _result(name, statements)


def _with_sqlcmd_variables(statements: list[StatementClassification]) -> list[StatementClassification]:
    """sqlcmd variables (``$(id)``) are text put in before the server reads the statement, inside
    string literals too: ``WHERE id = $(id)`` can become ``WHERE id = 1 OR 1 = 1``. A statement
    that holds one is ``opaque`` besides what its text shows."""
    marked: list[StatementClassification] = []
    for statement in statements:
        variables = list(dict.fromkeys(match.group(0) for match in _SQLCMD_VARIABLE.finditer(statement.sql)))
        if not variables:
            marked.append(statement)
            continue
        note = finding(
            Category.OPAQUE, None,
            f"sqlcmd replaces {', '.join(variables)} with text before the server reads the statement, so what it does is only known then",
        )
        marked.append(statement.model_copy(update={
            "categories": sort_categories({*statement.categories, Category.OPAQUE}),
            "findings": (*statement.findings, note),
        }))
    return marked


def _with_nul_cut(
    sql: str, statements: list[StatementClassification], dialect: str, max_hours: float, now: datetime | None
) -> list[StatementClassification]:
    """A NUL byte in the text: also read it as a client that stops there sends it.

    Clients that pass the text as a C string (libpq's ``PQexec``, ``psql -f``) send only what
    comes before the first NUL, so ``DELETE FROM t\\0 WHERE id = 1`` deletes every row of ``t``
    where the tokens read a scoped DELETE.
    """
    head = sql.split("\x00", 1)[0]
    if not head.strip():
        return statements
    other = [s for s in _classify_text(head, dialect, max_hours, now, 0) if s.error is None]
    return _with_extra_risks(statements, other, "read as a client that stops at its NUL byte sends it, the text also does: ")


def _is_nfkc(text: str) -> bool:
    """Whether NFKC folding leaves the text as it is.

    A line feed never combines with the characters around it, so each line can be checked on
    its own; a line of ASCII, always in NFKC form, is then told by a flag, not read character
    by character.
    """
    if text.isascii():
        return True
    return all(line.isascii() or unicodedata.is_normalized("NFKC", line) for line in text.split("\n"))


def _result(dialect: str, statements: list[StatementClassification]) -> SqlClassification:
    union: set[Category] = set(chain.from_iterable(map(_CATEGORIES, statements)))
    ordered = sort_categories(union)
    action_type = f"sql.{ordered[0].value}" if ordered else "sql.read"
    # Every value has its field's type already; validating would check each statement again.
    return SqlClassification.model_construct(
        dialect=dialect, action_type=action_type, categories=ordered, statements=tuple(statements)
    )


def _with_normalized(
    sql: str, statements: list[StatementClassification], dialect: str, max_hours: float, now: datetime | None
) -> list[StatementClassification]:
    """Full-width and other compatibility characters: also read the text as NFKC folds it.

    ``ＤＲＯＰ ＴＡＢＬＥ t`` is not SQL to most engines, but some fold it and a reviewer reads
    it as a DROP, so whatever the folded text does is added to what the raw text does.
    """
    folded = _classify_text(unicodedata.normalize("NFKC", sql), dialect, max_hours, now, 0)
    return _with_extra_risks(
        statements, folded, "the text uses full-width or compatibility characters; read with them folded it also does: "
    )


def _with_skipped_versions(
    skipped: str, statements: list[StatementClassification], dialect: str, max_hours: float, now: datetime | None
) -> list[StatementClassification]:
    """Versioned executable comments: also read the text as a server that skips them does.

    ``/*!80000 ... */`` runs only on MySQL 8.0.0 and later, ``/*M! ... */`` only on MariaDB, so
    ``DELETE FROM t WHERE 1=1 /*!99999 AND id = 5 */`` deletes every row on every MySQL there is.
    Which server runs the script is not known, so whatever that reading adds is reported too.
    """
    other = _classify_text(skipped, dialect, max_hours, now, 0)
    if len(other) == 1 and other[0].error is not None and other[0].error.message == _NO_STATEMENT:
        return statements  # the text is all versioned comments: a server that skips them runs nothing
    return _with_extra_risks(statements, other, "read as a server that skips its versioned comments, the text also does: ")


def _with_switched_backslashes(
    sql: str, statements: list[StatementClassification], dialect: str, max_hours: float, now: datetime | None
) -> list[StatementClassification]:
    """A backslash in a string: also read the text as a server set to treat it the other way.

    With MySQL's ``NO_BACKSLASH_ESCAPES``, ``'a\\'`` is a whole string, so in ``SELECT 'a\\';
    DROP TABLE t; --'`` the DROP runs, where the default reading sees one string; Postgres with
    ``standard_conforming_strings = off`` is the same the other way round. Statements of that
    reading that do not parse are left out (a server so set rejects them; those before them
    have run), and the default reading, which stands, is what a server with the default runs.
    """
    readable = complete_statements(_engine_name(dialect), sql, switched=True)
    if not readable:
        return statements
    other = [s for s in _classify_text(readable, dialect, max_hours, now, 0, switched=True) if s.error is None]
    return _with_extra_risks(
        statements, other, f"read as a server with {BACKSLASH_SWITCHES[dialect]} reads a backslash in a string, the text also does: "
    )


def _with_go_lines(
    batches: list[str], statements: list[StatementClassification], dialect: str, max_hours: float, now: datetime | None
) -> list[StatementClassification]:
    """T-SQL text with a line that is only ``GO``: also read it as sqlcmd and SSMS send it.

    They cut the text into batches at such a line wherever it stands, inside a string literal
    or a comment too, so ``SELECT 'a`` / ``GO`` / ``DROP TABLE t`` / ``GO`` / ``--'`` runs the
    DROP as a batch of its own, where the tokens read one string. Batches that do not parse are
    left out (the server rejects them).
    """
    other = [
        statement
        for batch in batches
        if batch.strip()
        for statement in _classify_text(batch, dialect, max_hours, now, 0)
        if statement.error is None
    ]
    return _with_extra_risks(statements, other, "read as sqlcmd and SSMS cut it into batches at each line that is only GO, the text also does: ")


def _with_extra_risks(
    statements: list[StatementClassification], other: list[StatementClassification], note: str
) -> list[StatementClassification]:
    """Add to the last statement the risky findings that another reading of the text has and
    this one does not, with an ``opaque`` note that says why (``note`` and the first three)."""
    # Only what the other reading adds: an accent written as a combining mark changes nothing here.
    seen = {category for statement in statements for category in statement.categories}
    extra = [f for statement in other for f in statement.findings if f.category.is_risky and f.category not in seen]
    if not extra:
        return statements
    explained = Finding(category=Category.OPAQUE, object=None, message=note + "; ".join(f.message for f in extra[:3]))
    last = statements[-1]
    merged = StatementClassification(
        index=last.index,
        sql=last.sql,
        categories=sort_categories(set(last.categories) | {f.category for f in extra} | {Category.OPAQUE}),
        findings=last.findings + tuple(extra) + (explained,),
        error=last.error,
    )
    return statements[:-1] + [merged]


_RESERVED_TEXT = re.compile(r"\b(?:" + "|".join(sorted(RESERVED_STATEMENT_WORDS)) + r")\b", re.IGNORECASE)


def _classify_text(
    sql: str, dialect: str, max_hours: float, now: datetime | None, depth: int, switched: bool = False
) -> list[StatementClassification]:
    engine = _engine_name(dialect)
    if dialect in _EXECUTABLE_COMMENTS:
        pieces = _delimited(sql)
        if pieces is not None:
            found = [
                statement for piece in pieces for statement in _classify_text(piece, dialect, max_hours, now, depth, switched)
            ]
            return [statement.model_copy(update={"index": index}) for index, statement in enumerate(found)]
    if dialect in _EXECUTABLE_COMMENTS and ("/*!" in sql or _MARIADB_COMMENT in sql):
        sql = unwrap_executable_comments(sql)
    try:
        tokens = tokenize(engine, sql, switched)
    except TokenError as error:
        return [_failed(0, sql, f"the text cannot be tokenized: {error}", None, None)]
    except RecursionError:
        return [_failed(0, sql, f"the text {_DEEP}", None, None)]
    if engine in _GO_BATCHES and "GO" in sql.upper():
        tokens = _batches_split(tokens, sql)
    elif engine in _EXECUTABLE_COMMENTS and _MODIFIER_WORDS.search(sql):
        tokens = _without_dml_modifiers(tokens)
    parsed = _parse_all(engine, tokens, sql)
    # A function that runs SQL given as text can hide a write in any query; where the script
    # may call one, the statements that do are walked whole.
    calls_sql = mentions_sql_function(sql)
    # T-SQL's reserved words begin a statement wherever they stand; some are no keyword to
    # sqlglot (SHUTDOWN, DBCC), so a query that names one is walked whole too.
    reserved = engine in RESERVED_STATEMENT_DIALECTS and _RESERVED_TEXT.search(sql) is not None
    results: list[StatementClassification] = []
    for chunk, outcome in parsed:
        start, end = chunk[0].start, chunk[-1].end + 1
        index = len(results)
        # _parse_all makes these itself; testing the exact type skips pydantic's isinstance hook.
        if type(outcome) is StatementClassification:
            failed = outcome.model_copy(update={"index": index, "sql": sql[start:end]})
            if len(chunk) > 1 and chunk[0].token_type is TokenType.BEGIN and depth < MAX_NESTING:
                failed = _with_block_statement(failed, sql[chunk[1].start : end], dialect, max_hours, now, depth, switched)
            results.append(failed)
            continue
        walk_all = (calls_sql and mentions_sql_function(sql[start:end])) or (
            reserved and _RESERVED_TEXT.search(sql, start, end) is not None
        )
        # Most statements have no token that could start or mark a write; finding that out
        # with one set lookup per token type, without keeping the types, keeps the common read cheap.
        if not walk_all and isinstance(outcome, exp.Query) and WRITE_TOKENS.isdisjoint(map(_TOKEN_TYPE, chunk)):
            # No token that could start a write or DDL anywhere in it (string literals and
            # comments are not such tokens): a plain query, read without a full walk.
            results.append(_statement(index, sql[start:end], _READ_ONLY, read_tables(outcome)))
            continue
        kinds = list(map(_TOKEN_TYPE, chunk))
        shape = _NESTED if walk_all else _write_shape(kinds)
        if shape == _PLAIN and isinstance(outcome, exp.Query):
            results.append(_statement(index, sql[start:end], _READ_ONLY, read_tables(outcome)))
            continue
        results.append(
            _classify_statement(index, sql[start:end], outcome, chunk, kinds, sql, end, dialect, max_hours, now, depth, shape, switched)
        )
    if not results:
        return [_failed(0, sql, _NO_STATEMENT, None, None)]
    return results


def _with_block_statement(
    failed: StatementClassification,
    body: str,
    dialect: str,
    max_hours: float,
    now: datetime | None,
    depth: int,
    switched: bool = False,
) -> StatementClassification:
    """A block that does not parse (``BEGIN UPDATE t SET a = 1; END;`` in Oracle): what the
    statement after its BEGIN does is added to the parse error, which stays."""
    inner = [
        f for statement in _classify_text(body, dialect, max_hours, now, depth + 1, switched) if statement.error is None for f in statement.findings
    ]
    if not inner:
        return failed
    return StatementClassification(
        index=failed.index,
        sql=failed.sql,
        categories=sort_categories(set(failed.categories) | {f.category for f in inner}),
        findings=failed.findings + tuple(inner),
        error=failed.error,
    )


def _write_shape(kinds: list[TokenType]) -> int:
    """The shape of a statement from its token types: simple when its only write token leads it.

    A modifier right after the keyword it qualifies (the INTO of INSERT INTO, the REPLACE of
    CREATE OR REPLACE) is not a second write; when every write token is such a modifier
    (``a OR REPLACE(b, 'x', 'y')``) the statement writes nothing.
    """
    if not kinds:
        return _PLAIN
    # Set operations over the list rather than a test per token: only the positions of the
    # modifiers, found with list.index, are looked at one by one.
    rest = kinds[1:]
    if not _ALWAYS_WRITES.isdisjoint(rest):
        return _NESTED
    for modifier in _MODIFIERS.intersection(rest):
        position = 0
        for _ in range(rest.count(modifier)):
            position = kinds.index(modifier, position + 1)
            if kinds[position - 1] not in _MODIFIED:
                return _NESTED
    return _SIMPLE if kinds[0] in WRITE_TOKENS else _PLAIN


Parsed = list[tuple[list[Token], "exp.Expression | StatementClassification"]]


def _parse_all(engine: str, tokens: list[Token], sql: str) -> Parsed:
    """Parse every statement; pairs of (tokens, tree), or (tokens, parse_error result).

    The whole script is parsed in one call first (sqlglot splits it on ``;`` tokens as this
    module would); only when that fails is each statement parsed on its own, so that one bad
    statement is reported without hiding what the others do.
    """
    parser = parser_for(engine)
    try:
        try:
            trees = parser.parse(tokens, sql)
            chunks: list[list[Token]] = getattr(parser, "_chunks", None) or []
        finally:
            # The parser keeps the script's tokens until its next call; let them go with ours.
            parser.reset()
        if len(chunks) == len(trees):
            # A chunk that is only a ";" holds no statement.
            return [
                (chunk, tree)
                for chunk, tree in zip(chunks, trees)
                if tree is not None and chunk and (len(chunk) > 1 or chunk[0].token_type != TokenType.SEMICOLON)
            ]
    except (SqlglotError, RecursionError, ValueError, KeyError, AttributeError, TypeError, IndexError):
        pass
    parsed: Parsed = []
    for chunk in _split(tokens):
        if len(chunk) == 1 and chunk[0].token_type is TokenType.END:
            # The END of a block whose statements the ';' inside it cut apart, each read on its own.
            parsed.append((chunk, exp.EndStatement()))
            continue
        try:
            tree = next((e for e in parser.parse(chunk, sql) if e is not None), None)
        except ParseError as error:
            repaired = _repaired(parser, chunk, sql, engine)
            if repaired is not None:
                parsed.append((chunk, repaired))
                continue
            first = error.errors[0] if error.errors else {}
            message = str(first.get("description") or error).splitlines()[0]
            line, col = first.get("line"), first.get("col")
            where = f" at line {line}, column {col}" if line is not None else ""
            parsed.append((chunk, _failed(0, "", f"the statement does not parse: {message}{where}", line, col)))
            continue
        except RecursionError:
            parsed.append((chunk, _failed(0, "", f"the statement {_DEEP}", None, None)))
            continue
        except (SqlglotError, ValueError, KeyError, AttributeError, TypeError, IndexError) as error:
            parsed.append((chunk, _failed(0, "", f"the statement could not be read: {error}", None, None)))
            continue
        if tree is not None:
            parsed.append((chunk, tree))
    parser.reset()
    return parsed


def _delimited(sql: str) -> list[str] | None:
    """The statements of a MySQL client script that sets its own delimiter, or None without one.

    ``DELIMITER $$`` on a line of its own makes ``$$`` end a statement until the next such line
    (so a procedure body can hold ``;``); the client sends each statement on its own and never
    the DELIMITER line. Where the delimiter is ``;`` the text is left whole, for the tokenizer.
    """
    lines = list(_DELIMITER_LINE.finditer(sql))
    if not lines:
        return None
    pieces: list[str] = []
    delimiter, position = ";", 0
    for line in lines:
        text = sql[position : line.start()]
        pieces.extend([text] if delimiter == ";" else text.split(delimiter))
        delimiter, position = line.group(1), line.end()
    text = sql[position:]
    pieces.extend([text] if delimiter == ";" else text.split(delimiter))
    return [piece for piece in pieces if piece.strip()]


def _batches_split(tokens: list[Token], sql: str) -> list[Token]:
    """T-SQL's ``GO`` on a line of its own ends a batch (sqlcmd and SSMS split the script
    there, ``GO 5`` runs the batch five times): read it as the ``;`` it stands for."""
    split: list[Token] = []
    i, last = 0, len(tokens) - 1
    while i <= last:
        token = tokens[i]
        if token.token_type is TokenType.COMMAND and token.text.upper() == "GO":
            after = i + 1
            if after <= last and tokens[after].token_type is TokenType.NUMBER and "\n" not in sql[token.end + 1 : tokens[after].start]:
                after += 1  # GO 5
            line_before = i == 0 or "\n" in sql[tokens[i - 1].end + 1 : token.start]
            line_after = after > last or "\n" in sql[tokens[after - 1].end + 1 : tokens[after].start]
            if line_before and line_after:
                split.append(Token(TokenType.SEMICOLON, ";", token.line, token.col, token.start, token.end, token.comments))
                i = after
                continue
        split.append(token)
        i += 1
    return split


def _without_dml_modifiers(tokens: list[Token]) -> list[Token]:
    """MySQL's ``DELETE LOW_PRIORITY QUICK IGNORE`` and ``UPDATE LOW_PRIORITY IGNORE`` left out.

    They change how rows are locked and errors reported, not which rows; sqlglot's grammar
    has no place for them, and would read ``UPDATE LOW_PRIORITY t`` as an update of a table
    named LOW_PRIORITY.
    """
    kept: list[Token] = []
    modifiers: frozenset[str] = frozenset()
    for token in tokens:
        if modifiers and token.text.upper() in modifiers:
            continue
        modifiers = _DML_MODIFIERS.get(token.token_type, frozenset())
        kept.append(token)
    return kept


def _repaired(parser: Parser, chunk: list[Token], sql: str, engine: str) -> exp.Expression | None:
    """A tree for a statement the dialect's servers run but sqlglot's grammar for it rejects.

    MySQL's ``LOAD DATA ... INFILE`` is kept as the command it is, for its tokens to be read;
    ``SELECT ... INTO OUTFILE 'f'`` is read as the query it exports. None when nothing applies
    or it still fails.
    """
    if engine not in _EXECUTABLE_COMMENTS:
        return None
    if chunk[0].text.upper() == "LOAD" and len(chunk) > 1:
        return exp.Command(this="LOAD", expression=exp.Literal.string(sql[chunk[1].start : chunk[-1].end + 1]))
    export = _outfile_clause(chunk)
    if export is None:
        return None
    start, end = export
    try:
        tree = next((e for e in parser.parse(chunk[:start] + chunk[end:], sql) if e is not None), None)
    except (SqlglotError, RecursionError, ValueError, KeyError, AttributeError, TypeError, IndexError):
        return None
    if tree is None:
        return None
    exported = exp.Export(this=tree)
    exported.meta["into"] = chunk[start + 1].text.upper()
    return exported


def _outfile_clause(tokens: list[Token]) -> tuple[int, int] | None:
    """Where ``INTO OUTFILE 'f' [options]`` (or ``INTO DUMPFILE``) sits among the tokens, if it does."""
    for i in range(len(tokens) - 2):
        if tokens[i].token_type is TokenType.INTO and tokens[i + 1].text.upper() in ("OUTFILE", "DUMPFILE"):
            end = i + 2
            while end < len(tokens) and tokens[end].text.upper() not in _AFTER_OUTFILE:
                end += 1
            return i, end
    return None


def _split(tokens: list[Token]) -> list[list[Token]]:
    chunks: list[list[Token]] = []
    current: list[Token] = []
    for token in tokens:
        if token.token_type == TokenType.SEMICOLON:
            if current:
                chunks.append(current)
                current = []
        else:
            current.append(token)
    if current:
        chunks.append(current)
    return chunks


def _classify_statement(
    index: int,
    text: str,
    expression: exp.Expression,
    tokens: list[Token],
    kinds: list[TokenType],
    source: str,
    end: int,
    dialect: str,
    max_hours: float,
    now: datetime | None,
    depth: int,
    shape: int,
    switched: bool = False,
) -> StatementClassification:
    def nested(inner: str) -> list[Finding]:
        if depth >= MAX_NESTING:
            return [finding(Category.OPAQUE, None, "SQL nested in SQL too many times to read")]
        found = _classify_text(inner, dialect, max_hours, now, depth + 1, switched)
        return [f for statement in found for f in statement.findings]

    if _is_alias_or_column(type(expression)) and _is_start_transaction(tokens):
        return StatementClassification(index=index, sql=text, categories=(), findings=())
    findings: list[Finding] = []
    # Positional: binding nine keywords costs as much as the rest of building the context.
    ctx = StatementContext(_engine_name(dialect), text, source, end, tokens, max_hours, now, nested, kinds, switched)
    try:
        # A read that leads with its keyword (EXPORT DATA, DESCRIBE) still names the tables it reads.
        ctx.index(expression, shallow=shape == _SIMPLE and not isinstance(expression, READ_ROOTS))
        for rule in _rules_for(type(expression), frozenset(ctx.nodes)):
            findings.extend(rule(expression, ctx))
    except RecursionError:
        findings.append(finding(Category.OPAQUE, None, f"the statement {_DEEP}"))
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as error:
        # sqlglot built a tree no rule expected: fail closed and say so.
        findings.append(finding(Category.OPAQUE, None, f"{UNEXPECTED_SHAPE}: {type(error).__name__}: {error}"))
    if not findings and not isinstance(expression, _NEUTRAL_ROOTS):
        findings.append(
            finding(Category.OPAQUE, None, f"sqlglot reads this as {type(expression).__name__}, which trustladder cannot judge")
        )
    categories = (findings[0].category,) if len(findings) == 1 else _sorted_categories(frozenset([f.category for f in findings]))
    return _statement(index, text, categories, tuple(findings))


@lru_cache(maxsize=256)
def _is_alias_or_column(kind: type[exp.Expression]) -> bool:
    # What isinstance(expression, (exp.Alias, exp.Column)) says, without its two subclass walks per statement.
    return issubclass(kind, (exp.Alias, exp.Column))


@lru_cache(maxsize=1024)
def _sorted_categories(categories: frozenset[Category]) -> tuple[Category, ...]:
    return sort_categories(categories)


@lru_cache(maxsize=1024)
def _rules_for(root: type[exp.Expression], present: frozenset[type[exp.Expression]]) -> tuple[Rule, ...]:
    """The rules worth running on a statement with this root and these node types, in ``RULES`` order."""
    return tuple(
        rule
        for rule in RULES
        if (rule not in TRIGGERS or not present.isdisjoint(TRIGGERS[rule]))
        and (rule not in ROOT_TRIGGERS or issubclass(root, ROOT_TRIGGERS[rule]))
    )


def _is_start_transaction(tokens: list[Token]) -> bool:
    # sqlglot's postgres dialect reads START TRANSACTION as a column alias.
    return len(tokens) >= 2 and tokens[0].text.upper() == "START" and tokens[1].text.upper() == "TRANSACTION"


def unwrap_executable_comments(sql: str) -> str:
    """Expose the SQL MySQL runs inside ``/*! ... */`` and ``/*!40000 ... */`` comments.

    MySQL executes the body of such a comment as if the comment markers were not there, and
    MariaDB does the same with ``/*M! ... */``, so the markers (and the version number) are
    blanked out with spaces: offsets stay the same, and the text is then classified like any
    other. Quotes and ordinary comments are skipped, so ``'/*!'`` inside a string is left alone.

    Example:
        >>> unwrap_executable_comments("SELECT 1 /*!40000 , 2 */")
        'SELECT 1          , 2   '
    """
    out = list(sql)
    for start, body, end, _ in _executable_comments(sql):
        out[start:body] = " " * (body - start)
        if end - 2 >= body and sql.startswith("*/", end - 2):
            out[end - 2 : end] = "  "
    return "".join(out)


def skip_versioned_comments(sql: str) -> str:
    """The text as a server that skips its versioned executable comments reads it.

    A ``/*!NNNNN ... */`` comment runs only on servers of version NNNNN or later, and
    ``/*M! ... */`` only on MariaDB; anything else treats them as comments. They are blanked
    out whole; unversioned ``/*! ... */`` comments, which every MySQL runs, are left for
    ``unwrap_executable_comments``. Offsets stay the same.

    Example:
        >>> skip_versioned_comments("SELECT 1 /*!99999 , 2 */")
        'SELECT 1                '
    """
    out = list(sql)
    for start, _, end, versioned in _executable_comments(sql):
        if versioned:
            out[start:end] = " " * (end - start)
    return "".join(out)


def _executable_comments(sql: str) -> list[tuple[int, int, int, bool]]:
    """Where the executable comments are: (start, start of the body, end, whether versioned).

    The end is past the closing ``*/`` (or the end of the text when there is none). Versioned
    means that some server skips the body: a version number after ``/*!``, or MariaDB's ``/*M!``.
    """
    found: list[tuple[int, int, int, bool]] = []
    i, n = 0, len(sql)
    while i < n:
        skipped = _past_string_or_line_comment(sql, i)
        if skipped != i:
            i = skipped
            continue
        mariadb = sql.startswith(_MARIADB_COMMENT, i)
        if mariadb or sql.startswith("/*!", i):
            body = i + (4 if mariadb else 3)
            digits = body
            while body < n and body < digits + 6 and sql[body].isdigit():
                body += 1
            end = _executable_comment_end(sql, body)
            found.append((i, body, end, mariadb or body > digits))
            i = end
            continue
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        i += 1
    return found


def _executable_comment_end(sql: str, body: int) -> int:
    """Past the ``*/`` that closes an executable comment whose body starts at ``body``.

    The body is SQL: quotes and ordinary comments in it are skipped, so a ``*/`` inside a
    string does not close it.
    """
    i, n = body, len(sql)
    while i < n:
        skipped = _past_string_or_line_comment(sql, i)
        if skipped != i:
            i = skipped
            continue
        if sql.startswith("*/", i):
            return i + 2
        if sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            continue
        i += 1
    return n


def _past_string_or_line_comment(sql: str, i: int) -> int:
    """The offset past a quoted string or a MySQL line comment (``#``, ``-- ``) starting at ``i``;
    ``i`` itself when neither starts there."""
    char = sql[i]
    if char in ("'", '"', "`"):
        return _skip_quoted(sql, i, char)
    if char == "#" or (sql.startswith("--", i) and (i + 2 >= len(sql) or sql[i + 2].isspace())):
        end = sql.find("\n", i)
        return len(sql) if end < 0 else end
    return i


def _skip_quoted(sql: str, start: int, quote: str) -> int:
    i = start + 1
    while i < len(sql):
        if sql[i] == "\\" and quote != "`":
            i += 2
            continue
        if sql[i] == quote:
            if sql.startswith(quote * 2, i):
                i += 2
                continue
            return i + 1
        i += 1
    return i


def _failed(index: int, text: str, message: str, line: int | None, col: int | None) -> StatementClassification:
    return StatementClassification(
        index=index,
        sql=text,
        categories=(Category.PARSE_ERROR,),
        findings=(Finding(category=Category.PARSE_ERROR, object=None, message=message),),
        error=SqlError(message=message, line=line, col=col),
    )
