"""Units of the Glue emulation without a cloud process: arguments, timeout arithmetic, getResolvedOptions, type
inference, exclusion globs, and the crawler state machine driven in-process."""

from __future__ import annotations

import importlib
import sys
import threading

import pyarrow as pa
import pytest

from mwaa_local.cloud.glue import arguments, crawler, runner


def test_timeout_is_in_minutes(monkeypatch):
    monkeypatch.delenv(arguments.TIMEOUT_UNIT_ENV, raising=False)
    assert arguments.timeout_seconds(1) == 60
    assert arguments.timeout_seconds(None) == 2880 * 60  # Glue's default: 48 hours
    assert arguments.timeout_seconds(3, unit_seconds=1) == 3
    monkeypatch.setenv(arguments.TIMEOUT_UNIT_ENV, "0.5")
    assert arguments.timeout_seconds(4) == 2


def test_arguments_overlay_and_command_line():
    resolved = arguments.resolved_arguments({"--a": "1", "--b": 2}, {"--a": "run"}, {"--b": "locked"})
    assert resolved == {"--a": "run", "--b": "locked"}
    assert arguments.command_line("j", "jr_1", {"--a": "x", "b": "y", "--JOB_NAME": "spoof"}) == [
        "--JOB_NAME", "j", "--JOB_RUN_ID", "jr_1", "--a", "x", "--b", "y"]


def test_missing_modules():
    assert arguments.missing_modules("pandas, pyarrow>=1") == []
    assert arguments.missing_modules("no-such-dist-xyz") == ["no-such-dist-xyz"]
    assert arguments.missing_modules("pandas<1")[0].startswith("pandas<1 (installed: ")
    assert "wheels" in arguments.missing_modules("s3://b/x.whl")[0]


def test_error_message_takes_the_exception_lines():
    stderr = ["Traceback (most recent call last):\n", '  File "x.py", line 1\n', "    raise E\n",
              "KeyError: 'id'\n"]
    assert arguments.error_message(stderr, 1) == "KeyError: 'id'"
    assert arguments.error_message(["warning\n", "fatal: disk full\n"], 1) == "warning\nfatal: disk full"
    assert arguments.error_message([], 3) == "the script exited with code 3"


@pytest.fixture
def awsglue_utils(monkeypatch):
    monkeypatch.syspath_prepend(str(runner.SHIM))
    yield importlib.import_module("awsglue.utils")
    for name in [m for m in sys.modules if m == "awsglue" or m.startswith("awsglue.")]:
        del sys.modules[name]


def test_get_resolved_options_as_on_glue(awsglue_utils):
    argv = ["script.py", "--JOB_NAME", "j", "--JOB_RUN_ID", "jr_1", "--day", "2024-01-01", "--unrelated", "x"]
    options = awsglue_utils.getResolvedOptions(argv, ["JOB_NAME", "day"])
    assert options["JOB_NAME"] == "j" and options["day"] == "2024-01-01" and "unrelated" not in options
    with pytest.raises(awsglue_utils.GlueArgumentError, match="--missing"):
        awsglue_utils.getResolvedOptions(argv, ["missing"])
    with pytest.raises(RuntimeError, match="reserved"):
        awsglue_utils.getResolvedOptions(argv, ["job-bookmark-option"])


def test_glue_types():
    assert crawler.glue_type(pa.int64()) == "bigint"
    assert crawler.glue_type(pa.int32()) == "int"
    assert crawler.glue_type(pa.decimal128(12, 2)) == "decimal(12,2)"
    assert crawler.glue_type(pa.timestamp("us", tz="UTC")) == "timestamp"
    assert crawler.glue_type(pa.list_(pa.struct([("a", pa.int8()), ("b", pa.string())]))) == \
        "array<struct<a:tinyint,b:string>>"
    assert crawler.glue_type(pa.map_(pa.string(), pa.float64())) == "map<string,double>"
    assert crawler.glue_type(pa.null()) == "string"
    assert crawler.merge_columns([("a", "int"), ("b", "date")], [("b", "timestamp"), ("c", "string"),
                                                                 ("a", "double")]) == [
        ("a", "double"), ("b", "timestamp"), ("c", "string")]
    assert crawler.wider("bigint", "string") == "string"


def test_exclusion_globs():
    assert crawler.glob_regex("tmp/**").match("tmp/a/b.csv")
    assert crawler.glob_regex("*.csv").match("a.csv") and not crawler.glob_regex("*.csv").match("d/a.csv")
    assert crawler.glob_regex("**.csv").match("d/a.csv")
    assert crawler.glob_regex("{a,b}/*").match("b/x") and not crawler.glob_regex("{a,b}/*").match("c/x")


def test_table_names_as_glue_spells_them():
    assert crawler.table_name("Order-Items", "raw_") == "raw_order_items"


# -- the crawler state machine, in-process against moto's backends ---------------------------------------------
@pytest.fixture
def crawls(monkeypatch):
    from mwaa_local.cloud import moto_state
    from mwaa_local.cloud.context import CloudContext
    from mwaa_local.cloud.glue.crawls import Crawls
    from mwaa_local.cloud.state import StateStore

    context = CloudContext(store=StateStore(None), endpoint_url="http://unused")
    glue = moto_state.backend("glue")
    glue.create_database("unit_db", {"Name": "unit_db"})
    glue.create_crawler("unit-crawler", "r", "unit_db", "", {"S3Targets": [{"Path": "s3://unit-bucket/x/"}]},
                        "", [], "", {}, {}, {}, "", "", {})
    yield Crawls(context)
    glue.delete_crawler("unit-crawler")
    glue.delete_database("unit_db")


def test_crawler_goes_running_stopping_ready_and_refuses_a_second_start(crawls, monkeypatch):
    from mwaa_local.cloud.glue import catalog
    from mwaa_local.cloud.service import ServiceError

    scanning, writing, release_scan, release_write = (threading.Event() for _ in range(4))

    def slow_scan(*args, **kwargs):
        scanning.set()
        release_scan.wait(10)
        return {}

    def slow_apply(*args, **kwargs):
        writing.set()
        release_write.wait(10)
        return catalog.CatalogChanges()

    monkeypatch.setattr(crawler, "scan", slow_scan)
    monkeypatch.setattr(catalog, "apply", slow_apply)
    crawls.start("unit-crawler")
    assert scanning.wait(10)
    assert crawls.describe("unit-crawler")["State"] == "RUNNING"
    with pytest.raises(ServiceError) as raised:
        crawls.start("unit-crawler")
    assert raised.value.code == "CrawlerRunningException"
    release_scan.set()
    assert writing.wait(10)
    assert crawls.describe("unit-crawler")["State"] == "STOPPING"
    release_write.set()
    for _ in range(200):
        described = crawls.describe("unit-crawler")
        if described["State"] == "READY":
            break
        threading.Event().wait(0.05)
    assert described["State"] == "READY" and described["LastCrawl"]["Status"] == "SUCCEEDED"


def test_stop_crawler_cancels_the_crawl(crawls, monkeypatch):
    scanning, stopped = threading.Event(), threading.Event()

    def scan(s3, targets, prefix, should_stop):
        scanning.set()
        stopped.wait(10)
        assert should_stop()
        return {}

    monkeypatch.setattr(crawler, "scan", scan)
    crawls.start("unit-crawler")
    assert scanning.wait(10)
    crawls.stop("unit-crawler")
    assert crawls.describe("unit-crawler")["State"] == "STOPPING"
    stopped.set()
    for _ in range(200):
        described = crawls.describe("unit-crawler")
        if described["State"] == "READY":
            break
        threading.Event().wait(0.05)
    assert described["LastCrawl"]["Status"] == "CANCELLED"
