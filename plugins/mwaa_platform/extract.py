"""Incremental extract of the retail source to S3 raw, built on the Amazon provider's SqlToS3Operator.

- Rows changed in the data interval: updated_at >= data_interval_start AND < data_interval_end (half-open, so
  consecutive intervals neither overlap nor leave gaps). SELECT * on purpose: a column the source adds
  (schema drift) reaches raw and the curation report instead of vanishing silently.
- Parquet, because it keeps the source types (bigint, timestamptz, NULLs) that CSV would flatten into text,
  is columnar and compressed for the crawler and the Glue job, and is what Redshift COPY reads natively.
- Read with dtype_backend="pyarrow" and coerce_float=False: nullable integers stay integers (not floats),
  NULLs stay NULL (not the string "None"), and numeric(12,2) money arrives as exact decimal text instead of a
  binary float; the curation parses it to decimal.
- Idempotent: one fixed object per table and interval (raw/<table>/dt=YYYY-MM-DD/<table>.parquet) written with
  replace=True, so a re-run overwrites that interval's data and never appends a second copy.
No heavy imports here: DAG files import this module at parse time.
"""

from __future__ import annotations

TABLES = {"customers": "customer_id", "products": "product_id", "orders": "order_id", "order_items": "order_item_id"}
SOURCE_SCHEMA = "retail"
READ_KWARGS = {"dtype_backend": "pyarrow", "coerce_float": False}
INTERVAL_DATE = "{{ data_interval_start.strftime('%Y-%m-%d') }}"


def _check(table: str) -> str:
    if table not in TABLES:
        raise ValueError(f"unknown source table {table!r}; extractable: {', '.join(TABLES)}")
    return table


def incremental_query(table: str, schema: str = SOURCE_SCHEMA) -> str:
    """The Jinja-templated SQL for one table's changes in the data interval, ordered by key for stable files."""
    _check(table)
    return (f"SELECT * FROM {schema}.{table} "
            "WHERE updated_at >= '{{ data_interval_start }}' AND updated_at < '{{ data_interval_end }}' "
            f"ORDER BY {TABLES[table]}, updated_at")


def raw_prefix(table: str, interval_date: str = INTERVAL_DATE) -> str:
    return f"raw/{_check(table)}/dt={interval_date}/"


def raw_key(table: str, interval_date: str = INTERVAL_DATE) -> str:
    return f"{raw_prefix(table, interval_date)}{table}.parquet"


def extract_operator_kwargs(table: str, bucket: str, sql_conn_id: str = "retail_source_db",
                            aws_conn_id: str | None = "aws_default") -> dict:
    """Keyword arguments for SqlToS3Operator(task_id=..., **extract_operator_kwargs(...))."""
    return {
        "query": incremental_query(table),
        "s3_bucket": bucket,
        "s3_key": raw_key(table),
        "sql_conn_id": sql_conn_id,
        "aws_conn_id": aws_conn_id,
        "file_format": "parquet",
        "replace": True,
        "read_kwargs": dict(READ_KWARGS),
        "df_kwargs": {"index": False, "compression": "snappy"},
    }
