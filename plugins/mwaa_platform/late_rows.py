"""Late-arriving rows: the per-table lookback from include/config, and which rows of a lookback are late.

A row is LATE when its updated_at falls in an interval whose extract already ran (its raw partition exists) but
that extract did not contain it (the row committed after it, a replica lagged, an app backdated updated_at).
Each extract re-reads the `lookback` before its interval start (key and updated_at only) and compares with the
raw partitions of those days: rows missing from them are extracted into this interval's raw prefix as
`late-<table>.parquet` and flow through curation and the MERGE like any row. The MERGE keeps the newer updated_at,
so a late row older than the warehouse's version of its key never overwrites it, and a re-run finds the same
late rows again (the same raw bytes, the same warehouse).

Rows without a key cannot be matched to what was extracted, so the lookback ignores them (on time, they are
quarantined as null_key; late, they are not extracted at all).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mwaa_platform.extract import TABLES


class LookbackConfigError(ValueError):
    """include/config's extract settings are unusable; the message says which one and how to fix it."""


def lookbacks(config: dict[str, Any], environment: str = "this environment") -> dict[str, dt.timedelta]:
    """Per source table, how far before its interval start each extract looks for late rows.

    Reads `extract.lookback_hours` (every table, whole hours >= 0; 0 turns the lookback off) and
    `extract.raw_retention_days` (how long raw/ is kept: the lookback compares with raw partitions, so it must not
    reach past them). Raises LookbackConfigError naming the setting, never skips a table silently."""
    where = f"include/config/platform.yaml, environment {environment!r}"
    section = config.get("extract")
    if not isinstance(section, dict):
        raise LookbackConfigError(f"{where}: missing the `extract` section (lookback_hours per table, "
                                  "raw_retention_days)")
    retention = section.get("raw_retention_days")
    if isinstance(retention, bool) or not isinstance(retention, int) or retention < 1:
        raise LookbackConfigError(f"{where}: extract.raw_retention_days must be a whole number of days >= 1, "
                                  f"got {retention!r}")
    hours = section.get("lookback_hours")
    if not isinstance(hours, dict):
        raise LookbackConfigError(f"{where}: extract.lookback_hours must map each table "
                                  f"({', '.join(TABLES)}) to hours, got {hours!r}")
    unknown = sorted(set(map(str, hours)) - set(TABLES))
    if unknown:
        raise LookbackConfigError(f"{where}: extract.lookback_hours names unknown table(s) {', '.join(unknown)}; "
                                  f"the extracted tables are {', '.join(TABLES)}")
    missing = [t for t in TABLES if t not in hours]
    if missing:
        raise LookbackConfigError(f"{where}: extract.lookback_hours has no entry for {', '.join(missing)} "
                                  "(0 turns the lookback off for a table)")
    result = {}
    for table in TABLES:
        value = hours[table]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise LookbackConfigError(f"{where}: extract.lookback_hours.{table} must be a whole number of hours "
                                      f">= 0, got {value!r}")
        if value > retention * 24:
            raise LookbackConfigError(
                f"{where}: extract.lookback_hours.{table} is {value} h, longer than raw data is kept "
                f"(extract.raw_retention_days {retention} = {retention * 24} h): late rows are found by comparing "
                "with the raw extracts of the lookback; shorten the lookback or keep raw data longer")
        result[table] = dt.timedelta(hours=value)
    return result


def check_environments(environments: dict[str, dict]) -> dict[str, dict[str, dt.timedelta]]:
    """Validates every environment of platform.yaml (the parse-free check the unit tests run)."""
    return {name: lookbacks(values, name) for name, values in environments.items()}


def lookback_days(start: dt.datetime, lookback: dt.timedelta) -> list[dt.date]:
    """The days (raw partitions) the lookback window [start - lookback, start) touches, oldest first."""
    if lookback <= dt.timedelta(0):
        return []
    first, last = (start - lookback).date(), (start - dt.timedelta(microseconds=1)).date()
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


def find_late(window, seen, key: str, extracted_days: list[dt.date]):
    """(key, updated_at) pairs of `window` (the source's versions in the lookback) that fall in an extracted day
    but are not in `seen` (the versions the raw partitions of those days hold). All pyarrow tables; the result
    is sorted by key and updated_at."""
    import pyarrow as pa
    import pyarrow.compute as pc

    pairs = window.select([key, "updated_at"]).filter(pc.is_valid(window[key]))
    days = pc.cast(pc.cast(pairs["updated_at"], pa.timestamp("us", tz="UTC")), pa.date32())
    pairs = normalised(pairs.filter(pc.is_in(days, value_set=pa.array(extracted_days, pa.date32()))), key)
    if pairs.num_rows:
        key_type = pairs.schema.field(key).type
        pairs = pairs.join(normalised(seen, key, key_type), keys=[key, "updated_at"], join_type="left anti")
    return pairs.sort_by([(key, "ascending"), ("updated_at", "ascending")])


def normalised(table, key: str, key_type=None):
    """(key, updated_at as int64 UTC microseconds): joins then compare instants, not time zones or units."""
    import pyarrow as pa
    import pyarrow.compute as pc

    micros = pc.cast(pc.cast(table["updated_at"], pa.timestamp("us", tz="UTC")), pa.int64())
    keys = table[key] if key_type is None else pc.cast(table[key], key_type)
    return pa.table({key: keys, "updated_at": micros})


def late_by_day(late) -> dict[str, int]:
    """{'YYYY-MM-DD': rows} by the day of updated_at (int64 UTC microseconds, as find_late returns it)."""
    counts: dict[str, int] = {}
    for micros in late["updated_at"].to_pylist():
        day = (dt.datetime(1970, 1, 1) + dt.timedelta(microseconds=micros)).date().isoformat()
        counts[day] = counts.get(day, 0) + 1
    return dict(sorted(counts.items()))
