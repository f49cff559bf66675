"""Warehouse tables for the ML tests, written through the local cloud's Redshift Data API: a hand-made handful of
orders (feature SQL tests) or a synthetic history with a real signal (end to end)."""

from __future__ import annotations

import datetime as dt
import io
import uuid

import numpy as np

from mwaa_local import paths
from mwaa_local.redshift_query import query

WORKGROUP, DATABASE = "local-wg", "dev"


def sql(redshift, statement: str) -> list[dict]:
    return query(redshift, statement, WORKGROUP, DATABASE, timeout=300)


def reset_schema(redshift) -> None:
    for schema in ("analytics", "staging", "ml"):
        sql(redshift, f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    text = "\n".join(line for line in paths.INCLUDE.joinpath("sql", "schema.sql").read_text().splitlines()
                     if not line.strip().startswith("--"))
    for statement in (s.strip() for s in text.split(";")):
        if statement:
            sql(redshift, statement)


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


def synthetic_history(customers: int, days: int, start: dt.date, seed: int) -> tuple[list, list]:
    """Orders whose rate differs per customer (a Poisson process per customer) and drifts: a customer who bought
    often and recently is likelier to buy again; that is the signal the model must find."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(shape=0.6, scale=1 / 12, size=customers)  # orders per day; mean one per ~20 days
    active_until = rng.uniform(days * 0.4, days * 1.6, size=customers)  # churn: some stop buying
    orders, items, order_id, item_id = [], [], 1, 1
    base = dt.datetime.combine(start, dt.time())
    for customer in range(customers):
        n = rng.poisson(rate[customer] * min(days, active_until[customer]))
        for moment in np.sort(rng.uniform(0, min(days, active_until[customer]), size=n)):
            created = base + dt.timedelta(seconds=int(moment * 86400))
            lines = int(rng.integers(1, 5))
            amounts = np.round(rng.gamma(2.0, 15.0, size=lines) + 1, 2)
            status = "cancelled" if rng.random() < 0.04 else "delivered"
            orders.append((order_id, customer + 1, status, float(amounts.sum().round(2)), created))
            for amount in amounts:
                items.append((item_id, order_id, int(rng.integers(1, 200)), int(rng.integers(1, 4)), float(amount),
                              created))
                item_id += 1
            order_id += 1
    return orders, items


def load_history(redshift, s3, bucket: str, orders: list, items: list, iam_role: str) -> None:
    """COPY the synthetic history into the warehouse facts from CSV in the local S3 (as the ETL's load does)."""
    prefix = f"ml-test/{uuid.uuid4().hex[:8]}"
    order_csv = io.StringIO()
    for o, c, s, a, t in orders:
        order_csv.write(f"{o},{c},{s},EUR,{a:.2f},{t:%Y-%m-%d %H:%M:%S},{t:%Y-%m-%d %H:%M:%S}\n")
    item_csv = io.StringIO()
    for i, o, p, q, a, t in items:
        item_csv.write(f"{i},{o},{p},{q},{a / q:.2f},{a:.2f},{t:%Y-%m-%d %H:%M:%S},{t:%Y-%m-%d %H:%M:%S}\n")
    for table, body in (("fact_orders", order_csv), ("fact_order_items", item_csv)):
        s3.put_object(Bucket=bucket, Key=f"{prefix}/{table}.csv", Body=body.getvalue().encode())
        sql(redshift, f"COPY analytics.{table} FROM 's3://{bucket}/{prefix}/{table}.csv' IAM_ROLE '{iam_role}' CSV")
