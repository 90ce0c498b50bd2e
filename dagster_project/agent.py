"""Jobs that play the agent's part in the demo: one proposes fixes, one gates its own SQL inline."""

# No `from __future__ import annotations` here: Dagster reads the annotations of op, asset and
# sensor functions at definition time to find their context and resources.

from dagster import OpExecutionContext, job, op
from dagster_duckdb import DuckDBResource

from integrations.dagster import WAREHOUSE_WRITE_TAG, TrustLadderResource, run_sql
from integrations.dagster.resource import utcnow
from supervisor.models import Proposal

AGENT = "demo-agent"

# What an incident-diagnosing agent might propose against the demo warehouse.
FIXES = (
    {"sql": "SELECT status, count(*) AS orders FROM orders GROUP BY status", "reason": "size the stuck-order backlog"},
    {
        "sql": "UPDATE orders SET status = 'placed' WHERE status = 'stuck' AND ordered_at < TIMESTAMP '2026-11-01'",
        "reason": "orders stuck since the carrier outage go back to the fulfilment queue",
        "target": "orders",
        "rollback": "UPDATE orders SET status = 'stuck' for the ids listed in the run's metadata",
    },
    {"sql": "DELETE FROM events WHERE event_type = 'bot'", "reason": "bot traffic inflates the checkout funnel", "target": "events"},
    {"action": "rotate_credential", "params": {"credential": "warehouse_loader", "system": "duckdb"}, "reason": "the loader's key appeared in a log"},
)


@op(description="Propose the agent's fixes to the trust ladder; the gate sensor launches what it clears.")
def propose_fixes(context: OpExecutionContext, trustladder: TrustLadderResource) -> None:
    sup = trustladder.supervisor()
    for fix in FIXES:
        recorded = sup.propose(Proposal(agent=AGENT, confidence=0.92, team="data-platform", dialect="duckdb" if "sql" in fix else None, **fix), now=utcnow())
        decision = recorded.decision
        context.log.info(f"proposal {recorded.proposal_id}: {decision.action_type} -> {decision.decision.value} ({', '.join(r.code for r in decision.reasons)})")


@job(name="agent_proposes_fixes", description="An agent proposes fixes for the demo warehouse.")
def agent_proposes_fixes() -> None:
    propose_fixes()


@op(description="Count the events the cleanup would touch.")
def count_old_events(warehouse: DuckDBResource) -> int:
    with warehouse.get_connection() as conn:
        return int(conn.execute("SELECT count(*) FROM events WHERE ts < TIMESTAMP '2026-07-01'").fetchall()[0][0])


@op(description="Purge events older than July, behind the trust ladder's inline gate.")
def purge_old_events(context: OpExecutionContext, old_events: int, trustladder: TrustLadderResource, warehouse: DuckDBResource) -> int:
    sql = "DELETE FROM events WHERE ts < TIMESTAMP '2026-07-01'"
    trustladder.gate(context, sql=sql, dialect="duckdb", agent=AGENT, confidence=0.9, team="data-platform", target="events", reason=f"retention: {old_events} events are past 90 days")
    with warehouse.get_connection() as conn:
        deleted = run_sql(conn, sql, dialect="duckdb")[0] or 0
    context.log.info(f"purged {deleted} events")
    return deleted


@job(name="nightly_cleanup", tags=WAREHOUSE_WRITE_TAG, description="A job the team already had, with its delete gated inline.")
def nightly_cleanup() -> None:
    purge_old_events(count_old_events())
