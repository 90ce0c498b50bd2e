"""Load the sqlglot-style golden SQL fixtures (``tests/fixtures/classifiers/*.sql``).

A file is a sequence of blocks, each ended by a line that is exactly ``;;``::

    # title: drop: table (postgres)
    # dialect: postgres
    # expect: drop
    # action_type: sql.drop
    DROP TABLE shop.orders
    ;;

Metadata lines come first (``# key: value``); the SQL starts at the first line that is not a
``#`` line and runs, verbatim, to the ``;;`` line. Other ``#`` lines before the SQL are
comments. ``;;`` is the terminator because the SQL itself contains ``;``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from supervisor.models import Category

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "classifiers"
TERMINATOR = ";;"
KEYS = ("title", "dialect", "expect", "action_type")
_META = re.compile(r"^#\s*([A-Za-z_]+)\s*:\s*(.*?)\s*$")
_CATEGORIES = frozenset(category.value for category in Category)


class FixtureError(ValueError):
    """A fixture file has a malformed block."""


@dataclass(frozen=True)
class Case:
    """One golden case: classify ``sql`` in ``dialect``; the script must report ``expect``."""

    title: str
    dialect: str
    expect: frozenset[str]
    action_type: str | None
    sql: str
    line: int

    def __str__(self) -> str:
        return self.title


def load_cases(path: str | Path, *, expect_required: bool = True) -> list[Case]:
    """Parse a golden fixture file into cases, in file order.

    Args:
        path: the ``.sql`` fixture file.
        expect_required: whether every block must have an ``# expect:`` line (the
            ``__invalid`` file has none: each of its cases must be ``parse_error``).

    Returns:
        The cases; titles are unique, so they can be the pytest ids.

    Raises:
        FixtureError: a block is malformed; the message names the file, the line and the fix.
    """
    path = Path(path)
    lines = path.read_text(encoding="utf-8").splitlines()
    cases: list[Case] = []
    seen: dict[str, int] = {}
    block: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        if line == TERMINATOR:
            case = _parse_block(path, block, number, expect_required)
            if case.title in seen:
                raise FixtureError(
                    f"{path}:{case.line}: title {case.title!r} is already used at line {seen[case.title]}; "
                    "titles are the test ids, make this one unique"
                )
            seen[case.title] = case.line
            cases.append(case)
            block = []
        else:
            block.append((number, line))
    trailing = [(n, text) for n, text in block if text.strip() and not text.startswith("#")]
    if trailing or any(_META.match(text) for _, text in block):
        first = (trailing or [(n, t) for n, t in block if _META.match(t)])[0][0]
        raise FixtureError(
            f"{path}:{first}: the last block is not terminated; end it with a line that is exactly {TERMINATOR!r}"
        )
    if not cases:
        raise FixtureError(f"{path}: no cases found; each block ends with a line that is exactly {TERMINATOR!r}")
    return cases


def _parse_block(path: Path, block: list[tuple[int, str]], end: int, expect_required: bool) -> Case:
    meta: dict[str, tuple[int, str]] = {}
    sql_lines: list[str] = []
    for number, line in block:
        if sql_lines:
            sql_lines.append(line)
            continue
        if not line.strip():
            continue
        if line.startswith("#"):
            match = _META.match(line)
            if match is None:
                continue  # a plain comment line
            key, value = match.group(1), match.group(2)
            if key not in KEYS:
                raise FixtureError(
                    f"{path}:{number}: unknown metadata key {key!r}; use one of {', '.join(KEYS)} "
                    "(a plain comment must not look like '# word: value')"
                )
            if key in meta:
                raise FixtureError(f"{path}:{number}: {key!r} is given twice in one block (first at line {meta[key][0]})")
            meta[key] = (number, value)
            continue
        sql_lines.append(line)
    where = f"{path}:{block[0][0] if block else end}"
    for key in ("title", "dialect", *(("expect",) if expect_required else ())):
        if not meta.get(key, (0, ""))[1]:
            raise FixtureError(f"{where}: the block ending at line {end} has no '# {key}: ...' line; add one before the SQL")
    title_line, title = meta["title"]
    sql = "\n".join(sql_lines).strip("\n")
    if not sql.strip():
        raise FixtureError(f"{path}:{title_line}: case {title!r} has no SQL between its metadata and the {TERMINATOR!r} line")
    expect: frozenset[str] = frozenset()
    if "expect" in meta:
        number, value = meta["expect"]
        names = [name.strip() for name in value.split(",")]
        unknown = [name for name in names if name not in _CATEGORIES]
        if unknown or not names:
            raise FixtureError(
                f"{path}:{number}: case {title!r} expects unknown categories {unknown}; "
                f"use comma-separated names from: {', '.join(sorted(_CATEGORIES))}"
            )
        expect = frozenset(names)
    action_type = meta.get("action_type", (0, None))[1]
    if action_type is not None and (
        not action_type.startswith("sql.") or action_type.removeprefix("sql.") not in _CATEGORIES
    ):
        raise FixtureError(
            f"{path}:{meta['action_type'][0]}: case {title!r} has action_type {action_type!r}; "
            "write sql.<category>, e.g. sql.drop"
        )
    return Case(
        title=title,
        dialect=meta["dialect"][1],
        expect=expect,
        action_type=action_type,
        sql=sql,
        line=title_line,
    )
