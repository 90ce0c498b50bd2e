"""The execution job: one op that re-checks the ledger, then runs one proposal and nothing else.

The check lives here, in the op, not in the sensor that launched it: whoever starts this job
(the gate sensor, the UI's launchpad, ``dagster job launch``), the op asks the ledger whether
this exact proposal may run now, and a refusal fails the step, is audited as a policy violation
and drops the action type a level when the ladder says so.
"""

# No `from __future__ import annotations` here: Dagster reads the annotations of op, asset and
# sensor functions at definition time to find their context and resources.

from collections.abc import Mapping
from typing import Any

import duckdb
import sqlglot
from dagster import (
    Config,
    Failure,
    JobDefinition,
    MetadataValue,
    OpExecutionContext,
    job,
    op,
)
from dagster_duckdb import DuckDBResource
from pydantic import Field

from integrations.dagster.handlers import (
    ActionHandlers,
    ActionRequest,
    default_handlers,
)
from integrations.dagster.resource import TrustLadderResource, stored_or_fail, utcnow
from supervisor.errors import SupervisorError
from supervisor.policy import proposal_hash

# Runs carrying this tag write the warehouse; the demo instance lets one of them run at a time,
# because DuckDB allows one writing process per file.
WAREHOUSE_WRITE_TAG = {"trustladder/warehouse": "write"}


class ExecuteProposalConfig(Config):
    """Which proposal this run executes."""

    proposal_id: str = Field(description="The ledger's id of the proposal to execute.")


def build_execution_job(*, name: str = "trustladder_execute", handlers: ActionHandlers | None = None, tags: Mapping[str, str] | None = None) -> JobDefinition:
    """A job that executes one proposal, named by run config, after the ledger clears it.

    Args:
        name: the job's name; the gate sensor launches it.
        handlers: how pipeline actions are carried out (default: ``retry_task`` only).
        tags: run tags (default: the warehouse-writer tag the demo instance limits to one run).

    Returns:
        The job. It needs resources ``trustladder`` (``TrustLadderResource``) and ``warehouse``
        (``DuckDBResource``).
    """
    registry = handlers or default_handlers()

    @op(name="execute_proposal", description="Re-check the ledger, then run the proposal's SQL in one transaction or its pipeline action.")
    def execute_proposal(context: OpExecutionContext, config: ExecuteProposalConfig, trustladder: TrustLadderResource, warehouse: DuckDBResource) -> None:
        sup = trustladder.supervisor()
        stored = stored_or_fail(sup, config.proposal_id)
        clearance = sup.authorize(
            config.proposal_id,
            now=utcnow(),
            actor=f"dagster run {context.run_id}",
            proposal_hash=proposal_hash(stored.proposal),
            run_id=context.run_id,
            strict=True,
        )
        if not clearance.may_run:
            refusal = clearance.reasons[0]
            raise Failure(
                description=f"trustladder refused proposal {config.proposal_id} ({refusal.code}): {refusal.message}; recorded as a policy violation",
                metadata={"proposal_id": config.proposal_id, "refusal": refusal.code},
                allow_retries=False,
            )
        proposal = stored.proposal
        if proposal.sql is not None:
            with warehouse.get_connection() as conn:
                counts = run_sql(conn, proposal.sql, dialect=proposal.dialect)
            effect: dict[str, Any] = {"statements": len(counts), "rows_affected": sum(c for c in counts if c is not None)}
        else:
            request = ActionRequest(proposal_id=config.proposal_id, action=str(proposal.action), params=proposal.params, target=proposal.target, warehouse=warehouse)
            try:
                effect = dict(registry.run(context, request))
            except SupervisorError as error:
                raise Failure(description=f"trustladder could not carry out proposal {config.proposal_id}: {error}", allow_retries=False) from None
        sup.record_effect(config.proposal_id, run_id=context.run_id, effect=effect, now=utcnow())
        context.add_output_metadata({key: MetadataValue.text(str(value)) for key, value in effect.items()} | {"proposal_id": config.proposal_id})

    @job(name=name, tags=dict(tags if tags is not None else WAREHOUSE_WRITE_TAG), description="Executes one trustladder proposal once the ledger clears it.")
    def execution_job() -> None:
        execute_proposal()

    return execution_job


def run_sql(conn: duckdb.DuckDBPyConnection, sql: str, *, dialect: str | None) -> list[int | None]:
    """Run a proposal's statements on DuckDB in one transaction; rows affected per statement.

    SQL written for another dialect is transpiled to DuckDB's by sqlglot first. Any error rolls
    the whole proposal back.
    """
    statements = _duckdb_statements(sql, dialect)
    conn.execute("BEGIN TRANSACTION")
    try:
        counts = [_rows_affected(conn.execute(statement)) for statement in statements]
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return counts


def _duckdb_statements(sql: str, dialect: str | None) -> list[str]:
    if dialect in (None, "duckdb"):
        return [statement.query for statement in duckdb.extract_statements(sql)]
    return [statement for statement in sqlglot.transpile(sql, read=dialect, write="duckdb") if statement.strip()]


def _rows_affected(cursor: duckdb.DuckDBPyConnection) -> int | None:
    description = cursor.description or []
    if len(description) == 1 and description[0][0] == "Count":
        found = cursor.fetchall()
        return int(found[0][0]) if found else None
    return None
