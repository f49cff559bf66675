"""Crawlers through the local cloud: S3 scanned, tables and Hive partitions in the catalog, states and metrics.
Includes the acceptance path: a pythonshell job turns CSV into partitioned Parquet, then the crawler catalogs it."""

from __future__ import annotations

import io
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.cloud.glue.conftest import unique, wait_run


def _parquet(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


def _crawl(aws, bucket: str, path: str, database: str, **kwargs) -> dict:
    glue = aws("glue")
    name = unique("crawler")
    glue.create_crawler(Name=name, Role="r", DatabaseName=database, Targets={"S3Targets": [
        {"Path": f"s3://{bucket}/{path}", **({"Exclusions": kwargs.pop("exclusions")} if "exclusions" in kwargs
                                             else {})}]}, **kwargs)
    return _run_crawler(glue, name)


def _run_crawler(glue, name: str) -> dict:
    glue.start_crawler(Name=name)
    deadline = time.monotonic() + 60
    while True:
        crawler = glue.get_crawler(Name=name)["Crawler"]
        if crawler["State"] == "READY" and "LastCrawl" in crawler:
            return crawler
        assert time.monotonic() < deadline, crawler
        time.sleep(0.05)


@pytest.fixture
def database(aws):
    name = unique("db").replace("-", "_")
    aws("glue").create_database(DatabaseInput={"Name": name})
    return name


def _columns(table: dict) -> dict[str, str]:
    return {c["Name"]: c["Type"] for c in table["StorageDescriptor"]["Columns"]}


def test_csv_job_then_crawler_registers_parquet_table_with_partitions(aws, make_job, glue_bucket, database):
    """Acceptance: pythonshell job CSV -> Parquet (pandas/pyarrow), crawler -> table, partitions, types."""
    s3, glue = aws("s3"), aws("glue")
    csv = "order_id,customer,amount,ordered_at\n1,ann,10.5,2024-01-01 09:00:00\n2,bob,3,2024-01-01 10:00:00\n" \
          "3,cy,7.25,2024-01-02 11:00:00\n"
    s3.put_object(Bucket=glue_bucket, Key="landing/orders.csv", Body=csv.encode())
    job = make_job("csv_to_parquet.py")
    run_id = glue.start_job_run(JobName=job, Arguments={
        "--source": f"s3://{glue_bucket}/landing/orders.csv", "--target_bucket": glue_bucket,
        "--target_prefix": f"{database}/curated/"})["JobRunId"]
    run = wait_run(glue, job, run_id)
    assert run["JobRunState"] == "SUCCEEDED", run.get("ErrorMessage")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=glue_bucket, Prefix=f"{database}/curated/")["Contents"]]
    assert keys == [f"{database}/curated/orders/dt=2024-01-01/part-0.parquet",
                    f"{database}/curated/orders/dt=2024-01-02/part-0.parquet"]

    crawler = _crawl(aws, glue_bucket, f"{database}/curated/", database)
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    table = glue.get_table(DatabaseName=database, Name="orders")["Table"]
    assert _columns(table) == {"order_id": "bigint", "customer": "string", "amount": "double",
                               "ordered_at": "timestamp"}
    assert table["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert table["StorageDescriptor"]["Location"] == f"s3://{glue_bucket}/{database}/curated/orders/"
    assert table["Parameters"]["classification"] == "parquet" and table["Parameters"]["recordCount"] == "3"
    partitions = glue.get_partitions(DatabaseName=database, TableName="orders")["Partitions"]
    assert sorted(p["Values"][0] for p in partitions) == ["2024-01-01", "2024-01-02"]
    assert {p["StorageDescriptor"]["Location"] for p in partitions} == {
        f"s3://{glue_bucket}/{database}/curated/orders/dt=2024-01-0{i}/" for i in (1, 2)}
    metrics = glue.get_crawler_metrics(CrawlerNameList=[crawler["Name"]])["CrawlerMetricsList"][0]
    assert metrics["TablesCreated"] == 1 and metrics["TablesUpdated"] == 0 and metrics["LastRuntimeSeconds"] > 0


def test_csv_json_exclusions_and_table_prefix(aws, glue_bucket, database):
    s3, glue = aws("s3"), aws("glue")
    base = f"{database}/raw/"
    s3.put_object(Bucket=glue_bucket, Key=base + "customers/part.csv",
                  Body=b"id,name,active,signed_up\n1,ann,true,2024-01-01\n2,bob,false,2024-02-01\n")
    s3.put_object(Bucket=glue_bucket, Key=base + "events/day=1/e.json",
                  Body=b'{"id": 1, "kind": "click", "tags": ["a"]}\n{"id": 2, "kind": "view", "tags": []}\n')
    s3.put_object(Bucket=glue_bucket, Key=base + "events/day=1/_SUCCESS", Body=b"")
    s3.put_object(Bucket=glue_bucket, Key=base + "tmp/scratch.csv", Body=b"x\n1\n")
    s3.put_object(Bucket=glue_bucket, Key=base + "customers/old.bak.csv", Body=b"other\n1\n")
    crawler = _crawl(aws, glue_bucket, base, database, TablePrefix="raw_",
                     exclusions=["tmp/**", "**.bak.csv"])
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    tables = {t["Name"]: t for t in glue.get_tables(DatabaseName=database)["TableList"]}
    assert set(tables) == {"raw_customers", "raw_events"}
    assert _columns(tables["raw_customers"]) == {"id": "bigint", "name": "string", "active": "boolean",
                                                 "signed_up": "date"}
    assert tables["raw_customers"]["Parameters"]["classification"] == "csv"
    assert tables["raw_customers"]["StorageDescriptor"]["Parameters"]["skip.header.line.count"] == "1"
    assert _columns(tables["raw_events"]) == {"id": "bigint", "kind": "string", "tags": "array<string>"}
    assert tables["raw_events"]["PartitionKeys"] == [{"Name": "day", "Type": "string"}]


def test_schema_change_adds_columns_and_new_partitions(aws, glue_bucket, database):
    s3, glue = aws("s3"), aws("glue")
    base = f"{database}/sales/"
    s3.put_object(Bucket=glue_bucket, Key=base + "dt=2024-01-01/a.parquet",
                  Body=_parquet(pa.table({"id": pa.array([1], pa.int32()), "amount": [1.0]})))
    name = unique("crawler")
    glue.create_crawler(Name=name, Role="r", DatabaseName=database,
                        Targets={"S3Targets": [{"Path": f"s3://{glue_bucket}/{base}"}]})
    _run_crawler(glue, name)
    # the table is named after the target folder, because its children are partitions
    assert _columns(glue.get_table(DatabaseName=database, Name="sales")["Table"]) == {"id": "int", "amount": "double"}

    s3.put_object(Bucket=glue_bucket, Key=base + "dt=2024-01-02/a.parquet",
                  Body=_parquet(pa.table({"id": pa.array([2], pa.int64()), "channel": ["web"]})))
    s3.delete_object(Bucket=glue_bucket, Key=base + "dt=2024-01-01/a.parquet")
    crawler = _run_crawler(glue, name)
    assert crawler["LastCrawl"]["Status"] == "SUCCEEDED"
    table = glue.get_table(DatabaseName=database, Name="sales")["Table"]
    # old column kept (its data is still in the catalog's old partition), new one added, int widened to bigint
    assert _columns(table) == {"id": "bigint", "amount": "double", "channel": "string"}
    values = sorted(p["Values"][0] for p in glue.get_partitions(DatabaseName=database, TableName="sales")["Partitions"])
    assert values == ["2024-01-01", "2024-01-02"]  # default DeleteBehavior keeps the vanished partition
    metrics = glue.get_crawler_metrics(CrawlerNameList=[name])["CrawlerMetricsList"][0]
    assert metrics["TablesCreated"] == 0 and metrics["TablesUpdated"] == 1


def test_update_behavior_log_keeps_the_schema(aws, glue_bucket, database):
    s3, glue = aws("s3"), aws("glue")
    base = f"{database}/logged/t/"
    s3.put_object(Bucket=glue_bucket, Key=base + "a.parquet", Body=_parquet(pa.table({"a": [1]})))
    name = unique("crawler")
    glue.create_crawler(Name=name, Role="r", DatabaseName=database,
                        Targets={"S3Targets": [{"Path": f"s3://{glue_bucket}/{database}/logged/"}]},
                        SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"})
    _run_crawler(glue, name)
    s3.put_object(Bucket=glue_bucket, Key=base + "b.parquet", Body=_parquet(pa.table({"a": [2], "b": ["x"]})))
    _run_crawler(glue, name)
    assert _columns(glue.get_table(DatabaseName=database, Name="t")["Table"]) == {"a": "bigint"}


def test_delete_from_database_removes_vanished_tables(aws, glue_bucket, database):
    s3, glue = aws("s3"), aws("glue")
    base = f"{database}/gone/"
    s3.put_object(Bucket=glue_bucket, Key=base + "keep/a.json", Body=b'{"a": 1}\n')
    s3.put_object(Bucket=glue_bucket, Key=base + "drop/a.json", Body=b'{"a": 1}\n')
    name = unique("crawler")
    glue.create_crawler(Name=name, Role="r", DatabaseName=database,
                        Targets={"S3Targets": [{"Path": f"s3://{glue_bucket}/{base}"}]},
                        SchemaChangePolicy={"UpdateBehavior": "UPDATE_IN_DATABASE",
                                            "DeleteBehavior": "DELETE_FROM_DATABASE"})
    _run_crawler(glue, name)
    s3.delete_object(Bucket=glue_bucket, Key=base + "drop/a.json")
    _run_crawler(glue, name)
    assert [t["Name"] for t in glue.get_tables(DatabaseName=database)["TableList"]] == ["keep"]
    assert glue.get_crawler_metrics(CrawlerNameList=[name])["CrawlerMetricsList"][0]["TablesDeleted"] == 1


def test_crawl_into_missing_database_fails_clearly(aws, glue_bucket):
    aws("s3").put_object(Bucket=glue_bucket, Key="nodb/t/a.json", Body=b'{"a": 1}\n')
    crawler = _crawl(aws, glue_bucket, "nodb/", "no_such_database")
    assert crawler["LastCrawl"]["Status"] == "FAILED"
    assert "Database no_such_database not found" in crawler["LastCrawl"]["ErrorMessage"]


def test_unreadable_file_fails_the_crawl_naming_it(aws, glue_bucket, database):
    aws("s3").put_object(Bucket=glue_bucket, Key=f"{database}/bad/t/a.parquet", Body=b"PAR1 not really")
    crawler = _crawl(aws, glue_bucket, f"{database}/bad/", database)
    assert crawler["LastCrawl"]["Status"] == "FAILED"
    assert f"{database}/bad/t/a.parquet" in crawler["LastCrawl"]["ErrorMessage"]


def test_unknown_crawler_and_not_running(aws):
    glue = aws("glue")
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.start_crawler(Name="no-such-crawler")
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_crawler(Name="no-such-crawler")
    glue.create_crawler(Name="idle-crawler", Role="r", DatabaseName="x",
                        Targets={"S3Targets": [{"Path": "s3://glue-tests/idle/"}]})
    assert glue.get_crawler(Name="idle-crawler")["Crawler"]["State"] == "READY"
    with pytest.raises(glue.exceptions.CrawlerNotRunningException):
        glue.stop_crawler(Name="idle-crawler")
    found = glue.batch_get_crawlers(CrawlerNames=["idle-crawler", "nope"])
    assert [c["Name"] for c in found["Crawlers"]] == ["idle-crawler"] and found["CrawlersNotFound"] == ["nope"]
    glue.delete_crawler(Name="idle-crawler")
    with pytest.raises(glue.exceptions.EntityNotFoundException):
        glue.get_crawler(Name="idle-crawler")


def test_crawl_log_is_in_cloudwatch(aws, glue_bucket, database):
    aws("s3").put_object(Bucket=glue_bucket, Key=f"{database}/logs/t/a.json", Body=b'{"a": 1}\n')
    crawler = _crawl(aws, glue_bucket, f"{database}/logs/", database)
    events = aws("logs").get_log_events(logGroupName="/aws-glue/crawlers", logStreamName=crawler["Name"],
                                        startFromHead=True)["events"]
    assert any(f"Created table t in database {database}" in e["message"] for e in events)
