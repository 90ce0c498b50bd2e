"""The ``trustladder classify`` command as a user runs it: a real subprocess, real files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from supervisor.cli import main

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TRUSTLADDER_DIALECT", None)
    return subprocess.run(  # noqa: PLW1510 - the exit code is what the tests assert
        [sys.executable, "-m", "supervisor.cli", *args],
        input=stdin.decode("utf-8", "replace") if stdin is not None else None,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def test_json_has_the_documented_shape() -> None:
    done = run("classify", "--json", "--dialect", "postgres", "--sql", "SELECT * FROM shop.orders; DROP TABLE shop.orders")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["action_type"] == "sql.drop"
    assert body["categories"] == ["drop", "read"]
    first, second = body["statements"]
    assert first["index"] == 0 and first["sql"] == "SELECT * FROM shop.orders"
    assert first["findings"] == [{"category": "read", "object": "shop.orders", "message": "reads shop.orders", "span_hours": None}]
    assert second["categories"] == ["drop"]
    assert second["findings"][0]["object"] == "shop.orders"
    assert "cannot be undone" in second["findings"][0]["message"]


def test_table_output_names_category_object_and_message(tmp_path: Path) -> None:
    script = tmp_path / "fix.sql"
    script.write_text("UPDATE shop.orders SET status = 'x';\nSELECT 1;\n")
    done = run("classify", "--dialect", "mysql", str(script))
    assert done.returncode == 0, done.stderr
    assert "action type: sql.unscoped_update" in done.stdout
    assert "unscoped_update  shop.orders" in done.stdout
    assert "has no WHERE clause" in done.stdout


def test_reads_standard_input() -> None:
    done = run("classify", "--json", "--dialect", "snowflake", "-", stdin=b"TRUNCATE TABLE raw.events")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["action_type"] == "sql.truncate"


def test_bundled_example_shows_every_trick() -> None:
    done = run("classify", "--json", "--dialect", "postgres", "classifiers/examples/agent_fixes.sql")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["categories"] == ["drop", "unscoped_delete", "costly_backfill", "write", "read"]
    assert [s["categories"][0] for s in body["statements"]] == [
        "read", "write", "unscoped_delete", "costly_backfill", "drop", "read"
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["classify", "--dialect", "nope", "--sql", "SELECT 1"], "unknown SQL dialect 'nope'; use one of: "),
        (["classify", "--dialect", "postgres"], "one of the arguments --sql file is required"),
        (["classify", "missing.sql"], "no such file: missing.sql"),
        (["classify", "--sql", "SELECT 1", "extra.sql"], "not allowed with argument"),
        (["classify", "--backfill-max-hours", "0", "--sql", "SELECT 1"], "--backfill-max-hours must be positive"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_bad_usage_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    done = run(*args)
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert message in lines[0]
    assert "Traceback" not in done.stderr


def test_unknown_dialect_lists_the_dialects() -> None:
    done = run("classify", "--dialect", "oracel", "--sql", "SELECT 1")
    assert done.returncode == 2
    for name in ("postgres", "snowflake", "bigquery", "tsql", "clickhouse", "trino"):
        assert name in done.stderr


def test_invalid_utf8_file_is_a_parse_error_not_a_crash(tmp_path: Path) -> None:
    script = tmp_path / "broken.sql"
    script.write_bytes(b"DELETE FROM t WHERE name = '\xff\xfe'")
    done = run("classify", "--json", str(script))
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["action_type"] == "sql.parse_error"
    assert "not valid UTF-8 (byte 28)" in body["statements"][0]["findings"][0]["message"]


def test_directory_is_a_usage_error(tmp_path: Path) -> None:
    done = run("classify", str(tmp_path))
    assert done.returncode == 2
    assert "is a directory" in done.stderr


def test_classify_does_not_import_heavy_modules() -> None:
    code = (
        "import sys; from supervisor.cli import main; main(['classify', '--sql', 'SELECT 1']);"
        "print(sorted(m for m in ('dagster', 'pandas', 'fastapi', 'duckdb') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


def test_main_in_process_returns_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["classify", "--json", "--dialect", "duckdb", "--sql", "CREATE OR REPLACE TABLE t AS SELECT 1"]) == 0
    assert json.loads(capsys.readouterr().out)["action_type"] == "sql.overwrite"
    assert main(["classify", "--dialect", "duckdb"]) == 2
    assert "error:" in capsys.readouterr().err
