"""An inline SVG step chart of one action type's level over time, from the ledger's level history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

WIDTH, HEIGHT, PAD = 260, 56, 6


def as_utc(value: Any) -> datetime:
    """A ledger timestamp (naive UTC, or text) as an aware UTC datetime."""
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def level_steps(history: list[dict[str, Any]], *, initial: int, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The level at each change, from ``start`` (at the initial level) to ``end``.

    Args:
        history: level changes of one type, oldest first (``changed_at``, ``from_level``, ``to_level``).
        initial: the level before the first change.
        start: the chart's left edge.
        end: the chart's right edge (now).

    Returns:
        (moment, level) points, the last one at ``end``.
    """
    level = int(history[0]["from_level"]) if history else initial
    points = [(start, level)]
    for row in history:
        level = int(row["to_level"])
        points.append((max(as_utc(row["changed_at"]), start), level))
    points.append((end, level))
    return points


def level_chart(history: list[dict[str, Any]], *, initial: int, ceiling: int, start: datetime, end: datetime, label: str) -> Markup:
    """An SVG step line of level (1 at the bottom, 4 at the top) over time, with the ceiling dashed.

    Args:
        history: level changes of one type, oldest first.
        initial: its initial level.
        ceiling: its ceiling.
        start: the left edge.
        end: the right edge.
        label: what the chart shows, for screen readers.

    Returns:
        Markup for an inline ``<svg>``.
    """
    span = max((end - start).total_seconds(), 1.0)

    def x(moment: datetime) -> float:
        return PAD + (WIDTH - 2 * PAD) * (moment - start).total_seconds() / span

    def y(level: int) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * (level - 1) / 3

    path: list[str] = []
    for index, (moment, level) in enumerate(level_steps(history, initial=initial, start=start, end=end)):
        if index == 0:
            path.append(f"M{x(moment):.1f},{y(level):.1f}")
        else:
            path.append(f"H{x(moment):.1f}V{y(level):.1f}")
    grid = "".join(f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y(n):.1f}" y2="{y(n):.1f}" class="grid"/>' for n in range(1, 5))
    ceiling_line = f'<line x1="{PAD}" x2="{WIDTH - PAD}" y1="{y(ceiling):.1f}" y2="{y(ceiling):.1f}" class="ceiling"/>'
    return Markup(
        f'<svg class="chart" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(label)}">'
        f"<title>{escape(label)}</title>{grid}{ceiling_line}"
        f'<path d="{"".join(path)}" class="level"/></svg>'
    )
