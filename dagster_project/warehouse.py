"""The demo warehouse: seeded orders, customers and events in a DuckDB file, and assets over them."""

# No `from __future__ import annotations` here: Dagster reads the annotations of op, asset and
# sensor functions at definition time to find their context and resources.

import duckdb
from dagster import MaterializeResult, asset
from dagster_duckdb import DuckDBResource

from integrations.dagster import WAREHOUSE_WRITE_TAG

# Seed rows are generated in SQL so the demo needs no data files; the same seed gives the same rows.
_SEED = (
    """CREATE TABLE IF NOT EXISTS customers AS
       SELECT i AS id, 'customer ' || i AS name, ['eu', 'us', 'apac'][1 + i % 3] AS region, DATE '2026-01-01' + (i % 300)::INTEGER AS signed_up
       FROM range(1, 501) t(i)""",
    """CREATE TABLE IF NOT EXISTS orders AS
       SELECT i AS id, 1 + (i * 7) % 500 AS customer_id, round(5 + (i * 37) % 400 + (i % 100) / 100, 2) AS amount,
              ['placed', 'shipped', 'delivered', 'stuck'][1 + (i % 17 = 0)::INTEGER * 3 + (i % 17 <> 0)::INTEGER * (i % 3)] AS status,
              TIMESTAMP '2026-10-01' + to_hours(i % 1200) AS ordered_at
       FROM range(1, 5001) t(i)""",
    """CREATE TABLE IF NOT EXISTS events AS
       SELECT i AS id, 1 + i % 500 AS customer_id, ['page_view', 'add_to_cart', 'checkout', 'bot'][1 + i % 4] AS event_type,
              TIMESTAMP '2026-06-01' + to_hours(i % 4000) AS ts
       FROM range(1, 20001) t(i)""",
)


def seed(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Create and fill the demo tables where they do not exist yet; rows per table."""
    for statement in _SEED:
        conn.execute(statement)
    return {table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]) for table in ("customers", "orders", "events")}


@asset(group_name="warehouse", op_tags=WAREHOUSE_WRITE_TAG, description="Seeds the demo warehouse's customers, orders and events once.")
def raw_tables(warehouse: DuckDBResource) -> MaterializeResult:
    with warehouse.get_connection() as conn:
        counts = seed(conn)
    return MaterializeResult(metadata={f"{table}_rows": count for table, count in counts.items()})


@asset(group_name="warehouse", deps=[raw_tables], op_tags=WAREHOUSE_WRITE_TAG, description="Revenue per day from delivered and shipped orders.")
def daily_revenue(warehouse: DuckDBResource) -> MaterializeResult:
    with warehouse.get_connection() as conn:
        conn.execute(
            """CREATE OR REPLACE VIEW daily_revenue AS
               SELECT ordered_at::DATE AS day, sum(amount) AS revenue, count(*) AS orders
               FROM orders WHERE status IN ('shipped', 'delivered') GROUP BY 1"""
        )
        days = conn.execute("SELECT count(*) FROM daily_revenue").fetchall()[0][0]
    return MaterializeResult(metadata={"days": days})


@asset(group_name="warehouse", deps=[raw_tables], op_tags=WAREHOUSE_WRITE_TAG, description="Orders and spend per customer.")
def customer_orders(warehouse: DuckDBResource) -> MaterializeResult:
    with warehouse.get_connection() as conn:
        conn.execute(
            """CREATE OR REPLACE VIEW customer_orders AS
               SELECT c.id, c.name, c.region, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS spend
               FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY ALL"""
        )
        customers = conn.execute("SELECT count(*) FROM customer_orders").fetchall()[0][0]
    return MaterializeResult(metadata={"customers": customers})
