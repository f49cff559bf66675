"""The retail ETL DAG end to end through the local cloud (issue 5's acceptance), on one shared stack.

The tests run IN ORDER on one warehouse (each DAG run costs ~20 s; the module makes 7):
  clean intervals 0, 1 -> re-run interval 1 twice -> dirty interval 2 -> gate breach on interval 3 -> an injected
  failure between COPY and MERGE (directly, then through the DAG with Airflow's retry) on interval 3.
The steps later tests build on: clean -> dirty -> breach -> fault_retry (the re-runs and the direct batch leave
the warehouse as they found it).
A test run alone (-k) first establishes the steps it builds on (_establish_*: the DAG runs, checked only for
their outcome), so it proves the same thing; a step that failed earlier in the session fails the tests after it.
"""

from __future__ import annotations

import collections
import datetime as dt
import re
import time

import pytest

from mwaa_local import etl_report
from mwaa_local.cloud import faults
from mwaa_local.seed import dirt, schema
from tests.e2e import reconcile

pytestmark = pytest.mark.e2e

FAULT_SQL = "MERGE INTO analytics.fact_orders"
FAULT_MESSAGE = "connection to the leader node lost between COPY and MERGE"
BREACH_AMOUNT = "2000000.00"  # >= 0 so the curation accepts it; above the orders suite's max_value 1,000,000


def _interval_counts(etl, day: dt.date) -> dict[str, dict]:
    """Rows per stage for one interval, each counted independently: the source rows in the interval, the raw
    Parquet the extract wrote, the curated and quarantine Parquet, the job's own report, and staging (loaded)."""
    source = etl.source_in_interval(day)
    reports = etl_report.curate_counts(etl.s3, etl.bucket, day)
    counts = {}
    for table in schema.TABLES:
        stage = {area: etl.parquet_rows(f"{area}/{table}/dt={day.isoformat()}/") for area in
                 ("raw", "curated", "quarantine")}
        counts[table] = {
            "source": source[table],
            **{area: (t.num_rows if t is not None else None) for area, t in stage.items()},
            "report": reports[table],
            "loaded": etl.warehouse.sql(f"SELECT count(*) AS n FROM staging.stg_{table}")[0]["n"],
        }
    return counts


def _assert_rows_in_equal_rows_out(etl, day: dt.date) -> dict[str, dict]:
    counts = _interval_counts(etl, day)
    problems = []
    for table, c in counts.items():
        report = c["report"]
        checks = {
            "raw Parquet rows == source rows in the interval": c["raw"] == c["source"],
            "report rows_in == raw Parquet rows": report["rows_in"] == c["raw"],
            "report rows_valid == curated Parquet rows": report["rows_valid"] == c["curated"],
            "report rows_quarantined == quarantine Parquet rows": report["rows_quarantined"] == c["quarantine"],
            "extracted == curated + quarantined": c["raw"] == c["curated"] + c["quarantine"],
            "loaded into staging == curated": c["loaded"] == c["curated"],
        }
        problems += [f"{table}: {what} is false ({ {k: v for k, v in c.items() if k != 'report'} })"
                     for what, ok in checks.items() if not ok]
    print(f"interval {day}: " + "; ".join(
        f"{t} src={c['source']} raw={c['raw']} curated={c['curated']} quarantined={c['quarantine']} "
        f"loaded={c['loaded']}" for t, c in counts.items()))
    assert not problems, "\n".join(problems)
    return counts


def _load_batches(etl, status: str = "ALL") -> list[dict]:
    """The warehouse loads the Redshift Data API has seen (batches that MERGE into fact_orders), oldest first."""
    found, token = [], None
    while True:
        page = etl.redshift.list_statements(Status=status, MaxResults=100, **({"NextToken": token} if token else {}))
        found += [s for s in page["Statements"] if s.get("IsBatchStatement")
                  and any(FAULT_SQL in q for q in s.get("QueryStrings", []))]
        token = page.get("NextToken")
        if not token:
            return sorted(found, key=lambda s: s["CreatedAt"])


def _stamps(log: str, text: str) -> list[dt.datetime]:
    """Timestamps of the log lines containing `text` (dag.test logs '<ISO time>Z [level] ...')."""
    return [dt.datetime.fromisoformat(line.split()[0].rstrip("Z")) for line in log.splitlines()
            if f"[DAG TEST] {text}" in line]


def _assert_ok(etl, result) -> None:
    assert result.ok, f"run {result.state}; tasks {result.tasks}\nlog tail:\n{etl.log_tail(result)}"


# ---- the steps later tests build on: the DAG runs, with the checks that they happened as intended -------------

def _run_clean_intervals(etl, check=None) -> None:
    """Step "clean": intervals 0 and 1 load; `check(day)` runs after each (staging holds one interval only)."""
    for n in (0, 1):
        day = etl.day(n)
        result = etl.run(day)
        _assert_ok(etl, result)
        if check:
            check(day)


def _run_dirty(etl):
    """Step "dirty" (after "clean"): every kind of dirt injected into interval 2, which must still load its good
    rows. Later tests reconcile the warehouse at interval 3, so they build on interval 2 being loaded."""
    entries = dirt.apply(etl.dsn, etl.plan, "all", 2)
    etl.dirt += entries
    result = etl.run(etl.day(2))
    _assert_ok(etl, result)
    return entries


def _run_breach(etl):
    """Step "breach" (after "dirty"): a new order that passes every curation rule (amount >= 0, ISO currency,
    known status) but breaches the orders suite's expect_column_values_to_be_between(total_amount, max_value=1e6);
    interval 3 then fails at the gate, curated but not loaded."""
    day = etl.day(3)
    lo = dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)
    (breach_id,) = etl.source_sql(
        f"INSERT INTO {schema.SCHEMA}.orders (order_id, customer_id, status, currency, total_amount, created_at, "
        f"updated_at) SELECT max(order_id) + 1, 1, 'paid', 'USD', {BREACH_AMOUNT}, %(at)s, %(at)s "
        f"FROM {schema.SCHEMA}.orders RETURNING order_id", {"at": lo})[0]
    etl.breach_order_id = breach_id
    result = etl.run(day)
    assert result.state == "failed", f"a breached gate must fail the run; got {result.state} {result.tasks}"
    assert result.tasks.get("quality_gate_orders") == "failed", result.tasks
    return result


def _run_fault_retry(etl):
    """Step "fault_retry" (after "breach"): the source fixes the breaching order and interval 3 re-runs with a
    one-shot fault armed on the MERGE into fact_orders; Airflow's retry of load_warehouse must load it."""
    etl.source_sql(f"UPDATE {schema.SCHEMA}.orders SET total_amount = 123.45 WHERE order_id = %s",
                   (etl.breach_order_id,))
    faults.clear(etl.endpoint_url)
    fault = faults.add(etl.endpoint_url, "redshift-data", FAULT_SQL, times=1, message=FAULT_MESSAGE)
    result = etl.run(etl.day(3))
    _assert_ok(etl, result)
    return result, fault


def _establish_clean(etl) -> None:
    _run_clean_intervals(etl)


def _establish_dirty(etl) -> None:
    etl.require("clean", _establish_clean)
    _run_dirty(etl)


def _establish_breach(etl) -> None:
    etl.require("dirty", _establish_dirty)
    _run_breach(etl)


def _establish_fault_retry(etl) -> None:
    etl.require("breach", _establish_breach)
    _run_fault_retry(etl)


# ---- the tests, in order ------------------------------------------------------------------------------------------

def test_two_clean_intervals_load_exactly_the_source_latest_state(etl):
    def check(day):
        counts = _assert_rows_in_equal_rows_out(etl, day)
        assert all(c["quarantine"] == 0 for c in counts.values()), f"a clean interval quarantined rows: {counts}"
        assert counts["orders"]["source"] > 0 and counts["order_items"]["source"] > 0
        etl.assert_warehouse_equals_source(day)

    etl.begin("clean")
    _run_clean_intervals(etl, check)
    etl.done("clean")


def test_running_an_interval_three_times_changes_nothing(etl):
    etl.require("clean", _establish_clean)
    day = etl.day(1)
    before = etl.warehouse.table_checksums()
    merges_before = len(_load_batches(etl, "FINISHED"))
    for attempt in (2, 3):
        result = etl.run(day)
        _assert_ok(etl, result)
        after = etl.warehouse.table_checksums()
        assert after == before, f"run {attempt} of {day} changed the warehouse:\n{reconcile.checksum_diff(before, after)}"
        duplicates = {t: keys for t in reconcile.TABLES if (keys := etl.warehouse.duplicate_keys(t))}
        assert not duplicates, f"duplicate keys after run {attempt} of {day}: {duplicates}"
    # the re-runs really loaded again (COPY + MERGE ran twice more), they did not just skip
    assert len(_load_batches(etl, "FINISHED")) == merges_before + 2
    etl.assert_warehouse_equals_source(day)
    etl.done("rerun")


def test_dirty_interval_quarantines_each_bad_row_with_its_reason_and_loads_the_good_ones(etl):
    etl.require("clean", _establish_clean)
    etl.begin("dirty")
    day = etl.day(2)
    entries = _run_dirty(etl)
    expected = dirt.expected_quarantine(entries)
    assert expected, "the dirt injected nothing to quarantine: the test would prove nothing"

    counts = _assert_rows_in_equal_rows_out(etl, day)

    reported = {(t, reason): n for t, c in counts.items() for reason, n in c["report"]["quarantined_by_reason"].items()}
    assert reported == expected, (f"quarantine by (table, reason) differs from the injected dirt:\n"
                                  f"  missing/short: { {k: v for k, v in expected.items() if reported.get(k) != v} }\n"
                                  f"  reported: {reported}")

    # the quarantine Parquet itself: one reject_reason per row, and exactly the rows (keys) the dirt wrote
    expected_keys = collections.defaultdict(set)
    for entry in entries:
        if entry["reason"]:
            expected_keys[(entry["table"], entry["reason"])].update(str(k) for k in entry["keys"])
    for table in schema.TABLES:
        quarantine = etl.parquet_rows(f"quarantine/{table}/dt={day.isoformat()}/")
        assert quarantine is not None and "reject_reason" in quarantine.column_names, f"{table}: no quarantine Parquet"
        rows = quarantine.to_pylist()
        assert all(r["reject_reason"] for r in rows), f"{table}: quarantined rows without a reject_reason"
        by_reason = collections.Counter(r["reject_reason"] for r in rows)
        assert by_reason == collections.Counter({r: n for (t, r), n in expected.items() if t == table}), (
            f"{table}: quarantine Parquet reasons {dict(by_reason)}")
        key = schema.KEYS[table]
        for reason in by_reason:
            keys = {r[key] for r in rows if r["reject_reason"] == reason and r[key] is not None}
            assert keys == expected_keys[(table, reason)], (
                f"{table}/{reason}: quarantined keys {sorted(keys)} != injected {sorted(expected_keys[(table, reason)])}")

    # good rows loaded: late updates applied, schema-drift rows loaded, every other row as in the source
    late = next(e for e in entries if e["kind"] == "late_updates")
    refunded = etl.warehouse.sql("SELECT order_id FROM analytics.fact_orders WHERE status = 'refunded' AND order_id IN ("
                                 + ", ".join(map(str, late["keys"])) + ")")
    assert {r["order_id"] for r in refunded} == set(late["keys"]), "late updates of earlier orders were not loaded"
    etl.assert_warehouse_equals_source(day)
    etl.done("dirty")


def test_gate_breach_fails_the_run_naming_the_expectation_and_leaves_the_warehouse_as_it_was(etl):
    etl.require("dirty", _establish_dirty)
    etl.begin("breach")
    day = etl.day(3)
    before = etl.warehouse.table_checksums()

    result = _run_breach(etl)
    breach_id = etl.breach_order_id
    assert result.tasks.get("load_warehouse") == "upstream_failed", result.tasks
    assert all(result.tasks.get(f"quality_gate_{t}") == "success" for t in ("customers", "products", "order_items"))
    # the curation let it through (the gate, not the curation, must catch it)
    curated = etl.parquet_rows(f"curated/orders/dt={day.isoformat()}/").to_pylist()
    assert any(r["order_id"] == breach_id for r in curated), "the breach row did not reach curated: wrong test setup"

    log = result.log_file.read_text()
    named = [line for line in log.splitlines()
             if "expect_column_values_to_be_between" in line and "total_amount" in line]
    assert named, f"the task log does not name the breached expectation:\n{etl.log_tail(result)}"
    print("gate failure in the log:", named[0].strip()[:300])

    after = etl.warehouse.table_checksums()
    assert after == before, f"the failed run changed the warehouse:\n{reconcile.checksum_diff(before, after)}"
    etl.done("breach")


def _wait_statement(etl, statement_id: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        described = etl.redshift.describe_statement(Id=statement_id)
        if described["Status"] in ("FINISHED", "FAILED", "ABORTED"):
            return described
        assert time.monotonic() < deadline, f"statement {statement_id} still {described['Status']}"
        time.sleep(0.1)


def test_failure_between_copy_and_merge_rolls_back_the_whole_batch(etl):
    """Directly through the Redshift Data API: the DAG's own batch for interval 3 with the fault armed."""
    from mwaa_platform.etl import warehouse_batch

    # interval 3 is curated (with the breach row) but not loaded: its COPYs change staging
    etl.require("breach", _establish_breach)
    etl.begin("fault_direct")
    faults.clear(etl.endpoint_url)
    fault = faults.add(etl.endpoint_url, "redshift-data", FAULT_SQL, times=1, message=FAULT_MESSAGE)
    before = etl.warehouse.table_checksums()

    batch = warehouse_batch(etl.day(3).isoformat())
    statement_id = etl.redshift.batch_execute_statement(
        Sqls=batch, WorkgroupName=etl.warehouse.workgroup, Database=etl.warehouse.database)["Id"]
    described = _wait_statement(etl, statement_id)

    assert described["Status"] == "FAILED" and FAULT_MESSAGE in described.get("Error", ""), described
    subs = described["SubStatements"]
    merge_at = next(i for i, q in enumerate(batch) if q.startswith(FAULT_SQL))
    copy_at = next(i for i, q in enumerate(batch) if q.startswith("COPY staging.stg_orders"))
    assert copy_at < merge_at
    assert subs[copy_at]["Status"] == "FINISHED" and subs[copy_at]["ResultRows"] > 0, (
        f"the COPY before the MERGE must have run in the batch: {subs[copy_at]}")
    assert subs[merge_at]["Status"] == "FAILED" and FAULT_MESSAGE in subs[merge_at]["Error"], subs[merge_at]
    assert all(s["Status"] == "FINISHED" for s in subs[:merge_at]), [s["Status"] for s in subs]
    assert all(s["Status"] == "ABORTED" for s in subs[merge_at + 1:]), [s["Status"] for s in subs]

    after = etl.warehouse.table_checksums()
    assert after == before, ("the failed batch left a partial load (its COPY/MERGEs were not rolled back):\n"
                             + reconcile.checksum_diff(before, after))
    listed = {f["id"]: f for f in faults.list_faults(etl.endpoint_url)}
    assert listed[fault["id"]]["fired"] == 1 and listed[fault["id"]]["remaining"] == 0, listed
    etl.done("fault_direct")


def test_injected_failure_between_copy_and_merge_is_retried_by_airflow_and_the_retry_loads(etl):
    etl.require("breach", _establish_breach)
    etl.begin("fault_retry")
    day = etl.day(3)
    failed_before = len(_load_batches(etl, "FAILED"))

    # the source team fixes the breaching order; the re-run of the interval must now load it
    result, fault = _run_fault_retry(etl)
    log = result.log_file.read_text()
    flat = re.sub(r"'\s*\n\s*'", "", log)  # the provider pretty-prints the error over several quoted lines
    assert FAULT_MESSAGE in flat, f"the task log does not show the injected failure:\n{etl.log_tail(result)}"
    starts = _stamps(log, "starting task_id=load_warehouse")
    ends = _stamps(log, "end task task_id=load_warehouse")
    assert len(starts) == len(ends) == 2, (
        f"load_warehouse should fail once and succeed on its retry; it started {len(starts)} times")
    assert starts[0] <= ends[0] <= starts[1] <= ends[1], f"tries overlap or are out of order: {starts} {ends}"
    tries = etl.tries(result, "load_warehouse")
    assert [(t["try_number"], t["state"]) for t in tries] == [(1, "failed"), (2, "success")], tries
    # no timed assertion (shared, noisy machines): the delay is printed; Airflow applies retry_delay_seconds
    print(f"load_warehouse: try 1 failed, try 2 started {(starts[1] - ends[0]).total_seconds():.1f} s later "
          f"(retry_delay_seconds is 5 locally)")
    listed = {f["id"]: f for f in faults.list_faults(etl.endpoint_url)}
    assert listed[fault["id"]]["fired"] == 1, listed
    failed = _load_batches(etl, "FAILED")
    assert len(failed) == failed_before + 1, "the first try's batch should have FAILED in the Data API"
    finished = _load_batches(etl, "FINISHED")
    assert finished[-1]["CreatedAt"] > failed[-1]["CreatedAt"], "no successful load after the failed one"

    _assert_rows_in_equal_rows_out(etl, day)
    etl.assert_warehouse_equals_source(day)
    loaded = etl.warehouse.sql(f"SELECT total_amount FROM analytics.fact_orders WHERE order_id = {etl.breach_order_id}")
    assert [str(r["total_amount"]) for r in loaded] == ["123.45"], loaded
    etl.done("fault_retry")


def test_the_reconciliation_catches_a_tampered_warehouse(etl):
    """Negative control on the real warehouse: one changed cell and one deleted row must be reported by key and
    column, and change the checksum; restoring them makes the warehouse equal the source again."""
    etl.require("fault_retry", _establish_fault_retry)
    day = etl.day(3)
    before = etl.warehouse.table_checksums(["order_items"])
    item = etl.warehouse.sql("SELECT order_item_id, quantity FROM analytics.fact_order_items "
                             "ORDER BY order_item_id LIMIT 1")[0]
    order = etl.warehouse.sql("SELECT * FROM analytics.fact_orders ORDER BY order_id DESC LIMIT 1")[0]
    etl.warehouse.sql(f"UPDATE analytics.fact_order_items SET quantity = quantity + 1 "
                      f"WHERE order_item_id = {item['order_item_id']}")
    etl.warehouse.sql(f"DELETE FROM analytics.fact_orders WHERE order_id = {order['order_id']}")
    try:
        assert etl.warehouse.table_checksums(["order_items"]) != before
        with pytest.raises(AssertionError) as caught:
            etl.assert_warehouse_equals_source(day)
        report = str(caught.value)
        assert f"key {item['order_item_id']}: quantity: source={item['quantity']} " in report, report
        assert f"missing keys (first 10): [{order['order_id']}]" in report, report
    finally:
        etl.warehouse.sql(f"UPDATE analytics.fact_order_items SET quantity = {item['quantity']} "
                          f"WHERE order_item_id = {item['order_item_id']}")
        values = ", ".join("NULL" if v is None else str(v) if isinstance(v, int) else f"'{v}'" for v in order.values())
        etl.warehouse.sql(f"INSERT INTO analytics.fact_orders ({', '.join(order)}) VALUES ({values})")
    assert etl.warehouse.table_checksums(["order_items"]) == before
    etl.assert_warehouse_equals_source(day)
