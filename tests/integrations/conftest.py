"""A real Dagster instance, a ledger and a DuckDB warehouse in tmp_path, and the demo's jobs; a real web server."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from dagster import DagsterInstance, JobDefinition, SensorDefinition, instance_for_test
from dagster_duckdb import DuckDBResource

from dagster_project.warehouse import seed
from integrations.dagster import (
    TrustLadderResource,
    build_execution_job,
    build_gate_sensor,
    build_outcome_sensors,
    default_handlers,
)
from supervisor.service import Supervisor

# ladder_file and make_supervisor are the supervisor tests' fixtures, shared here.
from tests.supervisor.conftest import LADDER, ladder_file, make_supervisor, merged  # noqa: F401

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, driven by Playwright."""
    sync_api = pytest.importorskip("playwright.sync_api")
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed; .ci/run installs it with apt-get install -y chromium")
    with sync_api.sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        yield launched
        launched.close()


@dataclass
class Deployment:
    """What a test drives: the instance, the resources, the execution job and the sensors."""

    instance: DagsterInstance
    trustladder: TrustLadderResource
    warehouse: DuckDBResource
    job: JobDefinition
    gate: SensorDefinition
    outcomes: list[SensorDefinition]

    @property
    def resources(self) -> dict[str, Any]:
        return {"trustladder": self.trustladder, "warehouse": self.warehouse}

    def supervisor(self) -> Supervisor:
        return self.trustladder.supervisor()

    def query(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(self.warehouse.database, read_only=True) as conn:
            return conn.execute(sql).fetchall()


@pytest.fixture
def deploy(tmp_path: Path) -> Iterator[Callable[..., Deployment]]:
    """Build a deployment with ladder overrides, on a seeded warehouse and a fresh instance."""
    with instance_for_test() as instance:

        def make(max_per_tick: int = 50, **overrides: Any) -> Deployment:
            ladder = tmp_path / "trust_ladder.yaml"
            ladder.write_text(yaml.safe_dump(merged(yaml.safe_load(LADDER.read_text()), overrides), sort_keys=False))
            warehouse = tmp_path / "warehouse.duckdb"
            with duckdb.connect(str(warehouse)) as conn:
                seed(conn)
            job = build_execution_job(handlers=default_handlers(demo=True))
            return Deployment(
                instance=instance,
                trustladder=TrustLadderResource(ladder_path=str(ladder), ledger_path=str(tmp_path / "ledger.duckdb")),
                warehouse=DuckDBResource(database=str(warehouse)),
                job=job,
                gate=build_gate_sensor(job=job, max_per_tick=max_per_tick),
                outcomes=build_outcome_sensors(),
            )

        yield make


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Any]:
    """The web inbox and API on a free 127.0.0.1 port over a fresh ledger (see ``web_support``)."""
    from tests.integrations.web_support import web_server

    with web_server(tmp_path) as running:
        yield running
