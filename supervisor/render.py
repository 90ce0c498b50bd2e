"""Plain-text renderings of results for a terminal."""

from __future__ import annotations

from supervisor.models import SqlClassification

_SQL_WIDTH = 100


def render_classification(result: SqlClassification) -> str:
    """A readable table: the script's action type, then category, object and message per statement.

    Args:
        result: a classification.

    Returns:
        Text ending in a newline.
    """
    categories = ", ".join(category.value for category in result.categories) or "none"
    lines = [f"action type: {result.action_type}    categories: {categories}    dialect: {result.dialect}", ""]
    rows: list[tuple[str, str, str, str]] = []
    for statement in result.statements:
        for finding in statement.findings or ():
            rows.append((str(statement.index), finding.category.value, finding.object or "-", finding.message))
        if not statement.findings:
            rows.append((str(statement.index), "-", "-", "changes nothing a reviewer gates"))
    headers = ("#", "category", "object", "message")
    widths = [max(len(headers[i]), *(len(row[i]) for row in rows)) for i in range(3)]
    lines.append("  ".join(h.ljust(w) for h, w in zip(headers[:3], widths)) + "  " + headers[3])
    lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(headers[3]))
    current = None
    for row in rows:
        if row[0] != current:
            current = row[0]
            statement = result.statements[int(row[0])] if int(row[0]) < len(result.statements) else None
            if statement is not None and len(result.statements) > 1:
                lines.append(f"-- statement {row[0]}: {_one_line(statement.sql)}")
        lines.append("  ".join(cell.ljust(w) for cell, w in zip(row[:3], widths)) + "  " + row[3])
    return "\n".join(lines) + "\n"


def _one_line(sql: str) -> str:
    text = " ".join(sql.split())
    return text if len(text) <= _SQL_WIDTH else text[: _SQL_WIDTH - 3] + "..."
