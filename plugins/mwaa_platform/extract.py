"""Incremental extract of the retail source to S3 raw: what to read and where it goes (the operator that does it
is mwaa_platform.operators.extract.IncrementalExtractOperator).

- Rows changed in the data interval: updated_at >= data_interval_start AND < data_interval_end (half-open, so
  consecutive intervals neither overlap nor leave gaps), plus the LATE rows of a per-table lookback before the
  interval (see mwaa_platform.late_rows). SELECT * on purpose: a column the source adds (schema drift) reaches
  raw and the curation report instead of vanishing silently.
- Parquet, because it keeps the source types (bigint, numeric(p,s), timestamptz, NULLs) that CSV would flatten
  into text, is columnar and compressed for the crawler and the Glue job, and is what Redshift COPY reads natively.
- Idempotent: the interval's prefix raw/<table>/dt=YYYY-MM-DD/ holds exactly what the last run wrote
  (<table>.parquet, and late-<table>.parquet when there were late rows); a re-run overwrites it.
No heavy imports here: DAG files import this module at parse time.
"""

from __future__ import annotations

import datetime as dt

TABLES = {"customers": "customer_id", "products": "product_id", "orders": "order_id", "order_items": "order_item_id"}
SOURCE_SCHEMA = "retail"
INTERVAL_DATE = "{{ data_interval_start.strftime('%Y-%m-%d') }}"
RAW, EXTRACT_REPORTS = "raw", "reports/extract"


def _check(table: str) -> str:
    if table not in TABLES:
        raise ValueError(f"unknown source table {table!r}; extractable: {', '.join(TABLES)}")
    return table


def _stamp(moment: dt.datetime) -> str:
    """A timestamptz literal from a datetime we parsed ourselves (never from free text): safe to inline in COPY,
    which takes no bind parameters."""
    if moment.tzinfo is None:
        raise ValueError(f"interval bounds must carry a time zone, got {moment!r}")
    return f"'{moment.astimezone(dt.UTC).isoformat()}'::timestamptz"


def interval_query(table: str, start: dt.datetime, end: dt.datetime, schema: str = SOURCE_SCHEMA) -> str:
    """One table's rows changed in [start, end), ordered by key for stable files."""
    return (f"SELECT * FROM {schema}.{_check(table)} WHERE updated_at >= {_stamp(start)} AND updated_at < {_stamp(end)} "
            f"ORDER BY {TABLES[table]}, updated_at")


def versions_query(table: str, start: dt.datetime, end: dt.datetime, schema: str = SOURCE_SCHEMA) -> str:
    """Only (key, updated_at) of the rows in [start, end): what the late-row comparison needs."""
    key = TABLES[_check(table)]
    return (f"SELECT {key}, updated_at FROM {schema}.{table} "
            f"WHERE updated_at >= {_stamp(start)} AND updated_at < {_stamp(end)}")


def rows_of_keys_query(table: str, start: dt.datetime, end: dt.datetime, keys: list[int],
                       schema: str = SOURCE_SCHEMA) -> str:
    """Full rows of some keys in [start, end) (the late ones; the caller keeps the exact versions)."""
    key = TABLES[_check(table)]
    listed = ",".join(str(int(k)) for k in keys)  # integer keys only, so the literal cannot carry SQL
    return (f"SELECT * FROM {schema}.{table} WHERE updated_at >= {_stamp(start)} AND updated_at < {_stamp(end)} "
            f"AND {key} = ANY('{{{listed}}}'::bigint[]) ORDER BY {key}, updated_at")


def raw_prefix(table: str, interval_date: str = INTERVAL_DATE) -> str:
    return f"{RAW}/{_check(table)}/dt={interval_date}/"


def raw_key(table: str, interval_date: str = INTERVAL_DATE) -> str:
    return f"{raw_prefix(table, interval_date)}{table}.parquet"


def late_key(table: str, interval_date: str = INTERVAL_DATE) -> str:
    return f"{raw_prefix(table, interval_date)}late-{table}.parquet"


def report_key(table: str, interval_date: str = INTERVAL_DATE) -> str:
    return f"{EXTRACT_REPORTS}/{_check(table)}/dt={interval_date}/counts.json"
