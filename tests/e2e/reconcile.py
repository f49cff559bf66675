"""Warehouse vs source reconciliation for the end-to-end tests: full row contents with normalised values, an
order-independent checksum per table, and diffs that say which keys and columns differ."""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib

from mwaa_local.redshift_query import query
from mwaa_local.seed import schema
from mwaa_platform.etl import WAREHOUSE_TABLES

TABLES = tuple(WAREHOUSE_TABLES)
STAGING = {table: f"staging.stg_{table}" for table in TABLES}
# Tables whose content must not change when a load fails: the warehouse AND what the load's COPY writes to.
ALL_TARGETS = {**{t: target for t, (target, _) in WAREHOUSE_TABLES.items()},
               **{f"stg_{t}": target for t, target in STAGING.items()}}
# Dirt whose rows share a key with a good row: the good (latest) version of that key must still load.
DEDUPE_REASONS = ("duplicate_row", "superseded_duplicate")
_CENT = decimal.Decimal("0.01")


def columns(table: str) -> list[str]:
    return schema.columns(table.removeprefix("stg_"))


def key_of(table: str) -> str:
    return schema.KEYS[table.removeprefix("stg_")]


def _normalise(kind: str, value):
    """One value as comparable text-free Python: ints, 2-decimal strings, naive-UTC ISO timestamps, strings."""
    if value is None:
        return None
    if kind in ("bigint", "integer"):
        return int(value)
    if kind.startswith("numeric"):
        return str(decimal.Decimal(str(value)).quantize(_CENT))
    if kind == "timestamptz":
        stamp = value if isinstance(value, dt.datetime) else dt.datetime.fromisoformat(str(value))
        if stamp.tzinfo is not None:
            stamp = stamp.astimezone(dt.UTC).replace(tzinfo=None)
        return stamp.isoformat(sep=" ", timespec="microseconds")
    return str(value)


def normalise_row(table: str, row) -> tuple:
    """A row (dict by column name, or a sequence in schema order) as a tuple in schema column order."""
    kinds = schema.TABLES[table.removeprefix("stg_")]
    values = [row[name] for name, _ in kinds] if isinstance(row, dict) else list(row)
    return tuple(_normalise(kind, value) for (_, kind), value in zip(kinds, values, strict=True))


def checksum(rows: list[tuple]) -> str:
    """Order-independent: sha256 over the sorted row digests (duplicates count), plus the row count."""
    digests = sorted(hashlib.sha256(repr(row).encode()).hexdigest() for row in rows)
    return f"{len(rows)}:{hashlib.sha256(''.join(digests).encode()).hexdigest()[:16]}"


class Warehouse:
    def __init__(self, client, workgroup: str, database: str):
        self.client, self.workgroup, self.database = client, workgroup, database

    def sql(self, text: str) -> list[dict]:
        return query(self.client, text, self.workgroup, self.database)

    def rows(self, name: str) -> list[tuple]:
        """Every row of a warehouse or staging table (name: a source table, or stg_<table>), normalised."""
        target = ALL_TARGETS[name]
        cols = columns(name)
        return [normalise_row(name, r) for r in self.sql(f"SELECT {', '.join(cols)} FROM {target}")]

    def table_checksums(self, names=None) -> dict[str, str]:
        return {name: checksum(self.rows(name)) for name in (names or ALL_TARGETS)}

    def duplicate_keys(self, table: str) -> list:
        target, key = WAREHOUSE_TABLES[table]
        return [r["k"] for r in self.sql(f"SELECT {key} AS k FROM {target} GROUP BY {key} HAVING count(*) > 1 LIMIT 20")]


def source_latest(dsn: str, table: str, end: dt.datetime, exclude_keys=()) -> dict:
    """The source's latest state at `end`: rows with updated_at < end, one per (non-null) key, the latest
    updated_at winning; `exclude_keys` are keys the curation must quarantine (bad rows with a key of their own)."""
    import psycopg2

    key, cols = schema.KEYS[table], schema.columns(table)
    sql = (f"SELECT DISTINCT ON ({key}) {', '.join(cols)} FROM {schema.SCHEMA}.{table} "
           f"WHERE {key} IS NOT NULL AND updated_at < %(end)s ORDER BY {key}, updated_at DESC")
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute(sql, {"end": end})
        fetched = cur.fetchall()
    conn.close()
    excluded = set(exclude_keys)
    position = cols.index(key)
    return {row[position]: normalise_row(table, row) for row in fetched if row[position] not in excluded}


def by_key(table: str, rows: list[tuple]) -> dict:
    position = columns(table).index(key_of(table))
    return {row[position]: row for row in rows}


def diff(table: str, expected: dict, actual: dict, limit: int = 10) -> str:
    """'' when equal; else which keys are missing/unexpected and, per differing key, which columns differ."""
    if expected == actual:
        return ""
    cols = columns(table)
    missing = sorted(set(expected) - set(actual))
    extra = sorted(set(actual) - set(expected))
    changed = sorted(k for k in set(expected) & set(actual) if expected[k] != actual[k])
    lines = [f"{table}: expected {len(expected)} rows, warehouse has {len(actual)}; "
             f"{len(missing)} missing, {len(extra)} unexpected, {len(changed)} differ"]
    if missing:
        lines.append(f"  missing keys (first {limit}): {missing[:limit]}")
    if extra:
        lines.append(f"  unexpected keys (first {limit}): {extra[:limit]}")
    for k in changed[:limit]:
        cells = [f"{c}: source={e!r} warehouse={a!r}" for c, e, a in zip(cols, expected[k], actual[k], strict=True)
                 if e != a]
        lines.append(f"  key {k}: " + "; ".join(cells))
    return "\n".join(lines)


def checksum_diff(before: dict[str, str], after: dict[str, str]) -> str:
    changed = {name: (before.get(name), after.get(name)) for name in set(before) | set(after)
               if before.get(name) != after.get(name)}
    return "\n".join(f"  {name}: {b} -> {a}  (rows:hash)" for name, (b, a) in sorted(changed.items()))
