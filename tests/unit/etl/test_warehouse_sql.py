"""The Redshift SQL: renders with every placeholder filled, transpiles to DuckDB (the local Redshift engine),
and its MERGE is idempotent and never lets an older version overwrite a newer one."""

import pytest

from mwaa_platform import warehouse_sql

ROLE = "arn:aws:iam::123456789012:role/mwaa-local-redshift"


def test_batch_renders_every_table_dimensions_first_with_no_placeholder_left():
    batch = warehouse_sql.load_batch("retail-data-lake", "2024-01-02", ROLE)
    copies = [s for s in batch if s.startswith("COPY")]
    assert [c.split()[1] for c in copies] == ["staging.stg_customers", "staging.stg_products", "staging.stg_orders",
                                               "staging.stg_order_items"]
    assert "FROM 's3://retail-data-lake/curated/orders/dt=2024-01-02/' IAM_ROLE '" + ROLE + "' FORMAT AS PARQUET" in copies[2]
    assert not any("${" in s or "TRUNCATE" in s.upper() for s in batch)  # TRUNCATE would commit mid-batch
    assert len(batch) == 16


@pytest.mark.parametrize("kwargs, message", [
    ({"bucket": "retail-data-lake", "interval_date": "2024/01/02", "iam_role": ROLE}, "YYYY-MM-DD"),
    ({"bucket": "retail-data-lake", "interval_date": "2024-01-02", "iam_role": "admin"}, "IAM role ARN"),
    ({"bucket": "x", "interval_date": "2024-01-02", "iam_role": ROLE}, "curated_uri"),
    ({"bucket": "retail-data-lake", "interval_date": "2024-01-02", "iam_role": ROLE, "tables": ["refunds"]}, "refunds"),
])
def test_bad_parameters_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        warehouse_sql.load_batch(**kwargs)


def _duckdb(sql):
    import sqlglot

    return [s for s in sqlglot.transpile(sql, read="redshift", write="duckdb") if s.strip()]


def test_schema_and_merge_run_on_duckdb_and_rerun_changes_nothing():
    import duckdb

    db = duckdb.connect()
    for statement in warehouse_sql.schema_statements():
        for sql in _duckdb(statement):
            db.execute(sql)
    load = [s for s in warehouse_sql.load_statements("orders", "s3://retail-data-lake/curated/orders/dt=2024-01-02/", ROLE)
            if not s.startswith("COPY")]

    def run_interval(rows):
        db.execute("BEGIN")
        db.execute(_duckdb(load[0])[0])  # empty staging
        db.executemany("INSERT INTO staging.stg_orders VALUES (?, ?, ?, ?, ?, ?, ?)", rows)  # stands in for COPY
        for statement in load[1:]:
            for sql in _duckdb(statement):
                db.execute(sql)
        db.execute("COMMIT")
        return db.execute("SELECT * FROM analytics.fact_orders ORDER BY order_id").fetchall()

    day1 = [(1, 10, "paid", "USD", 12.5, "2024-01-01 10:00:00", "2024-01-01 10:05:00"),
            (2, 11, "paid", "EUR", 3.0, "2024-01-01 11:00:00", "2024-01-01 11:01:00")]
    first = run_interval(day1)
    assert len(first) == 2
    assert run_interval(day1) == first  # re-run: identical contents, no duplicate keys
    day2 = [(1, 10, "refunded", "USD", 12.5, "2024-01-01 10:00:00", "2024-01-02 09:00:00")]
    after = run_interval(day2)
    assert [r[2] for r in after] == ["refunded", "paid"] and len(after) == 2
    assert run_interval(day1) == after  # a backfill of the older interval does not undo the newer update
