"""Crawler claims of the Glue README beyond the happy path: what each SchemaChangePolicy DeleteBehavior does when S3
data is removed, StopCrawler on a crawl in flight, and a crawl interrupted by a restart of the local cloud.

Crawls in flight are held with a crawl-hold fault (mwaa_local/cloud/faults.py), so no assertion races the crawl."""

from __future__ import annotations

import io
import signal
import time

import boto3
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mwaa_local.cloud import faults, process
from tests.cloud.glue.conftest import unique


def _parquet(**columns) -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue()


def _state(glue, name: str) -> dict:
    return glue.get_crawler(Name=name)["Crawler"]


def _wait(glue, name: str, until, what: str, timeout: float = 60) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        crawler = _state(glue, name)
        if until(crawler):
            return crawler
        assert time.monotonic() < deadline, f"crawler {name} never {what}: {crawler.get('State')} " \
                                            f"{crawler.get('LastCrawl')}"
        time.sleep(0.05)


def _run(glue, name: str) -> dict:
    glue.start_crawler(Name=name)
    return _wait(glue, name, lambda c: c["State"] == "READY" and "LastCrawl" in c, "finished")


def _tables(glue, database: str) -> dict[str, dict]:
    return {t["Name"]: t for t in glue.get_tables(DatabaseName=database)["TableList"]}


def _log(aws, name: str) -> list[str]:
    return [e["message"] for e in aws("logs").get_log_events(
        logGroupName="/aws-glue/crawlers", logStreamName=name, startFromHead=True)["events"]]


@pytest.fixture
def database(aws):
    name = unique("lifecycle").replace("-", "_")
    aws("glue").create_database(DatabaseInput={"Name": name})
    return name


@pytest.fixture
def lake(aws, glue_bucket, database):
    """Two tables under one crawler target: keep/ (stays) and drop/ (two partitions, removed by the tests)."""
    s3, base = aws("s3"), f"{database}/lake/"
    s3.put_object(Bucket=glue_bucket, Key=base + "keep/a.parquet", Body=_parquet(id=[1]))
    for day in ("2024-01-01", "2024-01-02"):
        s3.put_object(Bucket=glue_bucket, Key=f"{base}drop/dt={day}/a.parquet", Body=_parquet(id=[2], v=["x"]))
    return base


def _crawler(aws, glue_bucket: str, database: str, base: str, delete_behavior: str | None) -> str:
    name = unique("lifecycle")
    policy = {"SchemaChangePolicy": {"UpdateBehavior": "UPDATE_IN_DATABASE", "DeleteBehavior": delete_behavior}} \
        if delete_behavior else {}
    aws("glue").create_crawler(Name=name, Role="r", DatabaseName=database,
                               Targets={"S3Targets": [{"Path": f"s3://{glue_bucket}/{base}"}]}, **policy)
    return name


def _remove(aws, bucket: str, prefix: str) -> None:
    s3 = aws("s3")
    for obj in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=obj["Key"])


def _metrics(glue, name: str) -> dict:
    return glue.get_crawler_metrics(CrawlerNameList=[name])["CrawlerMetricsList"][0]


# -- DeleteBehavior ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("delete_behavior", [None, "DEPRECATE_IN_DATABASE"])
def test_deprecate_marks_a_vanished_table_once_and_keeps_it(aws, glue_bucket, database, lake, delete_behavior):
    """DEPRECATE_IN_DATABASE (also the default): the table whose data is gone stays, marked DEPRECATED_BY_CRAWLER;
    the other table is untouched; a later crawl neither re-counts nor re-marks it; data coming back revives it."""
    glue = aws("glue")
    name = _crawler(aws, glue_bucket, database, lake, delete_behavior)
    assert _run(glue, name)["LastCrawl"]["Status"] == "SUCCEEDED"
    assert set(_tables(glue, database)) == {"keep", "drop"}

    _remove(aws, glue_bucket, lake + "drop/")
    assert _run(glue, name)["LastCrawl"]["Status"] == "SUCCEEDED"
    tables = _tables(glue, database)
    assert set(tables) == {"keep", "drop"}, "DEPRECATE must not delete the table"
    assert tables["drop"]["Parameters"].get("DEPRECATED_BY_CRAWLER") == "1", tables["drop"]["Parameters"]
    assert "DEPRECATED_BY_CRAWLER" not in tables["keep"]["Parameters"]
    assert tables["drop"]["PartitionKeys"] == [{"Name": "dt", "Type": "string"}]
    assert {c["Name"] for c in tables["drop"]["StorageDescriptor"]["Columns"]} == {"id", "v"}
    assert _metrics(glue, name)["TablesDeleted"] == 1

    assert _run(glue, name)["LastCrawl"]["Status"] == "SUCCEEDED"  # nothing new has vanished
    assert _metrics(glue, name)["TablesDeleted"] == 0
    assert _tables(glue, database)["drop"]["Parameters"]["DEPRECATED_BY_CRAWLER"] == "1"
    log = _log(aws, name)
    assert sum("Deleted (or deprecated) table drop" in line for line in log) == 1, log
    assert not any("DeleteBehavior LOG" in line for line in log), "a DEPRECATE crawler logged itself as LOG"

    aws("s3").put_object(Bucket=glue_bucket, Key=lake + "drop/dt=2024-01-03/a.parquet", Body=_parquet(id=[3], v=["y"]))
    _run(glue, name)
    assert "DEPRECATED_BY_CRAWLER" not in _tables(glue, database)["drop"]["Parameters"], "data is back: not deprecated"


def test_log_leaves_a_vanished_table_and_its_partitions_as_they_were(aws, glue_bucket, database, lake):
    glue = aws("glue")
    name = _crawler(aws, glue_bucket, database, lake, "LOG")
    _run(glue, name)
    before = _tables(glue, database)["drop"]
    partitions_before = glue.get_partitions(DatabaseName=database, TableName="drop")["Partitions"]
    assert len(partitions_before) == 2

    _remove(aws, glue_bucket, lake + "drop/")
    assert _run(glue, name)["LastCrawl"]["Status"] == "SUCCEEDED"
    after = _tables(glue, database)["drop"]
    assert after["Parameters"] == before["Parameters"] and after["StorageDescriptor"] == before["StorageDescriptor"]
    assert len(glue.get_partitions(DatabaseName=database, TableName="drop")["Partitions"]) == 2
    assert _metrics(glue, name)["TablesDeleted"] == 0
    assert any("table drop: its data is gone; left in the catalog (DeleteBehavior LOG)" in line
               for line in _log(aws, name)), _log(aws, name)


def test_delete_from_database_drops_vanished_partitions_and_then_the_table(aws, glue_bucket, database, lake):
    glue = aws("glue")
    name = _crawler(aws, glue_bucket, database, lake, "DELETE_FROM_DATABASE")
    _run(glue, name)
    _remove(aws, glue_bucket, lake + "drop/dt=2024-01-01/")
    _run(glue, name)
    values = [p["Values"] for p in glue.get_partitions(DatabaseName=database, TableName="drop")["Partitions"]]
    assert values == [["2024-01-02"]], "the partition whose data is gone must leave the catalog"
    assert _metrics(glue, name)["TablesDeleted"] == 0

    _remove(aws, glue_bucket, lake + "drop/")
    _run(glue, name)
    assert set(_tables(glue, database)) == {"keep"}
    assert _metrics(glue, name)["TablesDeleted"] == 1


# -- a crawl in flight ---------------------------------------------------------------------------------------------
@pytest.fixture
def no_faults(local_cloud):
    faults.clear(local_cloud.endpoint_url)
    yield
    faults.clear(local_cloud.endpoint_url)


def test_stop_crawler_on_a_running_crawl_goes_stopping_then_ready_cancelled(aws, local_cloud, glue_bucket, database,
                                                                            lake, no_faults):
    glue = aws("glue")
    name = _crawler(aws, glue_bucket, database, lake, None)
    hold = faults.hold_crawls(local_cloud.endpoint_url, name)
    glue.start_crawler(Name=name)
    running = _state(glue, name)
    assert running["State"] == "RUNNING" and "LastCrawl" not in running, running
    with pytest.raises(glue.exceptions.CrawlerRunningException):
        glue.start_crawler(Name=name)

    glue.stop_crawler(Name=name)
    stopping = _state(glue, name)
    assert stopping["State"] == "STOPPING", stopping
    with pytest.raises(glue.exceptions.CrawlerNotRunningException):
        glue.stop_crawler(Name=name)  # only a RUNNING crawl can be stopped, as on Glue
    with pytest.raises(glue.exceptions.CrawlerRunningException):
        glue.start_crawler(Name=name)
    with pytest.raises(glue.exceptions.CrawlerRunningException):
        glue.delete_crawler(Name=name)
    listed = {f["id"]: f for f in faults.list_faults(local_cloud.endpoint_url)}
    assert listed[hold["id"]]["fired"] == 1, listed

    faults.clear(local_cloud.endpoint_url)  # releases the held crawl, which now sees the stop
    done = _wait(glue, name, lambda c: c["State"] == "READY", "became READY")
    assert done["LastCrawl"]["Status"] == "CANCELLED", done["LastCrawl"]
    assert "ErrorMessage" not in done["LastCrawl"]
    assert _tables(glue, database) == {}, "a cancelled crawl must not write the catalog"
    assert _run(glue, name)["LastCrawl"]["Status"] == "SUCCEEDED"  # and the crawler is usable again
    assert set(_tables(glue, database)) == {"keep", "drop"}


def test_bad_crawl_holds_are_refused():
    for spec, message in [({"service": "glue", "hold_seconds": 5}, "crawler"),
                          ({"service": "glue", "crawler": "c", "hold_seconds": 0}, "hold_seconds"),
                          ({"service": "glue", "crawler": "c", "hold_seconds": True}, "hold_seconds"),
                          ({"service": "glue", "crawler": "c", "hold_seconds": 5, "sql_contains": "x"},
                           "unknown fault field")]:
        with pytest.raises(faults.FaultError, match=message):
            faults.FaultRegistry().add(spec)


def test_crawl_interrupted_by_a_restart_ends_failed_and_the_crawler_is_ready(tmp_path):
    """kill -9 during a crawl: after the restart the crawl is not RUNNING forever; it shows as a failed crawl
    (LastCrawl FAILED saying the local cloud restarted), the crawler is READY and crawls again."""
    cloud = process.start(state_dir=tmp_path / "state", log_file=tmp_path / "cloud.log")
    try:
        client = process.clients(cloud.endpoint_url)
        s3, glue = client("s3"), client("glue")
        s3.create_bucket(Bucket="restart-lake")
        s3.put_object(Bucket="restart-lake", Key="raw/t/a.parquet", Body=_parquet(id=[1]))
        glue.create_database(DatabaseInput={"Name": "restart_db"})
        glue.create_crawler(Name="restarted", Role="r", DatabaseName="restart_db",
                            Targets={"S3Targets": [{"Path": "s3://restart-lake/raw/"}]})
        faults.hold_crawls(cloud.endpoint_url, "restarted")
        glue.start_crawler(Name="restarted")
        assert _state(glue, "restarted")["State"] == "RUNNING"
    finally:
        cloud.stop(signal.SIGKILL)

    cloud = process.start(state_dir=tmp_path / "state", log_file=tmp_path / "cloud.log")
    try:
        glue = boto3.session.Session(region_name="us-east-1").client("glue", endpoint_url=cloud.endpoint_url)
        after = _state(glue, "restarted")
        assert after["State"] == "READY", after
        assert after["LastCrawl"]["Status"] == "FAILED", after["LastCrawl"]
        assert "local cloud restarted" in after["LastCrawl"]["ErrorMessage"], after["LastCrawl"]
        assert after["CrawlElapsedTime"] == 0
        assert glue.get_tables(DatabaseName="restart_db")["TableList"] == []
        assert _run(glue, "restarted")["LastCrawl"]["Status"] == "SUCCEEDED"
        assert [t["Name"] for t in glue.get_tables(DatabaseName="restart_db")["TableList"]] == ["t"]
    finally:
        cloud.stop()
