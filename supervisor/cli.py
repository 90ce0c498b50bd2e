"""The ``trustladder`` command line.

Only what a command needs is imported when it runs, so ``trustladder classify`` starts fast:
nothing here imports dagster, pandas or a web framework.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import NoReturn, TextIO

from supervisor.errors import SupervisorError, UsageError

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
DEFAULT_LADDER = "trust_ladder.yaml"
DEFAULT_LEDGER = ".trustladder/ledger.duckdb"
DEFAULT_DIALECT = "duckdb"


class _Parser(argparse.ArgumentParser):
    """argparse that reports a usage error on one line and exits 2, without the usage dump."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}; see '{self.prog} --help'")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every ``trustladder`` command."""
    parser = _Parser(prog="trustladder", description="Supervise AI agents' proposed data fixes.")
    parser.add_argument(
        "--ladder",
        default=os.environ.get("TRUSTLADDER_LADDER", DEFAULT_LADDER),
        help="trust ladder file (default ./trust_ladder.yaml, env TRUSTLADDER_LADDER)",
    )
    parser.add_argument(
        "--ledger",
        default=os.environ.get("TRUSTLADDER_LEDGER", DEFAULT_LEDGER),
        help="ledger database (default .trustladder/ledger.duckdb, env TRUSTLADDER_LEDGER)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    commands.required = True

    classify = commands.add_parser(
        "classify",
        help="categories per statement of a SQL text; records nothing",
        description="Classify each statement of a SQL text into trustladder's risk categories.",
    )
    classify.add_argument(
        "--dialect",
        default=os.environ.get("TRUSTLADDER_DIALECT", DEFAULT_DIALECT),
        help=f"sqlglot dialect the SQL is written in (default {DEFAULT_DIALECT}, env TRUSTLADDER_DIALECT)",
    )
    source = classify.add_mutually_exclusive_group(required=True)
    source.add_argument("--sql", help="the SQL text")
    source.add_argument("file", nargs="?", help="a file with the SQL, or - for standard input")
    classify.add_argument(
        "--backfill-max-hours",
        type=float,
        default=24.0,
        help="a write whose time filter spans more than this is a costly backfill (default 24)",
    )
    classify.add_argument("--json", action="store_true", help="print JSON in the documented shape")
    classify.set_defaults(handler=_classify)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (also used as the console entry point)."""
    try:
        args = build_parser().parse_args(argv)
        code: int = args.handler(args, sys.stdout)
        return code
    except SupervisorError as error:
        print(f"trustladder: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("trustladder: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # the outermost edge: one line, never a traceback
        if os.environ.get("TRUSTLADDER_DEBUG"):
            raise
        print(f"trustladder: internal error: {type(error).__name__}: {error} (set TRUSTLADDER_DEBUG=1 for details)", file=sys.stderr)
        return EXIT_INTERNAL


def _read_sql(args: argparse.Namespace) -> str | bytes:
    if args.sql is not None:
        return str(args.sql)
    if args.file == "-":
        return sys.stdin.buffer.read()
    try:
        with open(args.file, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        raise UsageError(f"no such file: {args.file}; pass an existing file, --sql TEXT, or - to read standard input") from None
    except IsADirectoryError:
        raise UsageError(f"{args.file} is a directory; pass a SQL file, --sql TEXT, or - to read standard input") from None
    except OSError as error:
        raise UsageError(f"cannot read {args.file}: {error.strerror}; check the path and its permissions") from None


def _classify(args: argparse.Namespace, out: TextIO) -> int:
    import logging

    from classifiers import check_dialect, classify_sql

    logging.getLogger("sqlglot").setLevel(logging.CRITICAL)  # we report unsupported syntax ourselves
    dialect = check_dialect(args.dialect)
    if args.backfill_max_hours <= 0:
        raise UsageError(f"--backfill-max-hours must be positive, got {args.backfill_max_hours:g}")
    result = classify_sql(_read_sql(args), dialect=dialect, backfill_max_hours=args.backfill_max_hours)
    if args.json:
        json.dump(result.model_dump(mode="json"), out, indent=2)
        out.write("\n")
    else:
        from supervisor.render import render_classification

        out.write(render_classification(result))
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
