"""Measure a proposal's blast radius on the warehouse it targets, without changing it.

``duckdb_measurer`` gives ``Supervisor.packet(measure=...)`` the rows a proposal changes, the
tables' sizes, the views and Dagster assets that read them, a backfill's partitions and cost,
and the rollback options DuckDB really offers. ``trustladder show ID --warehouse FILE`` uses it.
"""

from __future__ import annotations

from integrations.warehouse.assets import downstream_assets as downstream_assets
from integrations.warehouse.assets import load_definitions as load_definitions
from integrations.warehouse.measure import duckdb_measurer as duckdb_measurer
from integrations.warehouse.measure import measure_proposal as measure_proposal
from integrations.warehouse.statements import plan_changes as plan_changes

__all__ = ["downstream_assets", "duckdb_measurer", "load_definitions", "measure_proposal", "plan_changes"]
