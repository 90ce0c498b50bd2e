"""``trustladder demo`` through the command line, on real DuckDB files: what the ledger says happened."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from supervisor.cli import main
from supervisor.service import Supervisor
from supervisor.trust_ladder import load_ladder
from tests.supervisor.conftest import LADDER, sql

pytestmark = pytest.mark.slow

START = "2026-09-07"  # a Monday
ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    code: int
    out: str
    err: str
    ledger: Path
    warehouse: Path

    @property
    def report(self) -> dict[str, Any]:
        return dict(json.loads(self.out))

    def supervisor(self) -> Supervisor:
        return Supervisor(ladder=load_ladder(LADDER), ledger=self.ledger)

    def query(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        with self.supervisor().store.transaction() as db:
            return db.execute(sql, params or []).fetchall()


def demo(directory: Path, *options: str, ledger: Path | None = None, warehouse: Path | None = None) -> Run:
    """``trustladder demo`` with the shipped ladder on files in ``directory``."""
    ledger = ledger or directory / "ledger.duckdb"
    warehouse = warehouse or directory / "warehouse.duckdb"
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["--ladder", str(LADDER), "--ledger", str(ledger), "demo", "--warehouse", str(warehouse), *options])
    return Run(code, out.getvalue(), err.getvalue(), ledger, warehouse)


def cli(run: Run, *argv: str) -> tuple[int, str]:
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        code = main(["--ladder", str(LADDER), "--ledger", str(run.ledger), *argv])
    return code, out.getvalue()


@pytest.fixture(scope="module")
def eight_weeks(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The default demo, played once for the tests that read its ledger."""
    run = demo(tmp_path_factory.mktemp("demo"), "--start", START, "--json")
    assert run.code == 0, run.err
    return run


def week_of(column: str) -> str:
    return f"date_diff('second', TIMESTAMP '{START}', {column}) // 604800 + 1"


def test_the_ladder_promotes_two_types_and_demotes_the_flaky_one_in_week_6(eight_weeks: Run) -> None:
    changes = eight_weeks.query(f"SELECT action_type, from_level, to_level, reason, actor, evidence, {week_of('changed_at')} FROM level_changes ORDER BY seq")
    promotions = [c for c in changes if c[3] == "promotion"]
    assert len({c[0] for c in promotions}) >= 2, changes
    signers = set(load_ladder(LADDER).approvers_of(load_ladder(LADDER).ladder_group()))
    for action_type, from_level, to_level, _, actor, evidence, _ in promotions:
        facts = json.loads(evidence)
        assert to_level == from_level + 1 and actor in signers
        assert facts["outcomes_at_level"] >= 50 and facts["error_rate_upper"] < 0.05 and facts["days_at_level"] >= 7, (action_type, facts)
    demotions = [c for c in changes if c[2] < c[1]]
    assert [(c[0], c[6]) for c in demotions] == [("pipeline.retry_task", 6)]
    [(_, _, _, reason, actor, evidence, _)] = demotions
    assert reason in ("error_rate", "incident") and actor is None  # the ladder's own rules, nobody signed it
    if reason == "error_rate":
        facts = json.loads(evidence)
        assert facts["window_errors"] / facts["window"] > 0.1
    # the week-6 failures that caused it are in the ledger
    (failures,) = eight_weeks.query(f"SELECT count(*) FROM outcomes WHERE action_type = 'pipeline.retry_task' AND outcome <> 'success' AND {week_of('recorded_at')} = 6")[0]
    assert failures >= 3


def test_no_destructive_statement_ran_without_a_humans_approval(eight_weeks: Run) -> None:
    ladder = load_ladder(LADDER)
    found = eight_weeks.query(
        """SELECT p.id, p.agent, p.action_type, json_extract_string(p.proposal, '$.sql'), a.state, e.proposal_id IS NOT NULL,
                  list(v.voter) FILTER (WHERE v.verdict = 'approve')
           FROM proposals p LEFT JOIN approvals a ON a.proposal_id = p.id
                LEFT JOIN (SELECT DISTINCT proposal_id FROM executions) e ON e.proposal_id = p.id
                LEFT JOIN votes v ON v.proposal_id = p.id
           WHERE CAST(json_extract(p.assessment, '$.destructive') AS BOOLEAN) GROUP BY ALL"""
    )
    executed = [row for row in found if row[5]]
    assert executed and len(executed) < len(found), "the check needs destructive proposals both run and not run"
    approvers = {person for people in ladder.approvals.approvers.values() for person in people}
    for _, agent, _, _, state, _, voters in executed:
        assert state == "approved" and voters and set(voters) <= approvers and agent not in voters
    assert eight_weeks.report["destructive"]["executed_without_approval"] == 0
    assert eight_weeks.report["destructive"]["executed"] == len(executed)
    # the warehouse shows the same: the tables the refused statements targeted are intact, the approved drops happened
    with duckdb.connect(str(eight_weeks.warehouse), read_only=True) as conn:
        tables = {name for (name,) in conn.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert {"customers", "orders", "events"} <= tables
        assert conn.execute("SELECT count(*) FROM customers").fetchall()[0][0] == 500
    for _, _, action_type, text, *_ in executed:
        if action_type == "sql.drop":
            assert text.split()[-1] not in tables


def test_fewer_proposals_need_a_human_once_types_have_earned_levels(eight_weeks: Run) -> None:
    rows = eight_weeks.query(
        f"""SELECT {week_of('p.created_at')} AS week, count(*), count(*) FILTER (WHERE d.decision = 'require_approval')
            FROM proposals p JOIN (SELECT proposal_id, arg_min(decision, seq) AS decision FROM decisions GROUP BY 1) d ON d.proposal_id = p.id
            WHERE p.created_at < TIMESTAMP '{START}' + INTERVAL 8 WEEK GROUP BY 1 ORDER BY 1"""
    )
    counts = {week: (total, human) for week, total, human in rows}
    early = sum(counts[w][1] for w in (1, 2)) / sum(counts[w][0] for w in (1, 2))
    late = sum(counts[w][1] for w in range(5, 9)) / sum(counts[w][0] for w in range(5, 9))
    assert early > late + 0.3, (early, late)
    report = eight_weeks.report
    assert report["needs_human_weeks_1_2"] == pytest.approx(early) and report["needs_human_after_week_4"] == pytest.approx(late)
    assert [(w["proposals"], w["needs_human"]) for w in report["by_week"]] == [counts[w] for w in range(1, 9)]


def test_the_ledger_verifies_and_leaves_work_for_queue_and_serve(eight_weeks: Run) -> None:
    code, out = cli(eight_weeks, "audit", "verify")
    assert code == 0 and "audit chain ok" in out
    report = eight_weeks.report
    code, out = cli(eight_weeks, "queue", "--json")
    queued = {item["proposal_id"] for item in json.loads(out)["proposals"]}
    assert len(report["pending"]) == 4 and {item["proposal_id"] for item in report["pending"]} == queued
    assert {item["action_type"] for item in report["pending"]} >= {"sql.unscoped_delete", "sql.schema_change"}
    assert report["audit_ok"] and report["audit_entries"] > 1000
    assert report["weeks"] == 8 and [w["week"] for w in report["by_week"]] == list(range(1, 9))
    assert set(report["promoted"]) >= {"sql.write", "pipeline.retry_task"}
    assert [d["week"] for d in report["demotions"]] == [6]
    assert report["elapsed_s"] < 120
    for command in ("queue", "ladder", "report", "simulate --ladder", "serve", "dagster dev -m dagster_project"):
        assert any(command in line for line in report["next_commands"]), command
    assert "week 8/8" in eight_weeks.err  # progress, one line per week, on standard error


def test_the_silent_writes_sampled_for_review_are_reviewed_at_the_weekly_review(eight_weeks: Run) -> None:
    sampled = eight_weeks.query(
        """SELECT r.action_type, r.level, r.verdict, r.reviewed_by, r.reviewed_at >= r.sampled_at, d.decision
           FROM reviews r JOIN (SELECT proposal_id, arg_max(decision, seq) AS decision FROM executions GROUP BY 1) d USING (proposal_id)"""
    )
    assert sampled, "sql.write reaches level 3 in week 6, so some of its runs are sampled"
    reviewers = set(load_ladder(LADDER).approvers_of("data-platform"))
    for action_type, level, verdict, reviewed_by, in_order, decision in sampled:
        assert level >= 3 and decision == "allow" and action_type == "sql.write"
        assert verdict == "good" and reviewed_by in reviewers and in_order


def test_the_same_seed_plays_the_same_weeks(tmp_path: Path) -> None:
    def figures(run: Run) -> dict[str, Any]:
        assert run.code == 0, run.err
        found = {k: v for k, v in run.report.items() if k not in ("elapsed_s", "ledger", "warehouse", "next_commands")}
        # the proposals left waiting are made on the real clock, so they can still be approved
        found["pending"] = [(p["proposal_id"], p["action_type"]) for p in found["pending"]]
        return found

    first = figures(demo(tmp_path / "a", "--weeks", "2", "--seed", "3", "--start", START, "--json"))
    again = figures(demo(tmp_path / "b", "--weeks", "2", "--seed", "3", "--start", START, "--json"))
    other = figures(demo(tmp_path / "c", "--weeks", "2", "--seed", "4", "--start", START, "--json"))
    assert first == again
    assert first["by_week"] != other["by_week"]


def test_a_ledger_with_history_is_refused_and_left_intact(tmp_path: Path) -> None:
    first = demo(tmp_path, "--weeks", "1", "--start", START)
    assert first.code == 0, first.err
    before = first.query("SELECT id FROM proposals ORDER BY id")
    audit = first.supervisor().verify_audit()
    again = demo(tmp_path, "--weeks", "1", "--start", START, warehouse=tmp_path / "other.duckdb")
    assert again.code == 2 and again.out == ""
    (line,) = again.err.strip().splitlines()
    assert f"already holds {len(before)} proposals" in line and "--ledger PATH" in line and "--replace" in line
    assert first.query("SELECT id FROM proposals ORDER BY id") == before
    assert first.supervisor().verify_audit() == audit
    assert not (tmp_path / "other.duckdb").exists()


def test_replace_starts_the_ledger_and_the_warehouse_over(tmp_path: Path) -> None:
    first = demo(tmp_path, "--weeks", "1", "--start", START)
    assert first.code == 0, first.err
    with duckdb.connect(str(first.warehouse)) as conn:
        conn.execute("UPDATE customers SET region = 'moon'")
    second = demo(tmp_path, "--weeks", "1", "--seed", "11", "--start", "2026-10-05", "--replace", "--json")
    assert second.code == 0, second.err
    report = second.report
    made = sum(w["proposals"] for w in report["by_week"]) + len(report["pending"])
    assert second.query("SELECT count(*) FROM proposals")[0][0] == made
    assert second.query("SELECT min(created_at) FROM proposals")[0][0] >= datetime(2026, 10, 5)
    audit = second.supervisor().verify_audit()
    assert audit.ok and audit.entries == report["audit_entries"]
    with duckdb.connect(str(second.warehouse), read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM customers WHERE region = 'moon'").fetchall()[0][0] == 0


def test_the_text_report_shows_the_weeks_the_changes_and_the_check(tmp_path: Path) -> None:
    run = demo(tmp_path, "--weeks", "3", "--start", START)
    assert run.code == 0, run.err
    lines = run.out.splitlines()
    header = next(line for line in lines if line.startswith("week "))
    assert all(word in header for word in ("proposals", "needs human", "no human", "approved", "rejected", "expired/escalated", "failures", "incidents", "level changes"))
    assert [line.split()[0] for line in lines[lines.index(header) + 1 : lines.index(header) + 4]] == ["1", "2", "3"]
    assert "needed a human:" in run.out and "after week 4" in run.out and "n/a after week 4" in run.out
    assert "destructive proposals executed without approval: 0" in run.out
    assert "try next:" in run.out and "dagster dev -m dagster_project" in lines[-1]


def test_a_warehouse_the_demo_did_not_make_is_never_overwritten(tmp_path: Path) -> None:
    warehouse = tmp_path / "mine.duckdb"
    with duckdb.connect(str(warehouse)) as conn:
        conn.execute("CREATE TABLE precious AS SELECT 42 AS answer")
    sup = Supervisor(ladder=load_ladder(LADDER), ledger=tmp_path / "ledger.duckdb")
    kept = sup.propose(sql("UPDATE orders SET status = 'placed' WHERE id = 1"), now=datetime.now(UTC)).proposal_id
    refused = (
        demo(tmp_path, "--weeks", "1", "--start", START, ledger=tmp_path / "new.duckdb", warehouse=warehouse),
        demo(tmp_path, "--weeks", "1", "--start", START, "--replace", warehouse=warehouse),  # on tmp_path / "ledger.duckdb"
    )
    for run in refused:
        assert run.code == 2 and "was not made by trustladder demo" in run.err and "--warehouse PATH" in run.err
    with duckdb.connect(str(warehouse), read_only=True) as conn:
        assert conn.execute("SELECT answer FROM precious").fetchall() == [(42,)]
    assert [stored.proposal_id for stored, _ in sup.queue()] == [kept]  # --replace deleted nothing, as the demo could not run
    assert not (tmp_path / "new.duckdb").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (("--start", "2026-09-09"), "is a Wednesday; weeks run Monday to Sunday, so pass a Monday, e.g. 2026-09-07"),
        (("--start", "next week"), "is not a date"),
        (("--weeks", "0"), "--weeks must be between 1 and 52"),
    ],
)
def test_bad_options_are_one_line_errors_and_touch_nothing(tmp_path: Path, options: tuple[str, ...], message: str) -> None:
    run = demo(tmp_path, *options)
    assert run.code == 2 and message in run.err and len(run.err.strip().splitlines()) == 1
    assert not run.ledger.exists() and not run.warehouse.exists()


def test_the_demo_runs_without_dagster(tmp_path: Path) -> None:
    probe = (
        "import sys; from supervisor.cli import main; "
        f"code = main(['--ladder', {str(LADDER)!r}, '--ledger', {str(tmp_path / 'l.duckdb')!r}, 'demo', '--weeks', '1', "
        f"'--warehouse', {str(tmp_path / 'w.duckdb')!r}, '--start', {START!r}, '--json']); "
        "print(code, sorted(m for m in sys.modules if m.split('.')[0] in ('dagster', 'dagster_duckdb', 'fastapi')), file=sys.stderr)"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env, check=False)
    assert done.stderr.strip().splitlines()[-1] == "0 []", done.stderr


def test_dagster_runs_the_demos_proposals_on_the_demos_warehouse(tmp_path: Path) -> None:
    pytest.importorskip("dagster")
    from dagster import (
        SensorResult,
        build_sensor_context,
        instance_for_test,
        materialize,
    )
    from dagster_duckdb import DuckDBResource

    from dagster_project.warehouse import customer_orders, daily_revenue, raw_tables
    from integrations.dagster import (
        TrustLadderResource,
        build_execution_job,
        build_gate_sensor,
        default_handlers,
    )

    run = demo(tmp_path, "--weeks", "1", "--start", START, "--json")
    assert run.code == 0, run.err
    warehouse = DuckDBResource(database=str(run.warehouse))
    trustladder = TrustLadderResource(ladder_path=str(LADDER), ledger_path=str(run.ledger))
    with instance_for_test() as instance:
        assert materialize([raw_tables, daily_revenue, customer_orders], instance=instance, resources={"warehouse": warehouse}).success
        schema_change = next(p["proposal_id"] for p in run.report["pending"] if p["action_type"] == "sql.schema_change")
        run.supervisor().approve(schema_change, by="alice", now=datetime.now(UTC))
        gate = build_gate_sensor(job=build_execution_job(handlers=default_handlers(demo=True)))
        result = gate(build_sensor_context(instance=instance, resources={"trustladder": trustladder}))
        assert isinstance(result, SensorResult)
        assert [request.run_key for request in result.run_requests or []] == [schema_change]
        job = build_execution_job(handlers=default_handlers(demo=True))
        config = {"ops": {"execute_proposal": {"config": {"proposal_id": schema_change}}}}
        assert job.execute_in_process(run_config=config, instance=instance, resources={"trustladder": trustladder, "warehouse": warehouse}).success
    assert run.query("SELECT count(*) FROM executions WHERE proposal_id = ?", [schema_change]) == [(1,)]
    [(sql,)] = run.query("SELECT json_extract_string(proposal, '$.sql') FROM proposals WHERE id = ?", [schema_change])
    column = sql.split("IF NOT EXISTS ")[1].split()[0]
    with duckdb.connect(str(run.warehouse), read_only=True) as conn:
        assert column in {name for (name,) in conn.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'orders'").fetchall()}
