"""trustladder for Dagster: the resource, the gate sensor, the execution job and the outcome sensors.

A thin adapter over ``supervisor.Supervisor``: it turns Dagster runs into proposals, clearances
and outcomes and back. The core never imports dagster.
"""

from __future__ import annotations

from integrations.dagster.execution import WAREHOUSE_WRITE_TAG as WAREHOUSE_WRITE_TAG
from integrations.dagster.execution import (
    ExecuteProposalConfig as ExecuteProposalConfig,
)
from integrations.dagster.execution import build_execution_job as build_execution_job
from integrations.dagster.execution import run_sql as run_sql
from integrations.dagster.handlers import ActionHandlers as ActionHandlers
from integrations.dagster.handlers import ActionRequest as ActionRequest
from integrations.dagster.handlers import default_handlers as default_handlers
from integrations.dagster.reexecute import (
    reexecute_from_failure as reexecute_from_failure,
)
from integrations.dagster.resource import TrustLadderResource as TrustLadderResource
from integrations.dagster.sensors import build_gate_sensor as build_gate_sensor
from integrations.dagster.sensors import build_outcome_sensors as build_outcome_sensors

__all__ = [
    "WAREHOUSE_WRITE_TAG",
    "ActionHandlers",
    "ActionRequest",
    "ExecuteProposalConfig",
    "TrustLadderResource",
    "build_execution_job",
    "build_gate_sensor",
    "build_outcome_sensors",
    "default_handlers",
    "reexecute_from_failure",
    "run_sql",
]
