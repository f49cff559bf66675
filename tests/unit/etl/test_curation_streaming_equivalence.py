"""The streaming (DuckDB) curation gives exactly what the whole-table pandas curation gave (issue 17): the same
curated rows in the same order and types, the same quarantined rows with the same reasons, raw text and
source_row, the same report. The oracle is a frozen copy of the old module (curation_before_streaming.py).

Inputs are seeded random raw extracts split over several Parquet files (read order = file order), with the
dirt the curation exists for: duplicate keys (identical copies, older and newer versions, updated_at ties with
different content), null keys and foreign keys, null updated_at, negative amounts and quantities, malformed
decimals/emails/codes/currencies/statuses (including Unicode whitespace and digits), schema drift in some files."""

from __future__ import annotations

import datetime as dt
import decimal
import importlib.util
import random
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mwaa_local import paths

_spec = importlib.util.spec_from_file_location("retail_curation", paths.INCLUDE / "glue" / "retail_curation.py")
rc = sys.modules.setdefault("retail_curation", importlib.util.module_from_spec(_spec))
_spec.loader.exec_module(rc)
_old_spec = importlib.util.spec_from_file_location("curation_before_streaming",
                                                   paths.ROOT / "tests" / "unit" / "etl" / "curation_before_streaming.py")
old = sys.modules.setdefault("curation_before_streaming", importlib.util.module_from_spec(_old_spec))
_old_spec.loader.exec_module(old)

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
ODD_TEXT = ["", " ", "a\u00a0b@x.com", "a b@x.com", "ab@x.c", "AB@X.COM", "x@y.io\n", "usa", "us", "US", "U S",
            "SKU-12345", "SKU-123456", "SKU-\u0661\u0662\u0663\u0664\u0665\u0666", "sku-000001", "EUR", "eur", "XXXX",
            "paid", "PAID", "lost", "placed", None]


def _money(rng: random.Random, as_text: bool):
    roll = rng.random()
    if roll < 0.05:
        return None
    if as_text and roll < 0.15:
        return rng.choice(["3,00", "1.234", "abc", " 7.5 ", "-0.00", "12.", ".5", "1e3", "\u0661.00"])
    value = decimal.Decimal(rng.randint(-500, 100_000)) / 100
    return str(value) if as_text else value


def _stamp(rng: random.Random):
    return None if rng.random() < 0.03 else T0 + dt.timedelta(minutes=rng.randint(0, 5))  # few minutes: many ties


def _text(rng: random.Random, good: list[str]):
    return rng.choice(ODD_TEXT) if rng.random() < 0.2 else rng.choice(good)


def _row(table: str, rng: random.Random, key, as_text: bool) -> dict:
    def fk():
        return None if rng.random() < 0.03 else rng.randint(1, 30)

    common = {"created_at": T0, "updated_at": _stamp(rng)}
    if table == "order_items":
        return {"order_item_id": key, "order_id": fk(), "product_id": fk(),
                "quantity": None if rng.random() < 0.05 else rng.randint(-2, 5),
                "unit_price": _money(rng, as_text), "amount": _money(rng, as_text), **common}
    if table == "orders":
        return {"order_id": key, "customer_id": fk(), "status": _text(rng, list(old.STATUSES)),
                "currency": _text(rng, ["USD", "EUR", "GBP"]), "total_amount": _money(rng, as_text), **common}
    if table == "products":
        return {"product_id": key, "sku": _text(rng, ["SKU-000001", "SKU-123456"]), "name": _text(rng, ["Lamp"]),
                "category": "home", "unit_price": _money(rng, as_text), **common}
    return {"customer_id": key, "email": _text(rng, ["a.b@example.com", "c@d.org"]),
            "full_name": _text(rng, ["A B"]), "country_code": _text(rng, ["US", "DE", "FR"]),
            "segment": "consumer", **common}


def _types(table: str, as_text: bool) -> dict:
    money = pa.string() if as_text else pa.decimal128(14, 2)
    ts = pa.timestamp("us", tz="UTC")
    base = {"order_items": {"order_item_id": pa.int64(), "order_id": pa.int64(), "product_id": pa.int64(),
                            "quantity": pa.int32(), "unit_price": money, "amount": money},
            "orders": {"order_id": pa.int64(), "customer_id": pa.int64(), "status": pa.string(),
                       "currency": pa.string(), "total_amount": money},
            "products": {"product_id": pa.int64(), "sku": pa.string(), "name": pa.string(),
                         "category": pa.string(), "unit_price": money},
            "customers": {"customer_id": pa.int64(), "email": pa.string(), "full_name": pa.string(),
                          "country_code": pa.string(), "segment": pa.string()}}[table]
    return {**base, "created_at": ts, "updated_at": ts}


def _raw_files(table: str, seed: int, tmp_path, as_text: bool, files: int = 3, rows: int = 400) -> list[str]:
    rng = random.Random(seed)
    types = _types(table, as_text)
    written = []
    history: list[dict] = []
    for number in range(files):
        batch = []
        for _ in range(rows):
            roll = rng.random()
            if history and roll < 0.10:
                batch.append(dict(rng.choice(history)))  # an identical copy (duplicate_row or its winner)
            elif history and roll < 0.25:
                again = _row(table, rng, rng.choice(history)[next(iter(types))], as_text)  # same key, new version
                batch.append(again)
            else:
                key = None if rng.random() < 0.03 else rng.randint(1, 10 ** 6)
                batch.append(_row(table, rng, key, as_text))
            history.append(batch[-1])
        columns = {name: pa.array([r[name] for r in batch], kind) for name, kind in types.items()}
        if number == 1:  # schema drift in one file only (permissive concatenation: nulls elsewhere)
            columns["coupon_code"] = pa.array([rng.choice(["X1", None]) for _ in batch], pa.string())
        path = tmp_path / f"raw-{number:05d}.parquet"
        pq.write_table(pa.table(columns), path, row_group_size=150)  # several row groups and record batches
        written.append(str(path))
    return written


def _old_result(files: list[str], table: str):
    parts = [pq.read_table(f).replace_schema_metadata(None) for f in files]
    return old.curate(pa.concat_tables(parts, promote_options="permissive"), table)


@pytest.mark.parametrize("table", list(rc.CONTRACTS))
@pytest.mark.parametrize("as_text", [False, True], ids=["typed", "text-decimals"])
@pytest.mark.parametrize("seed", [1, 2])
def test_streaming_curation_equals_the_pandas_curation(table, as_text, seed, tmp_path, monkeypatch):
    monkeypatch.setattr(rc, "BATCH_ROWS", 97)  # many small batches: the streaming seams are exercised
    files = _raw_files(table, seed * 7919 + len(table), tmp_path, as_text)
    expected = _old_result(files, table)
    out = tmp_path / "out"
    out.mkdir()
    report = rc.curate_files(files, table, str(out))
    curated = pq.read_table(out / "curated.parquet")
    quarantine = pq.read_table(out / "quarantine.parquet")

    assert report == expected.report
    assert sum(report["quarantined_by_reason"].values()) > 20, "too little dirt: the comparison proves little"
    assert len(report["quarantined_by_reason"]) >= 4
    assert curated.schema == expected.valid.schema
    assert curated.to_pylist() == expected.valid.to_pylist()  # same rows, same order
    assert quarantine.schema == expected.quarantine.schema
    assert quarantine.to_pylist() == expected.quarantine.to_pylist()


def test_dedupe_of_every_row_under_a_small_memory_limit_agrees(tmp_path, monkeypatch):
    """The external-memory path: every key twice (all rows go through the dedupe's aggregates and joins) under a
    64 MB DuckDB memory limit, spilling to the temp directory beyond it."""
    monkeypatch.setattr(rc, "MEMORY_LIMIT", "64MB")
    n = 200_000
    keys = pa.array([i // 2 for i in range(n)], pa.int64())  # every key twice: half the rows are losers
    stamps = pa.array([T0 + dt.timedelta(seconds=i % 3) for i in range(n)], pa.timestamp("us", tz="UTC"))
    raw = pa.table({"customer_id": keys, "email": pa.array(["a@b.co"] * n), "full_name": pa.array([f"x{i:040d}" for i in range(n)]),
                    "country_code": pa.array(["US"] * n), "segment": pa.array(["s"] * n),
                    "created_at": stamps, "updated_at": stamps})
    path = tmp_path / "raw-00000.parquet"
    pq.write_table(raw, path)
    out = tmp_path / "out"
    out.mkdir()
    report = rc.curate_files([str(path)], "customers", str(out))
    assert report["rows_valid"] == n // 2 and report["invariant_holds"]
    assert report["quarantined_by_reason"] == old.curate(raw, "customers").report["quarantined_by_reason"]
