"""Parsing pipeline-action params and wording what is wrong with them.

Params arrive as strings from ``--param KEY=VALUE``, so validation is lax: ``"3"`` becomes 3,
``"true"`` True. A dict param may be given as a JSON object, a list param as a JSON list or as
``a,b,c``. Dates are ``YYYY-MM-DD`` or ``YYYYMMDD``, datetimes ``YYYY-MM-DDTHH:MM[:SS][+HH:MM]``,
cron expressions the usual 5 fields. Nothing here knows a particular action: the catalog in
``classifiers.pipeline`` builds its models from these types and validators, and turns their
pydantic errors into one-line messages with :func:`to_classification_error`.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from annotated_types import Ge, Gt
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    StringConstraints,
    ValidationError,
)
from pydantic.fields import FieldInfo

from supervisor.errors import ClassificationError

_WHEN = "a date or datetime (YYYY-MM-DD or YYYY-MM-DDTHH:MM)"
_DAYS = "a list of daily partition keys (YYYY-MM-DD), as JSON or comma-separated"
_CRON_FIELDS = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day-of-month", 1, 31, ()),
    ("month", 1, 12, ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")),
    ("day-of-week", 0, 7, ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")),
)
_CRON_ITEM = re.compile(r"(?:\*|(\w+)(?:-(\w+))?)(?:/([1-9]\d*))?")


def _when(value: Any) -> date:
    # Our own parser: pydantic would read a digit string such as "20240101" as a Unix timestamp.
    if isinstance(value, date):
        return value
    text = value.strip() if isinstance(value, str) else ""
    try:
        if re.fullmatch(r"\d{8}", text):
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            return date.fromisoformat(text)
        if re.match(r"\d{4}-\d{2}-\d{2}[T ]\d", text):
            return datetime.fromisoformat(text)
    except ValueError:
        pass
    raise ValueError(_WHEN)


def _day(value: Any) -> date:
    try:
        parsed = _when(value)
    except ValueError:
        parsed = None
    if parsed is None or isinstance(parsed, datetime):
        raise ValueError(_DAYS)  # pydantic reports a ValueError as this param's problem
    return parsed


def lower(value: Any) -> Any:
    """Strip and lower-case a string param, so that ``Discard`` matches ``discard``; pass anything else on.

    Args:
        value: the param as given.

    Returns:
        The lower-cased string, or ``value`` unchanged if it is not a string.
    """
    return value.strip().lower() if isinstance(value, str) else value


def parse_json(value: Any) -> Any:
    """Read a string param that looks like a JSON object or list; pass anything else on.

    Args:
        value: the param as given.

    Returns:
        The decoded JSON, or ``value`` unchanged.
    """
    # Text that is not JSON is passed on unchanged, so that pydantic reports the wrong type.
    if isinstance(value, str) and value.strip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def _items(value: Any) -> Any:
    parsed = parse_json(value)
    return [item.strip() for item in parsed.split(",") if item.strip()] if isinstance(parsed, str) else parsed


def _cron(value: str) -> str:
    fields = value.split()
    if len(fields) != 5:
        raise ValueError("a 5-field cron expression (minute hour day-of-month month day-of-week)")
    for text, (label, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        for item in text.split(","):
            match = _CRON_ITEM.fullmatch(item)
            ends = [end.upper() for end in match.groups()[:2] if end] if match else []
            numbers = [names.index(end) + low if end in names else int(end) if end.isdigit() else -1 for end in ends]
            if match is None or not all(low <= number <= high for number in numbers):
                raise ValueError(f"a 5-field cron expression whose {label} field is within {low}-{high}")
    return " ".join(fields)


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
When = Annotated[datetime | date, BeforeValidator(_when)]
Cron = Annotated[str, AfterValidator(_cron)]
Days = Annotated[tuple[Annotated[date, BeforeValidator(_day)], ...], BeforeValidator(_items)]


def to_instant(value: date, *, end: bool = False) -> datetime:
    """Turn a ``When`` into a naive UTC datetime, so that dates and datetimes compare.

    Args:
        value: a date or a datetime, naive or aware.
        end: a date stands for its whole day, so as an end it means the next midnight.

    Returns:
        The instant, without a time zone.
    """
    if isinstance(value, datetime):
        # A naive datetime is taken as UTC, so that it compares with an aware one.
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    return datetime.combine(value, datetime.min.time()) + timedelta(days=1 if end else 0)


def format_number(value: float) -> str:
    """Show a number with thousands separators, and no ``.0`` when it is whole.

    Args:
        value: the number.

    Returns:
        The text, e.g. ``1,500`` or ``0.5``.
    """
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,}"


def one_line(text: str, limit: int = 80) -> str:
    """Flatten whitespace and cut the text to ``limit`` characters, ending in ``…`` if cut.

    Args:
        text: any text, e.g. a description or a repr.
        limit: the most characters to return.

    Returns:
        The text on one line.
    """
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def is_plain(value: Any) -> bool:
    """Tell whether a param value is one the CLI could send: a string, number, bool, list or JSON object.

    Args:
        value: the param as given.

    Returns:
        True for such a value, nested lists and objects included.
    """
    if isinstance(value, str | int | float | bool):
        return True
    if isinstance(value, list | tuple):
        return all(is_plain(item) for item in value)
    return isinstance(value, dict) and all(isinstance(k, str) and is_plain(v) for k, v in value.items())


def to_classification_error(action: str, model: type[BaseModel], error: ValidationError) -> ClassificationError:
    """Word a pydantic ValidationError on an action's params as one line: each param, what is wrong, the fix.

    Args:
        action: the action's name, which starts the message.
        model: the params model that rejected them.
        error: what pydantic raised.

    Returns:
        The error to raise (``from None``: pydantic's own report adds nothing for the user).
    """
    problems = [_problem(model, detail) for detail in error.errors()]
    return ClassificationError(f"{action}: " + "; also ".join(problems))


def _problem(model: type[BaseModel], detail: Any) -> str:
    """One pydantic error as what is wrong with which param, and how to fix it."""
    if not detail["loc"]:
        return str(detail["ctx"]["error"])  # a model validator's own sentence about the params
    name = str(detail["loc"][0])
    field = model.model_fields.get(name)
    if field is None:
        return f"unknown param {name!r}; accepted params: {', '.join(model.model_fields)}"
    if detail["type"] == "missing":
        fix = f"--param {name}={_placeholder(field)}"
        return f"param {name!r} is required; pass {'--target NAME or ' if name == 'target' else ''}{fix}"
    expected = str(detail["ctx"]["error"]) if detail["type"] == "value_error" else _expects(field)
    got = one_line(repr(detail["input"]), 60)
    return f"param {name!r} must be {expected}, got {got}; pass --param {name}={_placeholder(field)}"


def _kind(field: FieldInfo) -> Any:
    """The field's type without None and Annotated: int, str, dict, tuple, Literal, datetime."""
    kind = field.annotation
    while get_origin(kind) in (Union, UnionType, Annotated):
        kind = next(arg for arg in get_args(kind) if arg is not type(None))
    return kind


def _expects(field: FieldInfo) -> str:
    kind = _kind(field)
    if get_origin(kind) is Literal:
        return "one of " + ", ".join(repr(arg) for arg in get_args(kind))
    noun = {int: "an integer", float: "a number", bool: "true or false", str: "a non-empty string",
            dict: "a non-empty JSON object", tuple: _DAYS}.get(get_origin(kind) or kind, "valid")
    bounds = [f">= {m.ge}" for m in field.metadata if isinstance(m, Ge)]
    return " ".join([noun, *bounds, *(f"> {m.gt}" for m in field.metadata if isinstance(m, Gt))])


def _placeholder(field: FieldInfo) -> str:
    if field.examples:
        example = str(field.examples[0])
        return f"'{example}'" if re.search(r"[\s\"{}*]", example) else example
    kind = _kind(field)
    if get_origin(kind) is Literal:
        return str(get_args(kind)[0])
    examples = {int: "N", float: "N", bool: "true", datetime: "2024-01-01", tuple: "2024-01-01,2024-01-02"}
    return examples.get(get_origin(kind) or kind, "NAME")
