"""The issue's acceptance scenarios, end to end through boto3 against a running local cloud."""

from __future__ import annotations

import io
import signal

import pyarrow as pa
import pyarrow.parquet as pq

from mwaa_local.cloud import process
from tests.cloud.redshift_data.conftest import Redshift

ROLE = "IAM_ROLE 'arn:aws:iam::123456789012:role/redshift'"


_clients = process.clients


def _million_rows_parquet(rows: int = 1_000_000) -> bytes:
    ids = pa.array(range(rows), pa.int64())
    table = pa.table({"id": ids, "region": pa.array(["eu", "us", "apac", "latam"] * (rows // 4)),
                      "amount": pa.compute.multiply(pa.compute.cast(ids, pa.float64()), 0.5)})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def test_copy_merge_unload_a_million_rows(rs, aws, bucket):
    s3 = aws("s3")
    s3.put_object(Bucket=bucket, Key="in/sales.parquet", Body=_million_rows_parquet())
    rs.run("CREATE TABLE sales (id BIGINT, region VARCHAR(8), amount FLOAT8) DISTKEY(id) SORTKEY(id)")
    rs.run("CREATE TABLE sales_stage (LIKE sales)")
    assert rs.run(f"COPY sales_stage FROM 's3://{bucket}/in/' {ROLE} FORMAT AS PARQUET")["ResultRows"] == 1_000_000
    # the target already holds half the keys (changed amounts) plus rows the stage does not have
    rs.run("INSERT INTO sales SELECT id, region, -1 FROM sales_stage WHERE id % 2 = 0")
    rs.run("INSERT INTO sales SELECT id + 1000000, region, 0 FROM sales_stage WHERE id < 1000")
    merged = rs.run("MERGE INTO sales USING sales_stage s ON sales.id = s.id "
                    "WHEN MATCHED THEN UPDATE SET amount = s.amount "
                    "WHEN NOT MATCHED THEN INSERT (id, region, amount) VALUES (s.id, s.region, s.amount)")
    assert merged["ResultRows"] == 1_000_000
    assert rs.query("SELECT count(*), sum(CASE WHEN amount < 0 THEN 1 ELSE 0 END) FROM sales") == [[1_001_000, 0]]
    unloaded = rs.run(f"UNLOAD ('SELECT * FROM sales WHERE id < 1000000') TO 's3://{bucket}/out/sales/' {ROLE} "
                      "FORMAT PARQUET PARTITION BY (region)")
    assert unloaded["ResultRows"] == 1_000_000
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="out/sales/")["Contents"]]
    assert sorted({k.split("/")[2] for k in keys}) == ["region=apac", "region=eu", "region=latam", "region=us"]
    total = sum(pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())).num_rows for k in keys)
    assert total == 1_000_000
    rs.run("CREATE TABLE sales_back (id BIGINT, amount FLOAT8)")
    rs.run(f"COPY sales_back FROM 's3://{bucket}/out/sales/' {ROLE} FORMAT AS PARQUET")
    assert rs.scalar("SELECT count(*) FROM sales_back") == 1_000_000


def test_failing_third_statement_leaves_tables_exactly_as_before(rs):
    rs.run("CREATE TABLE accounts (id INT, balance INT)")
    rs.run("INSERT INTO accounts VALUES (1, 100), (2, 50)")
    before = rs.query("SELECT * FROM accounts ORDER BY id")
    assert before == [[1, 100], [2, 50]]
    described = rs.batch(["UPDATE accounts SET balance = balance - 30 WHERE id = 1",
                          "INSERT INTO accounts VALUES (3, 30)",
                          "UPDATE accounts SET balance = balance / 0 WHERE id = 2",
                          "INSERT INTO accounts VALUES (4, 40)"])
    assert described["Status"] == "FAILED"
    assert [s["Status"] for s in described["SubStatements"]] == ["FINISHED", "FINISHED", "FAILED", "ABORTED"]
    assert described["SubStatements"][2]["Error"] == "ERROR: division by zero"
    assert described["Error"] == "ERROR: division by zero"
    assert rs.query("SELECT * FROM accounts ORDER BY id") == before
    created = rs.batch(["CREATE TABLE made_in_batch (x INT)", "INSERT INTO made_in_batch VALUES (1)",
                        "SELECT * FROM nope"])
    assert created["Status"] == "FAILED"
    assert created["Error"] == 'ERROR: relation "nope" does not exist'
    assert rs.fail("SELECT * FROM made_in_batch") == 'ERROR: relation "made_in_batch" does not exist'


def test_warehouse_and_s3_survive_sigkill_after_copy(tmp_path):
    cloud = process.start(state_dir=tmp_path)
    try:
        aws = _clients(cloud.endpoint_url)
        aws("s3").create_bucket(Bucket="durable")
        aws("s3").put_object(Bucket="durable", Key="in/rows.csv", Body=b"1,a\n2,b\n3,c\n")
        rs = Redshift(aws("redshift-data"))
        rs.run("CREATE TABLE durable (id INT, s VARCHAR(4))")
        rs.run("COPY durable FROM 's3://durable/in/' IAM_ROLE default CSV")
        history = rs.run("SELECT s FROM durable ORDER BY id")["Id"]
    finally:
        cloud.stop(signal.SIGKILL)

    cloud = process.start(state_dir=tmp_path)
    try:
        aws = _clients(cloud.endpoint_url)
        rs = Redshift(aws("redshift-data"))
        assert rs.query("SELECT id, s FROM durable ORDER BY id") == [[1, "a"], [2, "b"], [3, "c"]]
        assert aws("s3").get_object(Bucket="durable", Key="in/rows.csv")["Body"].read() == b"1,a\n2,b\n3,c\n"
        assert rs.records(history) == [["a"], ["b"], ["c"]]  # statement history and results were kept too
    finally:
        cloud.stop()
