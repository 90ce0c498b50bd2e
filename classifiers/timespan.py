"""The time span a write covers, read from the predicates on its date and time columns.

Values are points in time: absolute (a literal date) or relative to now (``CURRENT_DATE -
INTERVAL 7 DAY``). A column's bounds come from ``>=``/``>``/``<``/``<=`` pairs, ``BETWEEN``,
``=`` and ``IN`` lists, also on the year of a column (``YEAR(d) = 2023`` is all of 2023); ``AND`` intersects, ``OR`` takes the envelope. Anything that is not a
recognisable time value is ignored, so a column compared to a subquery has no bound from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache

from sqlglot import exp

DAY = 86400.0
_UNIT_SECONDS = {
    "MICROSECOND": 1e-6,
    "MILLISECOND": 1e-3,
    "SECOND": 1.0,
    "MINUTE": 60.0,
    "HOUR": 3600.0,
    "DAY": DAY,
    "WEEK": 7 * DAY,
    "MONTH": 31 * DAY,  # the longest month: spans are upper bounds
    "QUARTER": 92 * DAY,
    "YEAR": 366 * DAY,
}
_UNIT_ALIASES = {
    "S": "SECOND", "SEC": "SECOND", "SECS": "SECOND", "SS": "SECOND",
    "MI": "MINUTE", "MIN": "MINUTE", "MINS": "MINUTE", "N": "MINUTE",
    "H": "HOUR", "HH": "HOUR", "HR": "HOUR", "HRS": "HOUR",
    "D": "DAY", "DD": "DAY", "DAYOFMONTH": "DAY", "DY": "DAY",
    "W": "WEEK", "WK": "WEEK", "WW": "WEEK", "ISOWEEK": "WEEK",
    "M": "MONTH", "MM": "MONTH", "MON": "MONTH", "MONS": "MONTH",
    "Q": "QUARTER", "QQ": "QUARTER", "QTR": "QUARTER",
    "Y": "YEAR", "YY": "YEAR", "YYYY": "YEAR", "YR": "YEAR", "YRS": "YEAR",
}
_ISO = re.compile(
    r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*(?:Z|UTC|[+-]\d{2}:?\d{2})?\s*$"
)
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_INTERVAL_TEXT = re.compile(r"^\s*([+-]?\d+(?:\.\d+)?)\s*([A-Za-z]+?)S?\s*$")
_DATE_NAME = re.compile(r"(^|_)(ds|dt|date|day|dte|partition_date|date_id|day_id|yyyymmdd)($|_)", re.IGNORECASE)
_NOW_FUNCS = frozenset(
    {"NOW", "GETDATE", "GETUTCDATE", "SYSDATE", "SYSTIMESTAMP", "SYSDATETIME", "CURRENT_TIMESTAMP",
     "LOCALTIMESTAMP", "CURRENT_DATETIME", "UTC_TIMESTAMP", "TODAY", "CURDATE", "CURRENT_DATE",
     "UTC_DATE", "TRANSACTION_TIMESTAMP", "STATEMENT_TIMESTAMP", "CLOCK_TIMESTAMP"}
)
_DAY_FUNCS = frozenset({"CURDATE", "CURRENT_DATE", "UTC_DATE", "TODAY"})


@dataclass(frozen=True, slots=True)
class Point:
    """A point in time: absolute seconds since the epoch, or seconds relative to now.

    ``day`` marks a date without a time: an inclusive upper bound on it covers the whole day,
    and ``CURRENT_DATE`` may be up to a day before now.
    """

    relative: bool
    seconds: float
    day: bool

    def shifted(self, seconds: float) -> Point:
        return Point(self.relative, self.seconds + seconds, self.day)


@dataclass(frozen=True, slots=True)
class Bounds:
    """What the predicates say about one column: the lowest and highest point it may take."""

    low: Point | None
    high: Point | None


@dataclass(frozen=True, slots=True)
class Span:
    """The time a write covers: ``hours`` is None when the range is open-ended.

    ``low`` and ``high`` are the column's bounds as measured (made absolute when ``now`` was
    needed to compare them); the description is only worded when a rule reports the span.
    """

    column: str
    hours: float | None
    low: Point | None
    high: Point | None

    @property
    def description(self) -> str:
        column, low, high = self.column, self.low, self.high
        if low is None and high is None:
            return f"{column} is not bounded in time"
        if low is None:
            return f"everything in {column} before {_show(high)}"
        if high is None:
            if low.relative:
                return f"{column} from {_show(low)} until now"
            return f"{column} from {_show(low)} with no end"
        return f"{column} from {_show(low)} to {_show(high)}"


def write_span(conditions: list[exp.Expression], now: datetime | None = None) -> Span | None:
    """The narrowest time span the given filter conditions put on a write, if any.

    Each condition (a WHERE, a MERGE ``ON``, a ``REPLACE WHERE``) is read on its own; the
    narrowest span wins, because the rows written must satisfy all of them.

    Args:
        conditions: predicate expressions taken from the write and its source query.
        now: the reference time for ranges that mix absolute and relative bounds.

    Returns:
        The narrowest span found, or None when no condition filters on a time value.

    Example:
        >>> import sqlglot
        >>> cond = sqlglot.parse_one("SELECT 1 WHERE d BETWEEN '2024-01-01' AND '2024-01-31'").args["where"].this
        >>> write_span([cond]).hours
        744.0
    """
    best: Span | None = None
    for condition in conditions:
        for column, bounds in _bounds(condition).items():
            span = _measure(column, bounds, now)
            if best is None or _narrower(span, best):
                best = span
    return best


def _narrower(a: Span, b: Span) -> bool:
    if a.hours is None:
        return False
    return b.hours is None or a.hours < b.hours


def _measure(column: str, bounds: Bounds, now: datetime | None) -> Span:
    low, high = bounds.low, bounds.high
    if low is None or high is None:
        if low is not None and low.relative:
            seconds = -low.seconds + (DAY if low.day else 0.0)
            return Span(column, max(seconds, 0.0) / 3600, low, high)
        return Span(column, None, low, high)
    if low.relative != high.relative:
        if now is None:
            return Span(column, None, low, high)
        low, high = _absolute(low, now), _absolute(high, now)
    seconds = high.seconds - low.seconds
    if low.relative and low.day and not high.day:
        seconds += DAY
    return Span(column, max(seconds, 0.0) / 3600, low, high)


def _absolute(point: Point, now: datetime) -> Point:
    if not point.relative:
        return point
    base = now.replace(hour=0, minute=0, second=0, microsecond=0) if point.day else now
    return Point(False, _epoch(base) + point.seconds, point.day)


def _epoch(moment: datetime) -> float:
    return (moment.replace(tzinfo=None) - datetime(1970, 1, 1)).total_seconds()


def _show(point: Point | None) -> str:
    if point is None:
        return "?"
    if point.relative:
        anchor = "CURRENT_DATE" if point.day else "now"
        if point.seconds == 0:
            return anchor
        days = point.seconds / DAY
        sign = "-" if days < 0 else "+"
        amount = f"{abs(days):g} days" if abs(days) >= 1 else f"{abs(point.seconds) / 3600:g} hours"
        return f"{anchor} {sign} {amount}"
    moment = datetime(1970, 1, 1) + timedelta(seconds=point.seconds)
    if point.day or (moment.hour, moment.minute, moment.second) == (0, 0, 0):
        return moment.strftime("%Y-%m-%d")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def _bounds(condition: exp.Expression) -> dict[str, Bounds]:
    """Per-column bounds implied by a predicate (columns without a time bound are absent)."""
    if isinstance(condition, exp.Paren):
        return _bounds(condition.this)
    if isinstance(condition, exp.And):
        left, right = _bounds(condition.this), _bounds(condition.expression)
        for column, bounds in right.items():
            left[column] = _intersect(left[column], bounds) if column in left else bounds
        return left
    if isinstance(condition, exp.Or):
        left, right = _bounds(condition.this), _bounds(condition.expression)
        merged: dict[str, Bounds] = {}
        for column in left.keys() | right.keys():
            if column in left and column in right:
                merged[column] = _envelope(left[column], right[column])
            else:
                # One branch leaves the column free: together they cover all of time.
                merged[column] = Bounds(None, None)
        return merged
    if isinstance(condition, exp.Between):
        years = _year_range(condition.this, condition.args.get("low"), condition.args.get("high"))
        if years is not None:
            return years
        column = _column_key(condition.this)
        low = _point(condition.args.get("low"), condition.this)
        high = _point(condition.args.get("high"), condition.this)
        if column and (low or high):
            return {column: Bounds(low, _inclusive(high))}
        return {}
    if isinstance(condition, exp.In):
        values = condition.expressions
        if values and _year_of(condition.this) is not None:
            if not all(_year_value(value) is not None for value in values):
                return {}  # a year that is not written out can be any year
            years = _year_range(condition.this, min(values, key=_year_sort), max(values, key=_year_sort))
            return years or {}
        column = _column_key(condition.this)
        points = [_point(value, condition.this) for value in condition.expressions]
        if column and points and all(points):
            known = [p for p in points if p is not None]
            if len({p.relative for p in known}) == 1:
                return {column: Bounds(min(known, key=_key), _inclusive(max(known, key=_key)))}
        return {}
    if isinstance(condition, (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
        return _comparison(condition)
    return {}


def _comparison(condition: exp.Expression) -> dict[str, Bounds]:
    left, right = condition.this, condition.expression
    kind = type(condition)
    if isinstance(left, (exp.Year, exp.Extract)) or isinstance(right, (exp.Year, exp.Extract)):
        return _year_comparison(condition)
    column = _column_key(left)
    value = _point(right, left) if column else None
    if value is None:
        column = _column_key(right)
        value = _point(left, right) if column else None
        kind = _FLIPPED.get(kind, kind)
    if column is None or value is None:
        return {}
    if kind is exp.EQ:
        return {column: Bounds(value, _inclusive(value))}
    if kind in (exp.GT, exp.GTE):
        return {column: Bounds(value, None)}
    if kind is exp.LTE:
        return {column: Bounds(None, _inclusive(value))}
    return {column: Bounds(None, value)}


def _year_of(node: object) -> exp.Expression | None:
    """The date column in ``YEAR(c)`` or ``EXTRACT(YEAR FROM c)``, else None."""
    if isinstance(node, exp.Year):
        return node.this
    if isinstance(node, exp.Extract) and isinstance(node.this, (exp.Var, exp.Identifier)) and node.this.name.upper() in ("YEAR", "YEARS", "YYYY", "YY"):
        return node.expression
    return None


def _year_value(node: object) -> int | None:
    """A year written as a number (``2023``), within the years a calendar date can name."""
    if isinstance(node, exp.Literal) and not node.is_string and node.this.isdigit() and 1 <= int(node.this) <= 9998:
        return int(node.this)
    return None


def _year_sort(node: exp.Expression) -> int:
    return _year_value(node) or 0


def _year_start(year: int) -> Point:
    return Point(False, _epoch(datetime(year, 1, 1)), True)


def _year_range(subject: object, first: object, last: object) -> dict[str, Bounds] | None:
    """``YEAR(c) BETWEEN a AND b`` (or an IN list from a to b): c from January 1 of a to the end of b."""
    column = _column_key(_year_of(subject))
    low, high = _year_value(first), _year_value(last)
    if not column or low is None or high is None:
        return None
    return {column: Bounds(_year_start(low), _year_start(high + 1))}


def _year_comparison(condition: exp.Expression) -> dict[str, Bounds]:
    """``YEAR(c) = 2023`` covers the whole year 2023 of c; ``>`` and ``<`` leave it open."""
    kind = type(condition)
    subject, value = condition.this, condition.expression
    if _year_of(subject) is None:
        subject, value, kind = value, subject, _FLIPPED.get(kind, kind)
    column = _column_key(_year_of(subject))
    year = _year_value(value)
    if not column or year is None:
        return {}
    start, end = _year_start(year), _year_start(year + 1)
    if kind is exp.EQ:
        return {column: Bounds(start, end)}
    if kind is exp.GT:
        return {column: Bounds(end, None)}
    if kind is exp.GTE:
        return {column: Bounds(start, None)}
    if kind is exp.LT:
        return {column: Bounds(None, start)}
    return {column: Bounds(None, end)}


_FLIPPED: dict[type[exp.Expression], type[exp.Expression]] = {
    exp.GT: exp.LT,
    exp.GTE: exp.LTE,
    exp.LT: exp.GT,
    exp.LTE: exp.GTE,
}


def _inclusive(point: Point | None) -> Point | None:
    """An inclusive upper bound on a date covers that whole day.

    The end of that day is still a date (midnight after it), so a range whose both ends come
    from ``CURRENT_DATE`` is not stretched as one that ends at now would be.
    """
    if point is None or not point.day:
        return point
    return Point(point.relative, point.seconds + DAY, True)


def _key(point: Point) -> float:
    return point.seconds


def _intersect(a: Bounds, b: Bounds) -> Bounds:
    return Bounds(_pick(a.low, b.low, max), _pick(a.high, b.high, min))


def _envelope(a: Bounds, b: Bounds) -> Bounds:
    low = None if a.low is None or b.low is None else _pick(a.low, b.low, min)
    high = None if a.high is None or b.high is None else _pick(a.high, b.high, max)
    return Bounds(low, high)


def _pick(a: Point | None, b: Point | None, choose: type[max | min]) -> Point | None:
    if a is None:
        return b
    if b is None or a.relative != b.relative:
        return a
    return choose(a, b, key=_key)  # type: ignore[call-overload,no-any-return]


def _column_key(node: exp.Expression | None) -> str | None:
    """The column a bound applies to; casts and date truncations of a column count as it."""
    if type(node) is not exp.Column:  # usually it is the column itself
        while isinstance(node, (exp.Cast, exp.TryCast, exp.Paren, exp.Date, exp.TsOrDsToDate,
                                exp.DateTrunc, exp.TimestampTrunc, exp.DatetimeTrunc)):
            node = node.this
        if not isinstance(node, exp.Column):
            return None
    args = node.args
    if not (args.get("table") or args.get("db") or args.get("catalog")):
        # An unqualified name, the usual case: ``parts`` would build a one-item list for it.
        this = args.get("this")
        return this.name.lower() if this else ""
    return ".".join([part.name for part in node.parts]).lower()


def _point(node: exp.Expression | None, column: exp.Expression | None = None) -> Point | None:
    """A time value, or None when the expression is not one."""
    if node is None or type(node) is exp.Column:
        return None  # a column (the other side of a join condition, say) is the common miss
    if isinstance(node, exp.Literal):
        if node.is_string:
            return _parse_literal(node.this)
        if column is not None and _looks_like_date_column(column):
            match = _COMPACT.match(node.this)
            if match:
                return _from_parts(match.groups())
        return None
    if isinstance(node, (exp.Paren, exp.Cast, exp.TryCast, exp.TsOrDsToDate, exp.StrToDate,
                         exp.StrToTime, exp.TimeStrToTime, exp.TimeStrToDate, exp.DateStrToDate,
                         exp.Date, exp.Timestamp, exp.Datetime, exp.TsOrDsToTimestamp)):
        inner = _point(node.this, column)
        # A cast to a date type makes the point a whole day.
        if (
            inner is not None
            and isinstance(node, exp.Cast)
            and _is_temporal(node.to)
            and node.to.this in (exp.DType.DATE, exp.DType.DATE32)
            and not inner.day
        ):
            return Point(inner.relative, inner.seconds, True)
        return inner
    if isinstance(node, exp.CurrentDate):
        return Point(True, 0.0, True)
    if isinstance(node, (exp.CurrentTimestamp, exp.CurrentDatetime, exp.CurrentTime,
                         exp.CurrentTimestampLTZ, exp.Localtimestamp)):
        return Point(True, 0.0, False)
    if isinstance(node, exp.Anonymous) and node.name.upper() in ("DATE", "DATETIME", "JULIANDAY", "STRFTIME"):
        return _sqlite_point(node)
    if isinstance(node, exp.Anonymous) or type(node).__name__ in ("Sysdate", "UtcTimestamp", "UtcDate"):
        name = node.name.upper() if isinstance(node, exp.Anonymous) else type(node).__name__.upper()
        name = {"UTCTIMESTAMP": "UTC_TIMESTAMP", "UTCDATE": "UTC_DATE"}.get(name, name)
        if name in _NOW_FUNCS and not node.expressions:
            return Point(True, 0.0, name in _DAY_FUNCS)
        return None
    if isinstance(node, (exp.Add, exp.Sub)):
        base = _point(node.this, column)
        # date - 30 is thirty days earlier (Oracle, Postgres dates, Snowflake).
        shift = _interval(node.expression) if not _is_number(node.expression) else _amount(node.expression, None)
        if base is None or shift is None:
            base = _point(node.expression, column) if isinstance(node, exp.Add) else None
            shift = _interval(node.this) if base is not None else None
        if base is None or shift is None:
            return None
        return base.shifted(-shift if isinstance(node, exp.Sub) else shift)
    if isinstance(node, (exp.DateSub, exp.DateAdd, exp.TsOrDsAdd, exp.TimestampSub, exp.TimestampAdd,
                         exp.DatetimeSub, exp.DatetimeAdd, exp.TimeAdd, exp.TimeSub)):
        base = _point(node.this, column)
        shift = _amount(node.expression, node.args.get("unit"))
        if base is None or shift is None:
            return None
        negative = isinstance(node, (exp.DateSub, exp.TimestampSub, exp.DatetimeSub, exp.TimeSub))
        return base.shifted(-shift if negative else shift)
    if isinstance(node, (exp.DateTrunc, exp.TimestampTrunc, exp.DatetimeTrunc)):
        base = _point(node.this, column)
        unit = _unit(node.args.get("unit"))
        if base is None:
            return None
        # Truncating moves the point back by up to one unit: take the earliest it can be.
        return base.shifted(-(_UNIT_SECONDS.get(unit or "DAY", DAY)))
    return None


def _is_temporal(to: exp.Expression) -> bool:
    """Whether a cast's target is a date or time type."""
    if type(to) is exp.DataType and type(to.this) is exp.DType:
        # What DataType.is_type decides for a plain type, without building a DataType per candidate.
        return to.this in exp.DataType.TEMPORAL_TYPES
    return to.is_type(*exp.DataType.TEMPORAL_TYPES)


def _sqlite_point(node: exp.Anonymous) -> Point | None:
    """SQLite's date('now', '-30 days', 'start of day') and its siblings."""
    args = node.expressions
    if node.name.upper() == "STRFTIME":
        args = args[1:]
    if not args or not isinstance(args[0], exp.Literal) or not args[0].is_string:
        return None
    base = Point(True, 0.0, node.name.upper() == "DATE") if args[0].this.lower() == "now" else _parse_literal(args[0].this)
    if base is None:
        return None
    for modifier in args[1:]:
        if not isinstance(modifier, exp.Literal):
            return None
        text = modifier.this.strip().lower()
        if text.startswith("start of"):
            base = base.shifted(-_UNIT_SECONDS.get((_canonical_unit(text.split()[-1]) or "DAY"), DAY))
            continue
        shift = _amount(modifier, None)
        if shift is None:
            return None
        base = base.shifted(shift)
    return base


def _is_number(node: exp.Expression | None) -> bool:
    return _number(node) is not None


def _number(node: exp.Expression | None) -> float | None:
    """The value of a constant numeric expression (7, -1, 7 * -1, (30)), else None."""
    if isinstance(node, exp.Paren):
        return _number(node.this)
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return float(node.this)
        except ValueError:
            return None
    if isinstance(node, exp.Neg):
        inner = _number(node.this)
        return -inner if inner is not None else None
    if isinstance(node, (exp.Mul, exp.Add, exp.Sub)):
        left, right = _number(node.this), _number(node.expression)
        if left is None or right is None:
            return None
        return left * right if isinstance(node, exp.Mul) else left + right if isinstance(node, exp.Add) else left - right
    return None


@lru_cache(maxsize=1024)
def _parse_literal(text: str) -> Point | None:
    # Scripts repeat the same few date literals; a Point is immutable, so share it.
    match = _ISO.match(text)
    if match is None:
        return _COMPACT.match(text) and _from_parts(_COMPACT.match(text).groups())  # type: ignore[union-attr,return-value]
    year, month, day, hour, minute, second = match.groups()
    try:
        moment = datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0))
    except ValueError:
        return None
    return Point(False, _epoch(moment), hour is None)


def _from_parts(parts: tuple[str, ...]) -> Point | None:
    try:
        return Point(False, _epoch(datetime(int(parts[0]), int(parts[1]), int(parts[2]))), True)
    except ValueError:
        return None


def _looks_like_date_column(column: exp.Expression) -> bool:
    key = _column_key(column)
    return bool(key and _DATE_NAME.search(key.rsplit(".", 1)[-1]))


def _interval(node: exp.Expression | None) -> float | None:
    """Seconds in an INTERVAL expression, e.g. ``INTERVAL '7 days'`` or ``INTERVAL 30 DAY``."""
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.Interval):
        return _amount(node.this, node.args.get("unit"))
    return None


def _amount(value: exp.Expression | None, unit_node: exp.Expression | None) -> float | None:
    """Seconds in ``value`` units of ``unit_node`` (the unit may sit inside a string: '7 days')."""
    if isinstance(value, exp.Interval):
        return _interval(value)
    unit = _unit(unit_node)
    number: float | None = _number(value)
    if number is None and isinstance(value, exp.Literal) and value.is_string:
        text = value.this
        try:
            number = float(text)
        except ValueError:
            match = _INTERVAL_TEXT.match(text)
            if not match:
                return None
            number, unit = float(match.group(1)), _canonical_unit(match.group(2))
    if number is None:
        return None
    seconds = _UNIT_SECONDS.get(unit or "DAY")
    return number * seconds if seconds is not None else None


def _unit(node: exp.Expression | None) -> str | None:
    if node is None:
        return None
    if isinstance(node, exp.IntervalSpan):
        return _unit(node.this)
    return _canonical_unit(node.name)


def _canonical_unit(name: str) -> str | None:
    upper = name.upper().strip("'\"")
    if upper.endswith("S") and upper[:-1] in _UNIT_SECONDS:
        upper = upper[:-1]
    upper = _UNIT_ALIASES.get(upper, upper)
    return upper if upper in _UNIT_SECONDS else None
