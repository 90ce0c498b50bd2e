"""The time span a write covers, read from the predicates on its date and time columns.

Values are points in time: absolute (a literal date) or relative to now (``CURRENT_DATE -
INTERVAL 7 DAY``). A column's bounds come from ``>=``/``>``/``<``/``<=`` pairs, ``BETWEEN``,
``=`` and ``IN`` lists, also on the year of a column (``YEAR(d) = 2023`` is all of 2023), and
from a column's distance to a point (``DATEDIFF(CURRENT_DATE, d) < 30``, ``now() - ts <
INTERVAL '3 days'``); ``AND`` intersects, ``OR`` takes the envelope, ``NOT`` takes what lies
outside. Anything that is not a recognisable time value is ignored.

Two kinds of filter cannot be measured, and make the span open-ended: a range on a time column
whose bound is given at run time (``created_at >= :start``, ``ds < '{{ ds }}'``, a scalar
subquery such as ``(SELECT max(updated_at) FROM t)``), and a date
part other than the year (``EXTRACT(MONTH FROM d) = 3`` is March of every year). Equality with
one run-time value (``ds = :day``) is one value, at most a day, and bounds nothing here.
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
# A run-time parameter has no type to read, so a column's name is the only sign that a range on
# it is a range in time. A word counts between underscores or at a camelCase edge (event_date,
# OrderDate, created_at, CreatedOn); plurals (days, hours) are durations, not times.
_TIME_NAME = re.compile(
    r"(?:^|_|(?<=[a-z0-9])(?=[A-Z]))"
    r"(?i:ds|dt|dte|date|datetime|day|time|timestamp|tstamp|ts|hour|week|month|quarter|year|period|epoch|yyyymmdd)"
    r"(?=$|_|[A-Z0-9])"
    r"|(?:^|_|(?<=[a-z0-9])(?=[A-Z]))(?i:created|updated|modified)$"  # not created_by
    r"|(?:_|(?<=[a-z0-9])(?=[A-Z]))(?i:at|on)$"
)
# A value substituted into the text before it runs: Jinja ('{{ ds }}', '{% ... %}') and ${var}.
_TEMPLATE = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\$\{[^}]*\}", re.DOTALL)
_NOW_FUNCS = frozenset(
    {"NOW", "GETDATE", "GETUTCDATE", "SYSDATE", "SYSTIMESTAMP", "SYSDATETIME", "CURRENT_TIMESTAMP",
     "LOCALTIMESTAMP", "CURRENT_DATETIME", "UTC_TIMESTAMP", "TODAY", "CURDATE", "CURRENT_DATE",
     "UTC_DATE", "TRANSACTION_TIMESTAMP", "STATEMENT_TIMESTAMP", "CLOCK_TIMESTAMP"}
)
_DAY_FUNCS = frozenset({"CURDATE", "CURRENT_DATE", "UTC_DATE", "TODAY"})

# Date parts other than the year, which repeat: MONTH(d) = 3 is March of every year. A part is
# named by what it is called and the longest period it repeats in, for a reviewer to read.
_PARTS = {
    "MONTH": ("month", "year"),
    "QUARTER": ("quarter", "year"),
    "WEEK": ("week", "year"),
    "DAYOFYEAR": ("day of the year", "year"),
    "DAY": ("day of the month", "month"),
    "DAYOFWEEK": ("day of the week", "week"),
    "HOUR": ("hour", "day"),
    "MINUTE": ("minute", "hour"),
    "SECOND": ("second", "minute"),
    "SUBSECOND": ("fraction of a second", "second"),
}
_PERIODS = ("second", "minute", "hour", "day", "week", "month", "year")
# The unit of EXTRACT(<unit> FROM c), DATEPART(<unit>, c) and DATE_PART('<unit>', c), as a part.
# The year is not here: _year_of reads it, because it bounds the column.
_PART_UNITS = {
    **dict.fromkeys(("MONTH", "MONTHS", "MM", "MON", "MONS", "M"), "MONTH"),
    **dict.fromkeys(("QUARTER", "QUARTERS", "QQ", "Q", "QTR", "QTRS"), "QUARTER"),
    **dict.fromkeys(("WEEK", "WEEKS", "WK", "WW", "W", "WY", "WOY", "WEEKOFYEAR", "WEEKISO", "ISOWEEK",
                     "ISO_WEEK", "WEEK_ISO", "WEEKOFYEARISO", "WEEKOFYEAR_ISO"), "WEEK"),
    **dict.fromkeys(("DAY", "DAYS", "DD", "D", "DAYOFMONTH"), "DAY"),
    **dict.fromkeys(("DOW", "DW", "DAYOFWEEK", "WEEKDAY", "ISODOW", "DAYOFWEEKISO", "DAYOFWEEK_ISO",
                     "DOW_ISO", "WEEKDAY_ISO"), "DAYOFWEEK"),
    **dict.fromkeys(("DOY", "DY", "DAYOFYEAR", "YEARDAY"), "DAYOFYEAR"),
    **dict.fromkeys(("HOUR", "HOURS", "HH", "H", "HR", "HRS"), "HOUR"),
    **dict.fromkeys(("MINUTE", "MINUTES", "MI", "MIN", "MINS", "N"), "MINUTE"),
    **dict.fromkeys(("SECOND", "SECONDS", "SS", "S", "SEC", "SECS"), "SECOND"),
    **dict.fromkeys(("MILLISECOND", "MILLISECONDS", "MS", "MICROSECOND", "MICROSECONDS", "US", "MCS",
                     "NANOSECOND", "NANOSECONDS", "NS"), "SUBSECOND"),
}
# Functions of one date that sqlglot reads into their own node, and the part each returns.
_PART_FUNCTIONS: dict[type[exp.Expression], str] = {
    exp.Month: "MONTH",
    exp.Monthname: "MONTH",
    exp.Quarter: "QUARTER",
    exp.Week: "WEEK",
    exp.WeekOfYear: "WEEK",
    exp.Day: "DAY",
    exp.DayOfMonth: "DAY",
    exp.DayOfWeek: "DAYOFWEEK",
    exp.DayOfWeekIso: "DAYOFWEEK",
    exp.Dayname: "DAYOFWEEK",
    exp.DayOfYear: "DAYOFYEAR",
    exp.Hour: "HOUR",
    exp.Minute: "MINUTE",
    exp.Second: "SECOND",
}
# The same functions where sqlglot keeps them by name (MySQL's WEEKDAY, ClickHouse's toMonth ...).
_ANONYMOUS_PARTS = {
    "WEEKDAY": "DAYOFWEEK", "DOW": "DAYOFWEEK", "ISODOW": "DAYOFWEEK", "TODAYOFWEEK": "DAYOFWEEK",
    "TOMONTH": "MONTH", "TOQUARTER": "QUARTER", "TOISOWEEK": "WEEK", "TOWEEK": "WEEK",
    "TODAYOFMONTH": "DAY", "TODAYOFYEAR": "DAYOFYEAR", "TOHOUR": "HOUR", "TOMINUTE": "MINUTE",
    "TOSECOND": "SECOND",
}
# Functions whose first argument names the part: DATE_PART('month', d), DATEPART(month, d).
_ANONYMOUS_UNIT_FIRST = frozenset({"DATE_PART", "DATEPART"})
# The node types a date part (the year included) can be: a comparison on one of them is read
# as one. Anonymous is here for the functions sqlglot keeps by name; most are not date parts.
_PART_NODES = frozenset({exp.Year, exp.Extract, exp.Anonymous, *_PART_FUNCTIONS})
# Run-time parameters: :name, ?, %(name)s, $1 and the like (Placeholder); @name, $name, ${name}
# (Parameter).
_PARAMETERS = frozenset({exp.Placeholder, exp.Parameter})
# What a run-time value passes through on its way to a time bound: casts, date constructors,
# truncations and shifts (CAST(:start AS DATE), DATE_SUB('{{ ds }}', 7)). Each keeps the value
# in ``this``.
_VALUE_CARRIERS = frozenset({
    exp.Paren, exp.Cast, exp.TryCast, exp.TsOrDsToDate, exp.StrToDate, exp.StrToTime, exp.TimeStrToTime,
    exp.TimeStrToDate, exp.DateStrToDate, exp.Date, exp.Timestamp, exp.Datetime, exp.TsOrDsToTimestamp,
    exp.DateSub, exp.DateAdd, exp.TsOrDsAdd, exp.TimestampSub, exp.TimestampAdd, exp.DatetimeSub,
    exp.DatetimeAdd, exp.TimeAdd, exp.TimeSub, exp.DateTrunc, exp.TimestampTrunc, exp.DatetimeTrunc,
    exp.AddMonths,
})
# Differences of two times, by the function each dialect spells them with; ``-`` too, where
# one side is a time column and the other a known point (Postgres ``CURRENT_DATE - d``).
_DIFFERENCE_NODES = frozenset({
    exp.DateDiff, exp.TsOrDsDiff, exp.TimestampDiff, exp.DatetimeDiff, exp.TimeDiff, exp.MonthsBetween, exp.Sub,
})
# Nodes that make a value a time: intervals, the current time, date arithmetic.
_TIME_MARKERS = frozenset({
    exp.Interval, exp.CurrentDate, exp.CurrentTimestamp, exp.CurrentDatetime, exp.DateSub, exp.DateAdd,
    exp.TimestampSub, exp.TimestampAdd, exp.DatetimeSub, exp.DatetimeAdd, exp.AddMonths, exp.DateTrunc,
    exp.TimestampTrunc, exp.DatetimeTrunc, exp.TsOrDsAdd,
})
# What a column passes through and still counts as itself (_column_key).
_COLUMN_WRAPPERS = (exp.Cast, exp.TryCast, exp.Paren, exp.Date, exp.TsOrDsToDate, exp.TimeStrToTime,
                    exp.DateTrunc, exp.TimestampTrunc, exp.DatetimeTrunc)


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
class Unmeasured:
    """What keeps a column's span from being measured, besides a missing bound.

    ``low_params`` and ``high_params`` are run-time parameters that bound the column from below
    and above (they count where no known point bounds that side); ``parts`` are the date parts
    other than the year it is filtered on (``MONTH``, ``HOUR`` ...).
    """

    low_params: tuple[exp.Expression, ...] = ()
    high_params: tuple[exp.Expression, ...] = ()
    parts: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Bounds:
    """What the predicates say about one column: the lowest and highest point it may take.

    ``unmeasured`` is None unless a run-time parameter or a date part filters the column: the
    usual bounds carry nothing more, and combining them stays as cheap as two points.
    """

    low: Point | None
    high: Point | None
    unmeasured: Unmeasured | None = None


@dataclass(frozen=True, slots=True)
class Span:
    """The time a write covers: ``hours`` is None when the range is open-ended.

    ``low`` and ``high`` are the column's bounds as measured (made absolute when ``now`` was
    needed to compare them); the description is only worded when a rule reports the span.
    ``unmeasured`` holds the run-time parameters on the sides left unknown, or the date parts
    that filter the column without bounding it.
    """

    column: str
    hours: float | None
    low: Point | None
    high: Point | None
    unmeasured: Unmeasured | None = None

    def describe(self, dialect: str | None = None) -> str:
        """The span in words; ``dialect`` is the one the SQL was read in, to name parameters as written."""
        column, low, high, why = self.column, self.low, self.high, self.unmeasured
        if why is not None and (why.low_params or why.high_params):
            # The same node may bound both sides (IN lists); two ``?`` are two parameters.
            unique = {id(node): node for node in why.low_params + why.high_params}.values()
            names = [_show_parameter(node, dialect) for node in unique if type(node) is not exp.Subquery]
            queries = len(unique) - len(names)
            which = []
            if names:
                which.append(f"the run-time parameter {names[0]}" if len(names) == 1 else f"the run-time parameters {', '.join(names)}")
            if queries:
                which.append("what a subquery returns when it runs" if queries == 1 else f"what {queries} subqueries return when they run")
            return f"the span of {column} depends on {' and '.join(which)} and cannot be measured"
        if low is None and high is None:
            if why is not None and why.parts:
                labels = list(dict.fromkeys(_PARTS[part][0] for part in why.parts))
                period = max((_PARTS[part][1] for part in why.parts), key=_PERIODS.index)
                return f"{column}'s {' and '.join(labels)}, in every {period}"
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
        why = bounds.unmeasured
        if why is not None:
            unknown_low = why.low_params if low is None else ()
            unknown_high = why.high_params if high is None else ()
            if unknown_low or unknown_high:
                # The side given at run time could be anything, whatever bounds the other side.
                return Span(column, None, low, high, Unmeasured(unknown_low, unknown_high))
            why = Unmeasured(parts=why.parts) if why.parts else None
        if low is not None and low.relative:
            seconds = -low.seconds + (DAY if low.day else 0.0)
            return Span(column, max(seconds, 0.0) / 3600, low, high)
        return Span(column, None, low, high, why)
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
        return _all_of(_bounds(condition.this), _bounds(condition.expression))
    if isinstance(condition, exp.Or):
        return _any_of(_bounds(condition.this), _bounds(condition.expression))
    if isinstance(condition, exp.Not):
        return _negated(condition.this)
    if isinstance(condition, exp.Between):
        subject, first, last = condition.this, condition.args.get("low"), condition.args.get("high")
        if type(subject) in _DIFFERENCE_NODES:
            low_side = _difference_comparison(exp.GTE, subject, first)
            high_side = _difference_comparison(exp.LTE, subject, last)
            if low_side is not None or high_side is not None:
                return _all_of(low_side or {}, high_side or {})
        if type(subject) in _PART_NODES:
            part = _date_part(subject)
            if part is not None:
                return _part_values(part, [first, last], between=True)
        column = _column_key(subject)
        if not column:
            return {}
        low = _point(first, subject)
        high = _point(last, subject)
        low_params = () if low else _parameters(first)
        high_params = () if high else _parameters(last)
        # A known end shows the column holds times; without one, only its name can.
        if low or high or ((low_params or high_params) and _looks_like_time_column(subject)):
            unmeasured = Unmeasured(low_params, high_params) if low_params or high_params else None
            return {column: Bounds(low, _inclusive(high, subject), unmeasured)}
        return {}
    if isinstance(condition, exp.In):
        return _in_bounds(condition)
    if isinstance(condition, (exp.EQ, exp.GT, exp.GTE, exp.LT, exp.LTE)):
        return _comparison(condition)
    return {}


def _all_of(left: dict[str, Bounds], right: dict[str, Bounds]) -> dict[str, Bounds]:
    """Both conditions hold (AND): each column's bounds intersect."""
    for column, bounds in right.items():
        left[column] = _intersect(left[column], bounds) if column in left else bounds
    return left


def _any_of(left: dict[str, Bounds], right: dict[str, Bounds]) -> dict[str, Bounds]:
    """Either condition holds (OR): each column's bounds widen to cover both."""
    merged: dict[str, Bounds] = {}
    for column in left.keys() | right.keys():
        if column in left and column in right:
            merged[column] = _envelope(left[column], right[column])
        else:
            # One branch leaves the column free: together they cover all of time.
            merged[column] = Bounds(None, None)
    return merged


def _negated(condition: exp.Expression) -> dict[str, Bounds]:
    """Per-column bounds of ``NOT condition``: what lies outside the condition's range.

    ``NOT (d >= x)`` is ``d < x``; outside a range closed at both ends (``d NOT BETWEEN a AND
    b``, ``d NOT IN (...)``, ``d <> x``) lies all time before and after it, which no bound limits.
    """
    if isinstance(condition, exp.Paren):
        return _negated(condition.this)
    if isinstance(condition, exp.Not):
        return _bounds(condition.this)
    if isinstance(condition, exp.And):  # NOT (a AND b) is NOT a OR NOT b
        return _any_of(_negated(condition.this), _negated(condition.expression))
    if isinstance(condition, exp.Or):  # NOT (a OR b) is NOT a AND NOT b
        return _all_of(_negated(condition.this), _negated(condition.expression))
    return {column: _outside(bounds) for column, bounds in _bounds(condition).items()}


def _outside(bounds: Bounds) -> Bounds:
    """The bounds of the time outside ``bounds``: one-sided ranges flip, closed ones open up."""
    low, high, why = bounds.low, bounds.high, bounds.unmeasured
    if why is not None:
        # A run-time parameter that bounded one side now bounds the other.
        why = Unmeasured(why.high_params, why.low_params, why.parts)
    if low is not None and high is not None:
        return Bounds(None, None, why)
    if low is not None:
        return Bounds(None, low, why)
    if high is not None:
        return Bounds(high, None, why)
    return Bounds(None, None, why)


def _difference(node: exp.Expression | None) -> tuple[str, Point, bool, float | None] | None:
    """A time column's distance from a known point: ``DATEDIFF(CURRENT_DATE, d)``, ``now() - ts``.

    Returns the column, the point, whether the column is the minuend (``d - point`` rather than
    ``point - d``) and the seconds in one unit of the difference (None for ``-``, whose unit
    depends on what it is compared with); None when the node is no such difference.
    """
    if node is None:
        return None
    kind = type(node)
    if kind is exp.Sub:
        per: float | None = None
    elif kind is exp.MonthsBetween:
        per = _UNIT_SECONDS["MONTH"]
    else:
        # A unit that names no length of time (WEEKDAY, say) leaves the difference unread.
        per = _UNIT_SECONDS.get(_unit(node.args.get("unit")) or "DAY")
        if per is None:
            return None
    # sqlglot puts the later end of every dialect's difference function in ``this``.
    end, start = node.this, node.expression
    point, column = _point(end), _column_key(start)
    if point is not None and column:
        return column, point, False, per
    point, column = _point(start), _column_key(end)
    if point is not None and column:
        return column, point, True, per
    return None


def _difference_comparison(
    kind: type[exp.Expression], left: exp.Expression | None, right: exp.Expression | None
) -> dict[str, Bounds] | None:
    """Bounds from comparing a difference of times with an amount: ``DATEDIFF(CURRENT_DATE, d) < 30``
    holds for d after 30 days ago. None when neither side is such a difference."""
    found = _difference(left) if type(left) in _DIFFERENCE_NODES else None
    amount = right
    if found is None:
        found = _difference(right) if type(right) in _DIFFERENCE_NODES else None
        if found is None:
            return None
        amount, kind = left, _FLIPPED.get(kind, kind)
    column, point, column_first, per = found
    seconds = _interval(amount)
    if seconds is None:
        number = _number(amount)
        if number is None:
            return None
        seconds = number * (DAY if per is None else per)
    if column_first:  # column - point < n: the column is before point + n
        at = point.shifted(seconds)
    else:  # point - column < n: the column is after point - n
        at = point.shifted(-seconds)
        kind = _FLIPPED.get(kind, kind)
    return {column: _compared(kind, at)}


def _in_bounds(condition: exp.In) -> dict[str, Bounds]:
    """``c IN (...)``: from the earliest to the latest value listed."""
    subject, values = condition.this, condition.expressions
    if values and type(subject) in _PART_NODES:
        part = _date_part(subject)
        if part is not None:
            return _part_values(part, values, between=False)
    column = _column_key(subject)
    if not column:
        return {}
    if not values:
        # IN :days, IN %(days)s, IN UNNEST(@days): a whole list given at run time.
        unnest = condition.args.get("unnest")
        listed = condition.args.get("field") or (unnest.expressions[0] if unnest and len(unnest.expressions) == 1 else None)
        params = _parameters(listed)
        if params and _looks_like_time_column(subject):
            return {column: Bounds(None, None, Unmeasured(params, params))}
        return {}
    points = [_point(value, subject) for value in values]
    if all(points):
        known = [p for p in points if p is not None]
        if len({p.relative for p in known}) == 1:
            return {column: Bounds(min(known, key=_key), _inclusive(max(known, key=_key), subject))}
        return {}
    if len(values) == 1:
        return {}  # IN (:day) is one value, as ``=`` is
    # A known date in the list shows the column holds times; without one, only its name can.
    if not any(points) and not _looks_like_time_column(subject):
        return {}
    params = tuple(node for node in map(_parameter, values) if node is not None)
    return {column: Bounds(None, None, Unmeasured(params, params))} if params else {}


def _comparison(condition: exp.Expression) -> dict[str, Bounds]:
    left, right = condition.this, condition.expression
    kind = type(condition)
    if type(left) in _PART_NODES or type(right) in _PART_NODES:
        parts = _part_comparison(condition)
        if parts is not None:
            return parts
    if type(left) in _DIFFERENCE_NODES or type(right) in _DIFFERENCE_NODES:
        differences = _difference_comparison(kind, left, right)
        if differences is not None:
            return differences
    subject = left
    column = _column_key(left)
    value = _point(right, left) if column else None
    if value is None:
        subject = right
        column = _column_key(right)
        value = _point(left, right) if column else None
        kind = _FLIPPED.get(kind, kind)
    if column is None or value is None:
        return _parameter_comparison(condition)
    return {column: _compared(kind, value, subject)}


def _compared(kind: type[exp.Expression], value: Point, subject: exp.Expression | None = None) -> Bounds:
    """The bounds ``subject <kind> value`` puts on a column, for =, >, >=, < and <=."""
    if kind is exp.EQ:
        return Bounds(value, _inclusive(value, subject))
    if kind in (exp.GT, exp.GTE):
        return Bounds(value, None)
    if kind is exp.LTE:
        return Bounds(None, _inclusive(value, subject))
    return Bounds(None, value)


def _parameter_comparison(condition: exp.Expression) -> dict[str, Bounds]:
    """A time column compared to a run-time parameter: ``created_at >= :start`` is unmeasured.

    ``ds = :day`` is one value, at most a day, so it bounds nothing here; ``ds = ANY(:days)``
    is a list of them.
    """
    kind = type(condition)
    subject, value = condition.this, condition.expression
    if kind is exp.EQ:
        if type(value) is not exp.Any:
            subject, value = value, subject
            if type(value) is not exp.Any:
                return {}
        parameter = _parameter(value.this)
    else:
        parameter = _parameter(value)
        if parameter is None:
            subject, value, kind = value, subject, _FLIPPED.get(kind, kind)
            parameter = _parameter(value)
    if parameter is None or not (_looks_like_time_column(subject) or _time_valued(parameter)):
        return {}
    column = _column_key(subject)
    if not column:
        return {}
    return {column: _unknown(kind, parameter)}


def _unknown(kind: type[exp.Expression], parameter: exp.Expression) -> Bounds:
    """The bounds a comparison to a run-time parameter leaves: the side it bounds is unknown."""
    if kind in (exp.GT, exp.GTE):
        return Bounds(None, None, Unmeasured((parameter,)))
    if kind in (exp.LT, exp.LTE):
        return Bounds(None, None, Unmeasured((), (parameter,)))
    return Bounds(None, None, Unmeasured((parameter,), (parameter,)))


def _parameter(node: exp.Expression | None) -> exp.Expression | None:
    """The run-time parameter a value is built from (``:start``, ``?``, ``'{{ ds }}'``), else None."""
    while node is not None:
        kind = type(node)
        if kind in _PARAMETERS:
            return node
        if kind is exp.Subquery:
            # A scalar subquery is a value the database computes when the statement runs.
            return node
        if kind is exp.Literal:
            text = node.this
            return node if node.is_string and "{" in text and _TEMPLATE.search(text) else None
        if kind in _VALUE_CARRIERS:
            node = node.this
        elif kind is exp.Add or kind is exp.Sub:
            # :end - INTERVAL '7 days' is still :end's; INTERVAL '7 days' + :start is :start's.
            found = _parameter(node.this)
            return found if found is not None or kind is exp.Sub else _parameter(node.expression)
        else:
            return None
    return None


def _time_valued(node: exp.Expression) -> bool:
    """Whether a scalar subquery computes a time: its one column is date arithmetic, the current
    time, or a time-named column (``SELECT max(updated_at) - INTERVAL '1 day' FROM s``)."""
    query = node.this if type(node) is exp.Subquery else None
    if not isinstance(query, exp.Select) or len(query.expressions) != 1:
        return False
    return any(
        type(part) in _TIME_MARKERS or (type(part) is exp.Column and _is_time_name(part.name))
        for part in query.expressions[0].walk(prune=_is_query)
    )


def _parameters(node: exp.Expression | None) -> tuple[exp.Expression, ...]:
    parameter = _parameter(node)
    return () if parameter is None else (parameter,)


def _show_parameter(node: exp.Expression, dialect: str | None) -> str:
    """A run-time parameter as the SQL wrote it."""
    if type(node) is exp.Placeholder and isinstance(node.this, str) and dialect != "duckdb":
        # Every dialect but DuckDB (where $name is the same) reads a bare name from :name;
        # sqlglot writes it back as %(name)s for Postgres.
        return f":{node.this}"
    try:
        return node.sql(dialect=dialect)
    except (RecursionError, ValueError, TypeError, KeyError, AttributeError):
        return type(node).__name__


def _looks_like_time_column(node: exp.Expression | None) -> bool:
    """Whether a column's name says it holds times: created_at, event_ts, OrderDate, ds, hour ..."""
    while isinstance(node, _COLUMN_WRAPPERS):
        node = node.this
    return isinstance(node, exp.Column) and _is_time_name(node.name)


@lru_cache(maxsize=4096)
def _is_time_name(name: str) -> bool:
    # Scripts repeat the same few column names, and the pattern tries every position of one.
    return _TIME_NAME.search(name) is not None


def _date_part(node: object) -> tuple[exp.Expression, str] | None:
    """The date column and the part a date-part function takes of it (``YEAR`` for the year), else None.

    ``EXTRACT(MONTH FROM c)``, ``MONTH(c)``, ``DATEPART(month, c)``, ``DATE_PART('month', c)``.
    A year written as a string (Snowflake's ``DATE_PART('year', c)``) is not read as a year.
    """
    year = _year_of(node)
    if year is not None:
        return year, "YEAR"
    kind = type(node)
    if kind is exp.Extract:
        unit = node.this  # type: ignore[attr-defined]
        part = _PART_UNITS.get(unit.name.upper()) if isinstance(unit, (exp.Var, exp.Identifier, exp.Literal)) else None
        return (node.expression, part) if part else None  # type: ignore[attr-defined]
    part = _PART_FUNCTIONS.get(kind)  # type: ignore[arg-type]
    if part is not None:
        return node.this, part  # type: ignore[attr-defined]
    if kind is exp.Anonymous:
        name, args = node.name.upper(), node.expressions  # type: ignore[attr-defined]
        if name in _ANONYMOUS_PARTS and len(args) == 1:
            return args[0], _ANONYMOUS_PARTS[name]
        if name in _ANONYMOUS_UNIT_FIRST and len(args) == 2 and isinstance(args[0], (exp.Var, exp.Column, exp.Literal)):
            part = _PART_UNITS.get(args[0].name.upper())
            return (args[1], part) if part else None
    return None


def _part_comparison(condition: exp.Expression) -> dict[str, Bounds] | None:
    """``YEAR(c) = 2023`` bounds c; ``MONTH(c) = 3`` filters it in every year. None: no date part here."""
    kind = type(condition)
    subject, value = condition.this, condition.expression
    part = _date_part(subject)
    if part is None:
        part = _date_part(value)
        if part is None:
            # EXTRACT of a unit that is neither (EPOCH, TIMEZONE): no bound, as before parts were read.
            return {} if type(subject) is exp.Extract or type(value) is exp.Extract else None
        subject, value, kind = value, subject, _FLIPPED.get(kind, kind)
    column = _column_key(part[0])
    if not column:
        return {}
    if part[1] == "YEAR":
        return _year_comparison(column, kind, value)
    return _repeating(column, part[1], [value])


def _part_values(
    part: tuple[exp.Expression, str], values: list[exp.Expression | None], *, between: bool
) -> dict[str, Bounds]:
    """A date part ``BETWEEN`` two values, or ``IN`` a list (from its earliest to its latest value).

    ``YEAR(c) BETWEEN a AND b`` is c from January 1 of a to the end of b.
    """
    column = _column_key(part[0])
    if not column:
        return {}
    if part[1] != "YEAR":
        return _repeating(column, part[1], values)
    years = [_year_value(value) for value in values]
    if all(year is not None for year in years):
        known = [year for year in years if year is not None]
        first, last = (known[0], known[-1]) if between else (min(known), max(known))
        return {column: Bounds(_year_start(first), _year_start(last + 1))}
    params = tuple(node for node in map(_parameter, values) if node is not None)
    if params:
        return {column: Bounds(None, None, Unmeasured(params, params))}  # a year given at run time can be any year
    return {}  # a year that is not written out, nor given at run time, is not read


def _repeating(column: str, part: str, values: list[exp.Expression | None]) -> dict[str, Bounds]:
    """A part other than the year takes rows from every year, whatever the values compared."""
    for value in values:
        if value is None:
            return {}
        if type(value) is exp.Column or any(type(node) is exp.Column for node in value.walk(prune=_is_query)):
            return {}  # MONTH(a.d) = MONTH(b.d) pairs rows; it filters neither side on its own
    return {column: Bounds(None, None, Unmeasured(parts=(part,)))}


def _is_query(node: exp.Expr) -> bool:
    """A subquery's columns are its own rows', not the compared row's."""
    return isinstance(node, (exp.Query, exp.Subquery))


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


def _year_start(year: int) -> Point:
    return Point(False, _epoch(datetime(year, 1, 1)), True)


def _year_comparison(column: str, kind: type[exp.Expression], value: exp.Expression) -> dict[str, Bounds]:
    """``YEAR(c) = 2023`` covers the whole year 2023 of c; ``>`` and ``<`` leave it open."""
    year = _year_value(value)
    if year is None:
        parameter = _parameter(value)
        return {} if parameter is None else {column: _unknown(kind, parameter)}
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


def _inclusive(point: Point | None, subject: exp.Expression | None = None) -> Point | None:
    """An inclusive upper bound on a date covers that whole day; on a column truncated to a
    unit (``DATE_TRUNC('month', d) = '2024-01-01'``), that whole unit: all of January.

    The end of that day is still a date (midnight after it), so a range whose both ends come
    from ``CURRENT_DATE`` is not stretched as one that ends at now would be.
    """
    unit = _truncation(subject)
    if point is not None and unit is not None:
        return _unit_end(point, unit)
    if point is None or not point.day:
        return point
    return Point(point.relative, point.seconds + DAY, True)


_TRUNCATIONS = frozenset({exp.DateTrunc, exp.TimestampTrunc, exp.DatetimeTrunc})
_MONTHS = {"MONTH": 1, "QUARTER": 3, "YEAR": 12}


def _truncation(node: exp.Expression | None) -> str | None:
    """The unit a column is truncated to on its way to a comparison, if it is (DAY or longer)."""
    while isinstance(node, _COLUMN_WRAPPERS):
        if type(node) in _TRUNCATIONS:
            unit = _unit(node.args.get("unit"))
            return unit if unit is not None and _UNIT_SECONDS[unit] >= DAY else None
        node = node.this
    return None


def _unit_end(point: Point, unit: str) -> Point:
    """The end of the unit that starts at ``point``: a calendar month after 2024-01-01 is
    2024-02-01; a unit from a relative point is taken at its longest (31 days a month)."""
    months = _MONTHS.get(unit)
    if point.relative or months is None:
        return Point(point.relative, point.seconds + _UNIT_SECONDS[unit], point.day)
    start = datetime(1970, 1, 1) + timedelta(seconds=point.seconds)
    total = start.month - 1 + months
    end = start.replace(year=start.year + total // 12, month=total % 12 + 1, day=1)
    return Point(False, _epoch(end), True)


def _key(point: Point) -> float:
    return point.seconds


def _intersect(a: Bounds, b: Bounds) -> Bounds:
    return Bounds(_pick(a.low, b.low, max), _pick(a.high, b.high, min), _joined(a.unmeasured, b.unmeasured))


def _envelope(a: Bounds, b: Bounds) -> Bounds:
    low = None if a.low is None or b.low is None else _pick(a.low, b.low, min)
    high = None if a.high is None or b.high is None else _pick(a.high, b.high, max)
    return Bounds(low, high, _joined(a.unmeasured, b.unmeasured))


def _joined(a: Unmeasured | None, b: Unmeasured | None) -> Unmeasured | None:
    if a is None:
        return b
    if b is None:
        return a
    return Unmeasured(a.low_params + b.low_params, a.high_params + b.high_params, a.parts + b.parts)


def _pick(a: Point | None, b: Point | None, choose: type[max | min]) -> Point | None:
    if a is None:
        return b
    if b is None or a.relative != b.relative:
        return a
    return choose(a, b, key=_key)  # type: ignore[call-overload,no-any-return]


def _column_key(node: exp.Expression | None) -> str | None:
    """The column a bound applies to; casts and date truncations of a column count as it."""
    if type(node) is not exp.Column:  # usually it is the column itself
        while isinstance(node, _COLUMN_WRAPPERS):
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
    if isinstance(node, exp.AddMonths):
        base = _point(node.this, column)
        months = _number(node.expression)
        if base is None or months is None:
            return None
        return base.shifted(months * _UNIT_SECONDS["MONTH"])
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
