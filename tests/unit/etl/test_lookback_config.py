"""The late-row lookback's configuration check (no DAG parse, no network) and the late-row arithmetic."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
import yaml

from mwaa_platform import late_rows
from mwaa_platform.paths import include_path

TABLES = ("customers", "products", "orders", "order_items")


def _config(**lookback) -> dict:
    hours = dict.fromkeys(TABLES, 48) | lookback
    return {"extract": {"raw_retention_days": 30, "lookback_hours": hours}}


def test_every_environment_of_the_repository_config_is_valid():
    environments = yaml.safe_load(include_path("config", "platform.yaml").read_text())["environments"]
    checked = late_rows.check_environments(environments)
    assert set(checked) == set(environments) and {"local", "production"} <= set(checked)
    assert all(set(lookbacks) == set(TABLES) for lookbacks in checked.values())
    assert checked["local"]["orders"] == dt.timedelta(hours=48)


@pytest.mark.parametrize(("config", "message"), [
    (_config(orders=-1), "extract.lookback_hours.orders must be a whole number of hours >= 0, got -1"),
    (_config(orders=1.5), "extract.lookback_hours.orders must be a whole number of hours >= 0, got 1.5"),
    (_config(orders="48"), "extract.lookback_hours.orders must be a whole number of hours >= 0, got '48'"),
    (_config(orders=True), "extract.lookback_hours.orders must be a whole number of hours >= 0, got True"),
    (_config(orders=721), "extract.lookback_hours.orders is 721 h, longer than raw data is kept "
                          "(extract.raw_retention_days 30 = 720 h)"),
    (_config(ordres=24), "extract.lookback_hours names unknown table(s) ordres; the extracted tables are"),
    ({"extract": {"raw_retention_days": 30, "lookback_hours": {"orders": 1}}},
     "extract.lookback_hours has no entry for customers, products, order_items (0 turns the lookback off"),
    ({"extract": {"raw_retention_days": 0, "lookback_hours": dict.fromkeys(TABLES, 0)}},
     "extract.raw_retention_days must be a whole number of days >= 1, got 0"),
    ({"extract": {"raw_retention_days": 30, "lookback_hours": None}}, "extract.lookback_hours must map each table"),
    ({}, "missing the `extract` section"),
])
def test_bad_lookback_configuration_is_a_one_line_error_naming_the_setting(config, message):
    with pytest.raises(late_rows.LookbackConfigError) as caught:
        late_rows.lookbacks(config, "staging")
    text = str(caught.value)
    assert message in text and "environment 'staging'" in text and "\n" not in text, text


def test_a_lookback_equal_to_the_retention_and_zero_are_accepted():
    checked = late_rows.lookbacks(_config(orders=720, products=0))
    assert checked["orders"] == dt.timedelta(days=30) and checked["products"] == dt.timedelta(0)


def test_lookback_days_are_the_partitions_the_window_touches():
    start = dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
    assert late_rows.lookback_days(start, dt.timedelta(hours=48)) == [dt.date(2026, 3, 1), dt.date(2026, 3, 2)]
    assert late_rows.lookback_days(start, dt.timedelta(hours=1)) == [dt.date(2026, 3, 2)]
    assert late_rows.lookback_days(start, dt.timedelta(hours=25)) == [dt.date(2026, 3, 1), dt.date(2026, 3, 2)]
    assert late_rows.lookback_days(start, dt.timedelta(0)) == []


def _versions(rows, tz="UTC"):
    return pa.table({"order_id": pa.array([k for k, _ in rows], pa.int64()),
                     "updated_at": pa.array([t for _, t in rows], pa.timestamp("us", tz=tz))})


def test_late_rows_are_the_versions_of_extracted_days_missing_from_raw():
    at = lambda day, hour: dt.datetime(2026, 3, day, hour, tzinfo=dt.UTC)  # noqa: E731
    window = _versions([(1, at(1, 10)), (2, at(1, 11)), (3, at(2, 9)), (4, at(2, 10)), (None, at(1, 12)),
                        (5, at(1, 13))])
    # raw holds 1 and 3 at those versions, 5 at an OLDER version (so 5's newer version is late too)
    seen = _versions([(1, at(1, 10)), (3, at(2, 9)), (5, at(1, 1))])
    late = late_rows.find_late(window, seen, "order_id", [dt.date(2026, 3, 1), dt.date(2026, 3, 2)])
    assert late["order_id"].to_pylist() == [2, 4, 5]  # the key-less row cannot be matched and is left out
    assert late_rows.late_by_day(late) == {"2026-03-01": 2, "2026-03-02": 1}
    # a day whose interval was never extracted has no late rows: its own run will extract them
    only_first = late_rows.find_late(window, seen, "order_id", [dt.date(2026, 3, 1)])
    assert only_first["order_id"].to_pylist() == [2, 5]


def test_versions_compare_as_instants_whatever_the_time_unit_or_zone():
    at = dt.datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=dt.UTC)
    window = _versions([(1, at)])
    seen = pa.table({"order_id": pa.array([1], pa.int32()),
                     "updated_at": pa.array([at.replace(tzinfo=None)], pa.timestamp("ns", tz="Europe/Paris"))
                     .cast(pa.timestamp("ns", tz="Europe/Paris"))})
    assert late_rows.find_late(window, seen, "order_id", [at.date()]).num_rows == 0
