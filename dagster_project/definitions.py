"""The demo code location: wiring only. Start it with ``dagster dev -m dagster_project``.

Paths come from the same environment variables as the CLI (``TRUSTLADDER_LADDER``,
``TRUSTLADDER_LEDGER``) plus ``TRUSTLADDER_WAREHOUSE`` for the demo warehouse, relative to the
directory Dagster starts in. After ``trustladder demo``, set
``TRUSTLADDER_WAREHOUSE=.trustladder/demo_warehouse.duckdb`` to run on the demo's warehouse and
ledger (the ledger's default is already the demo's).
"""

from __future__ import annotations

import os

from dagster import DefaultSensorStatus, Definitions
from dagster_duckdb import DuckDBResource

from dagster_project.agent import agent_proposes_fixes, nightly_cleanup
from dagster_project.warehouse import customer_orders, daily_revenue, raw_tables
from integrations.dagster import (
    TrustLadderResource,
    build_execution_job,
    build_gate_sensor,
    build_outcome_sensors,
    default_handlers,
)

execute_proposal = build_execution_job(name="trustladder_execute", handlers=default_handlers(demo=True))

defs = Definitions(
    assets=[raw_tables, daily_revenue, customer_orders],
    jobs=[execute_proposal, agent_proposes_fixes, nightly_cleanup],
    sensors=[
        build_gate_sensor(job=execute_proposal, minimum_interval_seconds=10, default_status=DefaultSensorStatus.RUNNING),
        *build_outcome_sensors(minimum_interval_seconds=10, default_status=DefaultSensorStatus.RUNNING),
    ],
    resources={
        "trustladder": TrustLadderResource(
            ladder_path=os.environ.get("TRUSTLADDER_LADDER", "trust_ladder.yaml"),
            ledger_path=os.environ.get("TRUSTLADDER_LEDGER", ".trustladder/ledger.duckdb"),
        ),
        "warehouse": DuckDBResource(database=os.environ.get("TRUSTLADDER_WAREHOUSE", ".trustladder/warehouse.duckdb")),
    },
)
