"""The demo warehouse's assets: the seed and views live in ``integrations.warehouse.demo``, shared with ``trustladder demo``."""

# No `from __future__ import annotations` here: Dagster reads the annotations of op, asset and
# sensor functions at definition time to find their context and resources.

from dagster import MaterializeResult, asset
from dagster_duckdb import DuckDBResource

from integrations.dagster import WAREHOUSE_WRITE_TAG
from integrations.warehouse.demo import CUSTOMER_ORDERS_VIEW, DAILY_REVENUE_VIEW
from integrations.warehouse.demo import seed as seed


@asset(group_name="warehouse", op_tags=WAREHOUSE_WRITE_TAG, description="Seeds the demo warehouse's customers, orders and events once.")
def raw_tables(warehouse: DuckDBResource) -> MaterializeResult:
    with warehouse.get_connection() as conn:
        counts = seed(conn)
    return MaterializeResult(metadata={f"{table}_rows": count for table, count in counts.items()})


@asset(group_name="warehouse", deps=[raw_tables], op_tags=WAREHOUSE_WRITE_TAG, description="Revenue per day from delivered and shipped orders.")
def daily_revenue(warehouse: DuckDBResource) -> MaterializeResult:
    with warehouse.get_connection() as conn:
        conn.execute(DAILY_REVENUE_VIEW)
        days = conn.execute("SELECT count(*) FROM daily_revenue").fetchall()[0][0]
    return MaterializeResult(metadata={"days": days})


@asset(group_name="warehouse", deps=[raw_tables], op_tags=WAREHOUSE_WRITE_TAG, description="Orders and spend per customer.")
def customer_orders(warehouse: DuckDBResource) -> MaterializeResult:
    with warehouse.get_connection() as conn:
        conn.execute(CUSTOMER_ORDERS_VIEW)
        customers = conn.execute("SELECT count(*) FROM customer_orders").fetchall()[0][0]
    return MaterializeResult(metadata={"customers": customers})
