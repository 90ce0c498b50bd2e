"""The demo warehouse: customers, orders and events in a DuckDB file, generated in SQL.

Dagster's demo assets (``dagster_project.warehouse``) and ``trustladder demo`` build the same
warehouse from here, so one file serves both. This module imports DuckDB only: the demo runs
on a plain ``pip install -e .``, without the dagster extra.
"""

from __future__ import annotations

import duckdb

DEMO_TABLES = ("customers", "orders", "events")

# Seed rows are generated in SQL so the demo needs no data files; the same seed gives the same rows.
SEED = (
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

# The views Dagster's daily_revenue and customer_orders assets maintain over the tables.
DAILY_REVENUE_VIEW = """CREATE OR REPLACE VIEW daily_revenue AS
    SELECT ordered_at::DATE AS day, sum(amount) AS revenue, count(*) AS orders
    FROM orders WHERE status IN ('shipped', 'delivered') GROUP BY 1"""
CUSTOMER_ORDERS_VIEW = """CREATE OR REPLACE VIEW customer_orders AS
    SELECT c.id, c.name, c.region, count(o.id) AS orders, coalesce(sum(o.amount), 0) AS spend
    FROM customers c LEFT JOIN orders o ON o.customer_id = c.id GROUP BY ALL"""

# What pipeline actions did, as Dagster's demo action handlers record it
# (integrations.dagster.handlers.record_in_ops_log).
OPS_LOG = """CREATE TABLE IF NOT EXISTS ops_log (
    proposal_id VARCHAR, action VARCHAR, target VARCHAR, params JSON, run_id VARCHAR, logged_at TIMESTAMP DEFAULT now())"""


def seed(conn: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Create and fill the demo tables where they do not exist yet.

    Args:
        conn: a connection to the warehouse.

    Returns:
        Rows per table.
    """
    for statement in SEED:
        conn.execute(statement)
    return {table: int(conn.execute(f"SELECT count(*) FROM {table}").fetchall()[0][0]) for table in DEMO_TABLES}


def create_views(conn: duckdb.DuckDBPyConnection) -> None:
    """Create (or replace) the views the demo assets maintain, and the ``ops_log`` table.

    Args:
        conn: a connection to a seeded warehouse.
    """
    conn.execute(DAILY_REVENUE_VIEW)
    conn.execute(CUSTOMER_ORDERS_VIEW)
    conn.execute(OPS_LOG)
