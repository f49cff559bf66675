"""Streams the generated data into PostgreSQL with COPY, all in one transaction (a failed seed leaves the
previous source untouched), then injects the requested dirt and returns the manifest of what it wrote."""

from __future__ import annotations

import io
import time
from collections.abc import Iterable

from mwaa_local.seed import dirt as dirt_mod
from mwaa_local.seed import drift as drift_mod
from mwaa_local.seed import generate, schema
from mwaa_local.seed.generate import Plan


def _copy(cur, table: str, chunk) -> int:
    import pyarrow.csv as pacsv

    buf = io.BytesIO()
    pacsv.write_csv(chunk.select(schema.columns(table)), buf, pacsv.WriteOptions(include_header=False))
    buf.seek(0)
    cols = ", ".join(schema.columns(table))
    cur.copy_expert(f"COPY {schema.SCHEMA}.{table} ({cols}) FROM STDIN WITH (FORMAT csv)", buf)
    return chunk.num_rows


def seed(dsn: str, plan: Plan, dirt: Iterable[str] = (), dirt_day: int | None = None, dirt_rows: int = 5,
         progress=None, drift=None, drift_day: int = 0) -> dict:
    """Replaces schema `retail` at `dsn` with the plan's data (+ dirt on `dirt_day`, default the last day; orders
    from `drift_day` on shifted by `drift`, a seed.drift.Shift).

    Returns the manifest: plan, rows per table and interval, and every dirt injection with its keys.
    """
    import psycopg2

    dirt = dirt_mod.parse_kinds(dirt)
    dirt_day = plan.days - 1 if dirt_day is None else dirt_day
    if dirt:
        dirt_mod.check_day(plan, dirt, dirt_day)
    started = time.monotonic()
    counts = {table: {} for table in schema.TABLES}

    def add(table: str, day: int, n: int) -> None:
        key = plan.interval(day).isoformat()
        counts[table][key] = counts[table].get(key, 0) + n
        if progress:
            progress(table, plan.interval(day), n)

    conn = psycopg2.connect(dsn)
    try:
        with conn, conn.cursor() as cur:  # one transaction: commit at the end or roll everything back
            cur.execute(f"DROP SCHEMA IF EXISTS {schema.SCHEMA} CASCADE")
            for statement in schema.create_tables_sql():
                cur.execute(statement)
            add("products", 0, _copy(cur, "products", generate.products(plan)))
            prices = generate.product_prices_cents(plan)
            ids = generate.OrderIds()
            for day in range(plan.days):
                add("customers", day, _copy(cur, "customers", generate.customers(plan, day)))
                for order_chunk, item_chunk in generate.history_orders(plan, ids, prices) if day == 0 else ():
                    add("orders", day, _copy(cur, "orders", order_chunk))  # imported on day 0 (updated_at)
                    add("order_items", day, _copy(cur, "order_items", item_chunk))
                for order_chunk, item_chunk in generate.orders(plan, day, ids, prices):
                    if drift is not None and day >= drift_day:
                        order_chunk, item_chunk = drift_mod.apply(order_chunk, item_chunk, drift)
                    add("orders", day, _copy(cur, "orders", order_chunk))
                    add("order_items", day, _copy(cur, "order_items", item_chunk))
            for statement in schema.create_indexes_sql():
                cur.execute(statement)
            injected = dirt_mod.inject(cur, plan, dirt, dirt_day, dirt_rows) if dirt else []
            cur.execute(f"ANALYZE {schema.SCHEMA}.order_items")
    finally:
        conn.close()
    return {
        "dsn": dsn,
        "schema": schema.SCHEMA,
        "plan": {"orders": plan.orders, "start": plan.start.isoformat(), "days": plan.days, "seed": plan.seed,
                 "history_days": plan.history_days, "customers": plan.customers},
        "intervals": [plan.interval(d).isoformat() for d in range(plan.days)],
        "clean_rows": counts,
        "dirt": injected,
        "drift": {**drift.describe(), "from": plan.interval(drift_day).isoformat()} if drift is not None else None,
        "seconds": round(time.monotonic() - started, 2),
    }


def source_counts(dsn: str) -> dict[str, dict[str, int]]:
    """Rows per table and interval (UTC date of updated_at) as the source holds them now."""
    import psycopg2

    out: dict[str, dict[str, int]] = {}
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        for table in schema.TABLES:
            cur.execute(f"SELECT (updated_at AT TIME ZONE 'UTC')::date, count(*) FROM {schema.SCHEMA}.{table} "
                        "GROUP BY 1 ORDER BY 1")
            out[table] = {day.isoformat(): n for day, n in cur.fetchall()}
    conn.close()
    return out
