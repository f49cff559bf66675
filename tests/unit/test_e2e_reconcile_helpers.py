"""The e2e tests' reconciliation helpers must be able to fail: normalisation, diffs and checksums."""

from __future__ import annotations

import datetime as dt
import decimal

from tests.e2e import reconcile

SOURCE_ROW = (7, 3, 11, 2, decimal.Decimal("12.50"), decimal.Decimal("25.00"),
              dt.datetime(2026, 3, 1, 1, 2, 3, 400000, tzinfo=dt.timezone(dt.timedelta(hours=2))),
              dt.datetime(2026, 3, 1, 1, 2, 3, tzinfo=dt.UTC))
# the same row as the Redshift Data API returns it: decimals and timestamps as text, naive UTC
WAREHOUSE_ROW = {"order_item_id": 7, "order_id": 3, "product_id": 11, "quantity": 2, "unit_price": "12.5",
                 "amount": "25.00", "created_at": "2026-02-28 23:02:03.4", "updated_at": "2026-03-01 01:02:03"}


def test_source_and_warehouse_values_normalise_to_the_same_row():
    assert reconcile.normalise_row("order_items", SOURCE_ROW) == reconcile.normalise_row("order_items", WAREHOUSE_ROW)


def test_a_real_difference_survives_normalisation():
    shifted = {**WAREHOUSE_ROW, "updated_at": "2026-03-01 01:02:03.000001"}
    assert reconcile.normalise_row("order_items", SOURCE_ROW) != reconcile.normalise_row("order_items", shifted)
    cheaper = {**WAREHOUSE_ROW, "amount": "24.99"}
    assert reconcile.normalise_row("order_items", SOURCE_ROW) != reconcile.normalise_row("order_items", cheaper)


def test_diff_names_missing_unexpected_and_changed_keys_and_columns():
    row = reconcile.normalise_row("order_items", SOURCE_ROW)
    other = row[:3] + (5,) + row[4:]
    text = reconcile.diff("order_items", {7: row, 8: row}, {7: other, 9: row})
    assert "missing keys (first 10): [8]" in text and "unexpected keys (first 10): [9]" in text
    assert "key 7: quantity: source=2 warehouse=5" in text
    assert reconcile.diff("order_items", {7: row}, {7: row}) == ""


def test_checksum_ignores_order_but_not_duplicates_or_values():
    a, b = (1, "x"), (2, "y")
    assert reconcile.checksum([a, b]) == reconcile.checksum([b, a])
    assert reconcile.checksum([a, b]) != reconcile.checksum([a, b, b])
    assert reconcile.checksum([a, b]) != reconcile.checksum([a, (2, "z")])
    assert "stg_orders:" in reconcile.checksum_diff({"stg_orders": "1:a"}, {"stg_orders": "2:b"})
