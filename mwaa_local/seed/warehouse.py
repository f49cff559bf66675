"""A plan's orders straight into the local Redshift warehouse (analytics.fact_orders, fact_order_items), as the ETL's
load leaves them: for the ML benchmark and tests, which need a large history without running one ETL interval per
day. Parquet in the local S3, then COPY through the Redshift Data API (the same path the ETL's load takes)."""

from __future__ import annotations

import io
import uuid

from mwaa_local.redshift_query import query
from mwaa_local.seed import generate
from mwaa_local.seed.generate import Plan

FACTS = {"orders": "analytics.fact_orders", "order_items": "analytics.fact_order_items"}


def _warehouse_types(table):
    """Source types -> the warehouse's: money text -> DECIMAL, timestamptz -> UTC TIMESTAMP (as curation does)."""
    import pyarrow as pa

    columns = {}
    for name in table.column_names:
        column = table[name]
        if name in ("total_amount", "amount", "unit_price"):
            column = column.cast(pa.decimal128(14 if name != "unit_price" else 12, 2))
        elif pa.types.is_timestamp(column.type):
            column = column.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("us"))
        columns[name] = column
    return pa.table(columns)


def load_orders(redshift, s3, bucket: str, iam_role: str, plan: Plan, workgroup: str, database: str,
                transform=None) -> dict:
    """COPY the plan's history and daily orders (with their lines) into the warehouse facts; returns row counts.
    The facts must exist (include/sql/schema.sql) and are appended to. `transform(orders, order_items)` may change
    each generated chunk first (a cut at a date, a drift shift)."""
    import pyarrow.parquet as pq

    prefix = f"seed-warehouse/{uuid.uuid4().hex[:8]}"
    prices, ids = generate.product_prices_cents(plan), generate.OrderIds()
    chunks = list(generate.history_orders(plan, ids, prices))
    for day in range(plan.days):
        chunks += generate.orders(plan, day, ids, prices)
    counts = {"orders": 0, "order_items": 0}
    for number, pair in enumerate(chunks):
        for table, data in zip(FACTS, transform(*pair) if transform else pair, strict=True):
            body = io.BytesIO()
            pq.write_table(_warehouse_types(data), body)
            s3.put_object(Bucket=bucket, Key=f"{prefix}/{table}/part-{number:05d}.parquet", Body=body.getvalue())
            counts[table] += data.num_rows
    for table, target in FACTS.items():
        query(redshift, f"COPY {target} FROM 's3://{bucket}/{prefix}/{table}/' IAM_ROLE '{iam_role}' "
                        "FORMAT AS PARQUET", workgroup, database, timeout=600)
    return counts
