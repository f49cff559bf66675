"""Warehouse tables for the ML tests, written through the local cloud's Redshift Data API: the schema, and a
hand-made handful of orders (feature SQL tests). The end-to-end history comes from the seed generator
(mwaa_local.seed.warehouse)."""

from __future__ import annotations

from mwaa_local import paths
from mwaa_local.redshift_query import query

WORKGROUP, DATABASE = "local-wg", "dev"


def sql(redshift, statement: str, database: str = DATABASE) -> list[dict]:
    return query(redshift, statement, WORKGROUP, database, timeout=300)


def reset_schema(redshift, database: str = DATABASE) -> None:
    for schema in ("analytics", "staging", "ml"):
        sql(redshift, f"DROP SCHEMA IF EXISTS {schema} CASCADE", database)
    text = "\n".join(line for line in paths.INCLUDE.joinpath("sql", "schema.sql").read_text().splitlines()
                     if not line.strip().startswith("--"))
    for statement in (s.strip() for s in text.split(";")):
        if statement:
            sql(redshift, statement, database)


def insert_orders(redshift, orders: list[tuple], items: list[tuple]) -> None:
    """orders: (order_id, customer_id, status, total_amount, created_at); items: (item_id, order_id, product_id,
    quantity, amount, created_at)."""
    if orders:
        sql(redshift, "INSERT INTO analytics.fact_orders VALUES " + ", ".join(
            f"({o}, {c}, '{s}', 'EUR', {a}, TIMESTAMP '{t}', TIMESTAMP '{t}')" for o, c, s, a, t in orders))
    if items:
        sql(redshift, "INSERT INTO analytics.fact_order_items VALUES " + ", ".join(
            f"({i}, {o}, {p}, {q}, {a / q:.2f}, {a}, TIMESTAMP '{t}', TIMESTAMP '{t}')"
            for i, o, p, q, a, t in items))
