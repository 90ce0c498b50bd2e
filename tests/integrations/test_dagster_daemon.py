"""End to end with the real daemon: propose from the CLI, approve, watch the run launch and the outcome land."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pytest
from dagster import DagsterInstance, DagsterRun, DagsterRunStatus, RunsFilter

from dagster_project.warehouse import seed

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
T = TypeVar("T")


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[dict[str, str]]:
    """A Dagster home with the demo's instance settings and a running ``dagster-daemon``; its environment."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "dagster_project" / "dagster.yaml", home / "dagster.yaml")
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "TRUSTLADDER_LADDER": str(ROOT / "trust_ladder.yaml"),
        "TRUSTLADDER_LEDGER": str(tmp_path / "ledger.duckdb"),
        "TRUSTLADDER_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
    }
    with duckdb.connect(env["TRUSTLADDER_WAREHOUSE"]) as conn:
        seed(conn)
    # Create the instance's storage before anything else opens it: the daemon and `dagster job
    # launch` both create the SQLite schedule storage on first use, and racing to do so fails.
    with DagsterInstance.from_config(str(home)):
        pass
    log = (tmp_path / "daemon.log").open("w")
    process = subprocess.Popen(
        [str(BIN / "dagster-daemon"), "run", "-m", "dagster_project"], cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        yield env
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def cli(env: dict[str, str], *args: str) -> tuple[int, Any]:
    done = subprocess.run([str(BIN / "trustladder"), *args, "--json"], check=False, env=env, capture_output=True, text=True, timeout=60)
    return done.returncode, json.loads(done.stdout) if done.stdout.strip() else done.stderr


def wait_for(what: str, probe: Callable[[], T | None], timeout: float = 180) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(1)
    raise AssertionError(f"timed out waiting for {what}")


def runs(env: dict[str, str], **tags: str) -> list[DagsterRun]:
    with DagsterInstance.from_config(env["DAGSTER_HOME"]) as instance:
        return list(instance.get_runs(filters=RunsFilter(tags=tags)))


def finished(env: dict[str, str], **tags: str) -> DagsterRun | None:
    found = [run for run in runs(env, **tags) if run.is_finished]
    return found[0] if found else None


def launch(env: dict[str, str], job: str, config: dict[str, Any] | None = None) -> None:
    """``dagster job launch``: submits the run to the instance's queue, as a user would."""
    extra = ["--config-json", json.dumps(config)] if config else []
    done = subprocess.run([str(BIN / "dagster"), "job", "launch", "-m", "dagster_project", "-j", job, *extra], env=env, check=False, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]


def audit_events(env: dict[str, str], subject: str) -> list[str]:
    export = subprocess.run([str(BIN / "trustladder"), "audit", "export"], env=env, capture_output=True, text=True, check=True, timeout=60)
    return [entry["event"] for entry in map(json.loads, export.stdout.splitlines()) if entry["subject"] == subject]


def scalar(env: dict[str, str], sql: str) -> Any:
    with duckdb.connect(env["TRUSTLADDER_WAREHOUSE"], read_only=True) as conn:
        return conn.execute(sql).fetchall()[0][0]


def test_proposals_wait_for_a_human_then_launch_resume_and_report_back(daemon: dict[str, str]) -> None:
    env = daemon
    code, proposed = cli(env, "propose", "--sql", "UPDATE orders SET status = 'placed' WHERE status = 'stuck'", "--dialect", "duckdb", "--agent", "fixer", "--confidence", "0.9", "--team", "data-platform")
    assert code == 3, proposed
    pid = proposed["proposal_id"]
    stuck = scalar(env, "SELECT count(*) FROM orders WHERE status = 'stuck'")
    assert stuck > 0

    # Launched by hand while unapproved, the execution job refuses, and the refusal is audited.
    launch(env, "trustladder_execute", {"ops": {"execute_proposal": {"config": {"proposal_id": pid}}}})
    launch(env, "nightly_cleanup")
    refused = wait_for("the direct launch to finish", lambda: next((r for r in runs(env) if r.job_name == "trustladder_execute" and r.is_finished), None))
    assert refused.status is DagsterRunStatus.FAILURE
    assert "policy.violation" in audit_events(env, pid)
    assert scalar(env, "SELECT count(*) FROM orders WHERE status = 'stuck'") == stuck

    # Approved, the gate sensor launches it once; the outcome sensors record it in the ladder.
    code, approved = cli(env, "approve", pid, "--by", "alice")
    assert code == 0 and approved["state"] == "approved"
    run = wait_for("the gate sensor's run to finish", lambda: finished(env, **{"trustladder/proposal": pid}))
    assert run.status is DagsterRunStatus.SUCCESS and run.tags["dagster/run_key"] == pid
    assert scalar(env, "SELECT count(*) FROM orders WHERE status = 'stuck'") == 0

    def sql_write() -> dict[str, Any] | None:
        found = next(t for t in cli(env, "ladder")[1]["action_types"] if t["action_type"] == "sql.write")
        return found if found["successes"] else None

    assert wait_for("the outcome in the ladder", sql_write, timeout=120)["successes"] == 1

    # The inline gate paused nightly_cleanup; approved, the run is re-executed from that step.
    paused = wait_for("nightly_cleanup to pause", lambda: next((r for r in runs(env) if r.job_name == "nightly_cleanup" and r.is_finished), None))
    assert paused.status is DagsterRunStatus.FAILURE
    inline = paused.tags["trustladder/awaiting"]
    old = scalar(env, "SELECT count(*) FROM events WHERE ts < TIMESTAMP '2026-07-01'")
    assert old > 0
    assert cli(env, "approve", inline, "--by", "bob")[0] == 0
    resumed = wait_for("the re-execution to finish", lambda: finished(env, **{"trustladder/proposal": inline}))
    assert resumed.status is DagsterRunStatus.SUCCESS
    assert resumed.parent_run_id == paused.run_id and resumed.step_keys_to_execute == ["purge_old_events"]
    assert scalar(env, "SELECT count(*) FROM events WHERE ts < TIMESTAMP '2026-07-01'") == 0
    wait_for("the inline outcome", lambda: "outcome.recorded" in audit_events(env, inline), timeout=120)
