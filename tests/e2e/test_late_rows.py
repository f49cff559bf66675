"""Late-arriving rows through the whole pipeline (issue 9, item 1): rows committed into an interval AFTER that
interval was extracted are loaded by the next run, re-runs still change nothing, and a late row older than the
warehouse's version of its key never overwrites it.

Its own source database, Airflow home and plan (days in May, so no interval is shared with test_retail_etl),
on the session's local cloud; the warehouse and the lake are emptied before and after this module, so the
other e2e modules start from the state they expect. The tests run IN ORDER (6 DAG runs, ~20 s each):
  intervals 0 and 1 -> rows committed late into interval 0 -> interval 2 loads them (run 3 times) ->
  an older version of a loaded order committed late into interval 1 -> interval 3 leaves the warehouse's.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest

from mwaa_local import etl_report, postgres
from mwaa_local.local_stack import LocalStack
from mwaa_local.seed import load, schema
from mwaa_local.seed.generate import Plan
from tests.e2e import reconcile
from tests.e2e.conftest import ETLHarness, _reset_shared_cloud, interval_end

pytestmark = pytest.mark.e2e

PLAN = Plan(orders=1_200, start=dt.date(2026, 5, 1), days=4, seed=31)
S = schema.SCHEMA


@pytest.fixture(scope="module")
def late(local_cloud, e2e_postgres, tmp_path_factory):
    source_dsn = postgres.create_database("retail_late_rows", e2e_postgres)
    manifest = load.seed(source_dsn, PLAN)
    stack = LocalStack.up(local_cloud.endpoint_url, source_dsn, tmp_path_factory.mktemp("airflow-home-late"))
    harness = ETLHarness(stack, PLAN, manifest)
    _reset_shared_cloud(stack)
    yield harness
    _reset_shared_cloud(stack)
    print(f"\nlate-rows DAG runs: {harness.runs}")


def _ok(harness, day):
    result = harness.run(day)
    assert result.ok, f"run {result.state}; tasks {result.tasks}\nlog tail:\n{harness.log_tail(result)}"
    return result


def _extract_report(harness, table: str, day: dt.date) -> dict:
    key = f"reports/extract/{table}/dt={day.isoformat()}/counts.json"
    return json.loads(harness.s3.get_object(Bucket=harness.bucket, Key=key)["Body"].read())


def _late_keys(harness, table: str, day: dt.date) -> list:
    rows = harness.parquet_rows(f"raw/{table}/dt={day.isoformat()}/late-")
    return [] if rows is None else rows.column(schema.KEYS[table]).to_pylist()


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=dt.UTC)


def test_on_time_intervals_find_no_late_rows(late):
    for n in (0, 1):
        day = late.day(n)
        _ok(late, day)
        late.assert_warehouse_equals_source(day)
        for table in schema.TABLES:
            report = _extract_report(late, table, day)
            assert report["rows_late"] == 0 and report["late_by_day"] == {}, report
            assert report["rows_interval"] == late.source_in_interval(day)[table], report
    # interval 1 compared its lookback with interval 0's raw extract (and found it complete)
    assert _extract_report(late, "orders", late.day(1))["days_compared"] == [late.day(0).isoformat()]
    late.done("on_time")


def test_rows_committed_late_into_an_extracted_interval_are_loaded_by_the_next_run(late):
    late.require("on_time")
    day0, day2 = late.day(0), late.day(2)
    # a transaction that commits now, with updated_at inside interval 0 (already extracted): a new order and its
    # line, and a status change of an interval-0 order (1 minute after its current version)
    new_order = late.source_sql(
        f"INSERT INTO {S}.orders (order_id, customer_id, status, currency, total_amount, created_at, updated_at) "
        f"SELECT max(order_id) + 1, 1, 'paid', 'EUR', 42.10, %(at)s, %(at)s FROM {S}.orders RETURNING order_id",
        {"at": _at(day0, 12)})[0][0]
    new_item = late.source_sql(
        f"INSERT INTO {S}.order_items (order_item_id, order_id, product_id, quantity, unit_price, amount, created_at, "
        f"updated_at) SELECT max(order_item_id) + 1, %(order)s, 1, 2, 21.05, 42.10, %(at)s, %(at)s "
        f"FROM {S}.order_items RETURNING order_item_id", {"order": new_order, "at": _at(day0, 12)})[0][0]
    changed = late.source_sql(
        f"UPDATE {S}.orders SET status = 'cancelled', updated_at = updated_at + interval '1 minute' "
        f"WHERE order_id = (SELECT min(order_id) FROM {S}.orders WHERE updated_at >= %(lo)s AND updated_at < %(hi)s "
        f"AND updated_at < %(hi)s - interval '1 minute' AND status <> 'cancelled') RETURNING order_id",
        {"lo": _at(day0, 0), "hi": interval_end(day0)})[0][0]
    before = late.warehouse.sql(f"SELECT status FROM analytics.fact_orders WHERE order_id = {changed}")
    assert before and before[0]["status"] != "cancelled", before

    _ok(late, day2)
    assert sorted(_late_keys(late, "orders", day2)) == sorted([new_order, changed])
    assert _late_keys(late, "order_items", day2) == [new_item]
    assert _extract_report(late, "orders", day2)["late_by_day"] == {day0.isoformat(): 2}
    summary = etl_report.interval_summary(late.stack, day2)["tables"]
    assert {t: summary[t]["late_rows"] for t in schema.TABLES} == {
        "customers": 0, "products": 0, "orders": 2, "order_items": 1}, summary
    # the late rows went through curation with the interval's own rows (rows in = curated + quarantined)
    assert summary["orders"]["extracted"] == late.source_in_interval(day2)["orders"] + 2
    assert summary["orders"]["extracted"] == summary["orders"]["curated"] + summary["orders"]["quarantined"]

    loaded = late.warehouse.sql(f"SELECT order_id, status, total_amount FROM analytics.fact_orders "
                                f"WHERE order_id IN ({new_order}, {changed}) ORDER BY order_id")
    assert [(r["order_id"], r["status"]) for r in loaded] == sorted(
        [(new_order, "paid"), (changed, "cancelled")]), loaded
    assert late.warehouse.sql(f"SELECT count(*) AS n FROM analytics.fact_order_items "
                              f"WHERE order_item_id = {new_item}")[0]["n"] == 1
    late.assert_warehouse_equals_source(day2)
    late.done("late_loaded")


def test_running_the_interval_with_late_rows_three_times_gives_identical_checksums(late):
    late.require("late_loaded")
    day2 = late.day(2)
    checksums = [late.warehouse.table_checksums()]
    for attempt in (2, 3):
        _ok(late, day2)
        checksums.append(late.warehouse.table_checksums())
        assert checksums[-1] == checksums[0], (f"run {attempt} of {day2} changed the warehouse:\n"
                                               + reconcile.checksum_diff(checksums[0], checksums[-1]))
        # the re-run found the same late rows again and loaded them again: the same warehouse
        assert _extract_report(late, "orders", day2)["rows_late"] == 2
    assert all(not late.warehouse.duplicate_keys(t) for t in reconcile.TABLES)
    late.assert_warehouse_equals_source(day2)
    late.done("reruns")


def test_a_late_row_older_than_the_warehouse_version_never_overwrites_it(late):
    late.require("reruns")
    day1, day3 = late.day(1), late.day(3)
    # an order of interval 1 as the warehouse holds it; an app now writes an OLDER version of it (updated_at
    # 1 hour earlier, still inside interval 1, other values): a late row that lost the race
    (order,) = late.warehouse.sql(
        f"SELECT * FROM analytics.fact_orders WHERE updated_at >= '{_at(day1, 2):%Y-%m-%d %H:%M:%S}' "
        f"AND updated_at < '{interval_end(day1):%Y-%m-%d %H:%M:%S}' ORDER BY order_id LIMIT 1")
    key = order["order_id"]
    late.source_sql(f"UPDATE {S}.orders SET status = 'refunded', total_amount = 1.00, "
                    f"updated_at = updated_at - interval '1 hour' WHERE order_id = %s", (key,))

    _ok(late, day3)
    assert key in _late_keys(late, "orders", day3), "the older version was not picked up as a late row"
    curated = late.parquet_rows(f"curated/orders/dt={day3.isoformat()}/").to_pylist()
    assert any(r["order_id"] == key for r in curated), "the older version should reach curated (it is valid)"
    after = late.warehouse.sql(f"SELECT * FROM analytics.fact_orders WHERE order_id = {key}")
    assert after == [order], f"the older late row overwrote the warehouse's newer version: {after} != {order}"
    # every other row is the source's latest state, and nothing else moved but interval 3's own rows
    expected = reconcile.source_latest(late.dsn, "orders", interval_end(day3), exclude_keys={key})
    actual = {k: v for k, v in reconcile.by_key("orders", late.warehouse.rows("orders")).items() if k != key}
    assert not reconcile.diff("orders", expected, actual)
    late.done("older_late")
