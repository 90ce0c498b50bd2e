"""Text and markdown tables shared by the benchmark scripts."""

from __future__ import annotations

from collections.abc import Sequence


def render(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain aligned text table."""
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A GitHub-flavoured markdown table."""
    lines = [headers, ["---"] * len(headers), *rows]
    return "\n".join("| " + " | ".join(str(c) for c in row) + " |" for row in lines)


def print_summary(script: str, argv: Sequence[str] | None, env: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """The markdown block a benchmark prints for the README: the exact command, the machine, the table."""
    import sys

    command = " ".join([f"python benchmarks/{script}", *(sys.argv[1:] if argv is None else argv)])
    print("## Summary (markdown)\n")
    print(f"Measured with `{command}` ({env}).\n")
    print(markdown(headers, rows))
