"""Every Data API operation through boto3, with the response shapes botocore's model declares."""

from __future__ import annotations

import io
import time

import pyarrow.parquet as pq
import pytest
from botocore.exceptions import ClientError

from tests.cloud.redshift_data.conftest import Redshift, assert_shape


def test_execute_describe_result_shapes(rs):
    rs.run("CREATE TABLE people (id INT, name VARCHAR(20), score FLOAT8, ok BOOLEAN, born DATE, seen TIMESTAMP, "
           "amount NUMERIC(12,2), big BIGINT)")
    rs.run("INSERT INTO people VALUES (1, 'ann', 1.5, true, '2000-01-02', '2024-05-06 07:08:09', 12.34, 9000000000),"
           " (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL)")
    submitted = rs.client.execute_statement(Sql="SELECT * FROM people ORDER BY id", Database=rs.database,
                                            WorkgroupName="local-wg", StatementName="shapes")
    assert_shape("ExecuteStatement", submitted)
    assert submitted["Status"] == "SUBMITTED" and submitted["WorkgroupName"] == "local-wg"
    described = rs.wait(submitted["Id"])
    assert_shape("DescribeStatement", described)
    assert described["Status"] == "FINISHED" and described["HasResultSet"] is True
    assert described["ResultRows"] == 2 and described["Duration"] > 0
    result = rs.client.get_statement_result(Id=submitted["Id"])
    assert_shape("GetStatementResult", result)
    assert result["TotalNumRows"] == 2
    types = [(c["name"], c["typeName"]) for c in result["ColumnMetadata"]]
    assert types == [("id", "int4"), ("name", "varchar"), ("score", "float8"), ("ok", "bool"), ("born", "date"),
                     ("seen", "timestamp"), ("amount", "numeric"), ("big", "int8")]
    assert result["ColumnMetadata"][6]["precision"] == 12 and result["ColumnMetadata"][6]["scale"] == 2
    assert result["Records"][0] == [
        {"longValue": 1}, {"stringValue": "ann"}, {"doubleValue": 1.5}, {"booleanValue": True},
        {"stringValue": "2000-01-02"}, {"stringValue": "2024-05-06 07:08:09"}, {"stringValue": "12.34"},
        {"longValue": 9000000000}]
    assert result["Records"][1][1:] == [{"isNull": True}] * 7


def test_parameters_are_bound_and_cast(rs):
    rs.run("CREATE TABLE p (id INT, name VARCHAR(10))")
    rs.run("INSERT INTO p VALUES (:id, :name)", Parameters=[{"name": "id", "value": "7"}, {"name": "name", "value": "o'x"}])
    described = rs.run("SELECT name FROM p WHERE id = :id", Parameters=[{"name": "id", "value": "7"}])
    assert described["QueryParameters"] == [{"name": "id", "value": "7"}]
    assert rs.records(described["Id"]) == [["o'x"]]
    assert "no value" in rs.fail("SELECT * FROM p WHERE id = :missing", Parameters=[{"name": "id", "value": "1"}])


def test_batch_shapes_and_substatement_results(rs):
    out = rs.client.batch_execute_statement(Sqls=["CREATE TABLE b (x INT)", "INSERT INTO b VALUES (1), (2)",
                                                  "SELECT count(*) AS n FROM b"], Database=rs.database,
                                            WorkgroupName="local-wg")
    assert_shape("BatchExecuteStatement", out)
    described = rs.wait(out["Id"])
    assert_shape("DescribeStatement", described)
    assert [s["Status"] for s in described["SubStatements"]] == ["FINISHED"] * 3
    assert [s["Id"] for s in described["SubStatements"]] == [f"{out['Id']}:{n}" for n in (1, 2, 3)]
    assert described["SubStatements"][1]["ResultRows"] == 2
    assert described["SubStatements"][2]["HasResultSet"] is True
    assert rs.records(f"{out['Id']}:3") == [[2]]
    sub = rs.client.describe_statement(Id=f"{out['Id']}:2")
    assert_shape("DescribeStatement", sub)
    with pytest.raises(ClientError, match="sub-statement"):
        rs.client.get_statement_result(Id=out["Id"])


def test_paging_with_next_token(rs):
    described = rs.run("SELECT i, repeat('x', 200) AS pad FROM range(60000) t(i) ORDER BY i")
    first = rs.client.get_statement_result(Id=described["Id"])
    assert "NextToken" in first and 0 < len(first["Records"]) < 60000
    rows = rs.records(described["Id"])
    assert [r[0] for r in rows] == list(range(60000))
    with pytest.raises(ClientError, match="NextToken"):
        rs.client.get_statement_result(Id=described["Id"], NextToken="999")


def test_list_statements(rs):
    first = rs.run("SELECT 1", StatementName="listing-a")
    rs.fail("SELECT * FROM nowhere", StatementName="listing-b")
    listed = rs.client.list_statements(StatementName="listing-", Status="ALL")
    assert_shape("ListStatements", listed)
    ids = [s["Id"] for s in listed["Statements"]]
    assert first["Id"] in ids and len(ids) >= 2
    failed = rs.client.list_statements(StatementName="listing-", Status="FAILED")["Statements"]
    assert all(s["Status"] == "FAILED" for s in failed) and failed
    page = rs.client.list_statements(MaxResults=1)
    assert len(page["Statements"]) == 1 and "NextToken" in page
    second = rs.client.list_statements(MaxResults=1, NextToken=page["NextToken"])
    assert second["Statements"][0]["Id"] != page["Statements"][0]["Id"]


def test_catalog_operations(rs, redshift_client):
    rs.run("CREATE SCHEMA sales")
    rs.run("CREATE TABLE sales.orders (order_id BIGINT NOT NULL, total NUMERIC(10,2), note VARCHAR(30))")
    rs.run("CREATE TABLE public.other (x INT)")
    rs.run("CREATE VIEW sales.big AS SELECT * FROM sales.orders WHERE total > 100")
    target = {"Database": rs.database, "WorkgroupName": "local-wg"}

    databases = redshift_client.list_databases(**target)
    assert_shape("ListDatabases", databases)
    assert {"dev", rs.database} <= set(databases["Databases"])

    schemas = redshift_client.list_schemas(**target)
    assert_shape("ListSchemas", schemas)
    assert {"public", "sales"} <= set(schemas["Schemas"])
    assert redshift_client.list_schemas(SchemaPattern="sal%", **target)["Schemas"] == ["sales"]

    tables = redshift_client.list_tables(SchemaPattern="sales", **target)
    assert_shape("ListTables", tables)
    assert {(t["schema"], t["name"], t["type"]) for t in tables["Tables"]} == {
        ("sales", "orders", "TABLE"), ("sales", "big", "VIEW")}
    assert [t["name"] for t in redshift_client.list_tables(TablePattern="oth%", **target)["Tables"]] == ["other"]

    described = redshift_client.describe_table(Schema="sales", Table="orders", **target)
    assert_shape("DescribeTable", described)
    assert described["TableName"] == "orders"
    assert [(c["name"], c["typeName"], c["nullable"]) for c in described["ColumnList"]] == [
        ("order_id", "int8", 0), ("total", "numeric", 1), ("note", "varchar", 1)]
    paged = redshift_client.describe_table(Schema="sales", Table="orders", MaxResults=2, **target)
    assert len(paged["ColumnList"]) == 2 and paged["NextToken"]


def _status_after_queue(rs, statement_id: str, timeout: float = 120) -> str:
    """The first status past the queue (SUBMITTED/PICKED), polled gently, with a generous deadline."""
    deadline = time.monotonic() + timeout
    while (status := rs.client.describe_statement(Id=statement_id)["Status"]) in ("SUBMITTED", "PICKED"):
        assert time.monotonic() < deadline, f"statement still {status} after {timeout} s"
        time.sleep(0.02)
    return status


def test_cancel_statement(rs):
    # minutes of work on one core, so it is still running when the cancel arrives, however fast the machine
    slow = rs.submit("SELECT count(*) FROM range(10000000000) a(i) WHERE i % 7 = 3")
    status = _status_after_queue(rs, slow)  # cancel it mid-run, not in the queue
    assert status == "STARTED"
    answer = rs.client.cancel_statement(Id=slow)
    assert_shape("CancelStatement", answer)
    assert answer["Status"] is True
    described = rs.wait(slow)
    assert described["Status"] == "ABORTED"
    with pytest.raises(ClientError, match="already in ABORTED state"):
        rs.client.cancel_statement(Id=slow)
    assert rs.scalar("SELECT 41 + 1") == 42  # the database keeps serving


def test_provisioned_cluster_and_moto_created_cluster(aws, redshift_client):
    assert Redshift(redshift_client, workgroup=None, cluster="local-cluster").scalar("SELECT 1") == 1
    aws("redshift").create_cluster(ClusterIdentifier="made-by-moto", NodeType="ra3.xlplus", MasterUsername="admin",
                                   MasterUserPassword="Passw0rd!", DBName="dev")
    on_new = Redshift(redshift_client, workgroup=None, cluster="made-by-moto")
    on_new.run("CREATE TABLE here (x INT)")
    assert on_new.scalar("SELECT count(*) FROM here") == 0
    # clusters are separate warehouses
    assert "does not exist" in Redshift(redshift_client, workgroup=None, cluster="local-cluster").fail(
        "SELECT * FROM here")


def test_secret_arn_and_db_user_are_accepted(rs):
    out = rs.client.execute_statement(Sql="SELECT 1", Database=rs.database, WorkgroupName="local-wg",
                                      SecretArn="arn:aws:secretsmanager:us-east-1:123456789012:secret:rs-AbCdEf")
    assert out["SecretArn"].endswith("rs-AbCdEf")
    assert rs.wait(out["Id"])["Status"] == "FINISHED" and rs.records(out["Id"]) == [[1]]
    # the cluster's dev database, as a DbUser sees it (rs.database lives on the workgroup only)
    out = rs.client.execute_statement(Sql="SELECT 2", Database="dev", ClusterIdentifier="local-cluster",
                                      DbUser="awsuser")
    assert out["DbUser"] == "awsuser"
    described = rs.wait(out["Id"])
    assert described["Status"] == "FINISHED", described.get("Error")
    assert rs.records(out["Id"]) == [[2]]


def test_temp_tables_live_for_one_statement_or_batch(rs):
    rs.run("CREATE TEMP TABLE scratch (x INT); INSERT INTO scratch VALUES (1)")
    assert 'relation "scratch" does not exist' in rs.fail("SELECT * FROM scratch")  # a new session
    done = rs.batch(["CREATE TEMP TABLE scratch2 (x INT)", "INSERT INTO scratch2 VALUES (1), (2)",
                     "SELECT count(*) FROM scratch2"])
    assert rs.records(done["SubStatements"][2]["Id"]) == [[2]]


def test_create_and_drop_database(redshift_client):
    dev = Redshift(redshift_client)
    dev.run("CREATE DATABASE made_then_dropped")
    assert "already exists" in dev.fail("CREATE DATABASE made_then_dropped")
    Redshift(redshift_client, database="made_then_dropped").run("CREATE TABLE x (a INT)")
    assert "transaction block" in dev.batch(["SELECT 1", "CREATE DATABASE in_batch"])["Error"]
    dev.run("DROP DATABASE made_then_dropped")
    assert "made_then_dropped" not in redshift_client.list_databases(Database="dev", WorkgroupName="local-wg")[
        "Databases"]
    assert "does not exist" in Redshift(redshift_client, database="made_then_dropped").fail("SELECT 1")


def test_result_column_names_are_redshifts(rs, aws, bucket):
    """Unaliased expressions get PostgreSQL's names (Redshift's), not DuckDB's (`count_star()`, `(a + 1)`)."""
    rs.run("CREATE TABLE named (a INT, b VARCHAR(5))")
    rs.run("INSERT INTO named VALUES (1, 'x'), (2, NULL)")
    statement = rs.run("SELECT a, count(*), count(*)::int, a::bigint, sum(a) OVER (), upper(b), nvl(b, 'y'), a + 1, "
                       "CASE WHEN a > 1 THEN 'big' END, 7, b AS kept FROM named GROUP BY a, b ORDER BY a")
    names = [c["name"] for c in rs.client.get_statement_result(Id=statement["Id"])["ColumnMetadata"]]
    assert names == ["a", "count", "count", "a", "sum", "upper", "coalesce", "?column?", "case", "?column?", "kept"]
    # a CTE's and a CTAS's columns are named the same way, so reading them back by name works as on Redshift
    assert rs.query('WITH c AS (SELECT count(*) FROM named) SELECT "count" FROM c') == [[2]]
    rs.run("CREATE TABLE totals AS SELECT max(a), min(b) FROM named")
    assert rs.query("SELECT max, min FROM totals") == [[2, "x"]]
    rs.run(f"UNLOAD ('SELECT max(a), a FROM named GROUP BY a') TO 's3://{bucket}/names/' "
           "IAM_ROLE 'arn:aws:iam::123456789012:role/unload' FORMAT PARQUET")
    s3 = aws("s3")
    for listed in s3.list_objects_v2(Bucket=bucket, Prefix="names/")["Contents"]:
        body = s3.get_object(Bucket=bucket, Key=listed["Key"])["Body"].read()
        assert pq.read_schema(io.BytesIO(body)).names == ["max", "a"]
