"""The feature SQL (include/sql/features/customer_features.sql) on the local Redshift, against hand-computed values,
including the no-leakage boundary: orders before the cutoff make features, orders after it make the label, an order
at exactly the cutoff makes neither, and an order after the label window makes nothing."""

from __future__ import annotations

import datetime as dt

import pytest

from mwaa_platform.ml import features
from tests.ml.warehouse import insert_orders, reset_schema, sql

CUTOFF = dt.datetime(2026, 3, 1)


@pytest.fixture(scope="module")
def feature_rows(local_cloud):
    import boto3

    redshift = boto3.client("redshift-data", endpoint_url=local_cloud.endpoint_url, region_name="us-east-1")
    reset_schema(redshift)
    insert_orders(redshift, [
        # customer 1: two orders before the cutoff, one 10 days after it -> label 1
        (1, 1, "delivered", 100.00, "2026-02-19 00:00:00"),  # 10 days before the cutoff
        (2, 1, "delivered", 50.00, "2026-02-27 12:00:00"),  # 1.5 days before
        (3, 1, "delivered", 999.00, "2026-03-11 00:00:00"),  # in the label window: must not touch the features
        # customer 2: one order before; its next order is exactly AT the cutoff (neither side) -> label 0
        (4, 2, "delivered", 30.00, "2026-02-28 23:59:59"),  # 1 second before the cutoff
        (5, 2, "delivered", 500.00, "2026-03-01 00:00:00"),  # at the cutoff: no feature, no label
        # customer 3: one order before; next one 1 second after the window end -> label 0
        (6, 3, "delivered", 20.00, "2026-02-01 00:00:00"),
        (7, 3, "delivered", 70.00, "2026-03-31 00:00:01"),  # cutoff + 30 days + 1 s: outside the window
        # customer 4: one order before, the next 1 second after the cutoff, the last second of the window too
        (8, 4, "delivered", 10.00, "2026-01-01 00:00:00"),
        (9, 4, "delivered", 10.00, "2026-03-01 00:00:01"),
        # customer 5: only a cancelled order before, a purchase after: no features -> not in the population
        (10, 5, "cancelled", 80.00, "2026-02-20 00:00:00"),
        (11, 5, "delivered", 80.00, "2026-03-05 00:00:00"),
        # customer 6: orders only after the cutoff: not in the population
        (12, 6, "delivered", 40.00, "2026-03-02 00:00:00"),
    ], [
        (1, 1, 7, 2, 60.00, "2026-02-19 00:00:00"), (2, 1, 8, 1, 40.00, "2026-02-19 00:00:00"),
        (3, 2, 7, 1, 50.00, "2026-02-27 12:00:00"),
        (4, 3, 9, 5, 999.00, "2026-03-11 00:00:00"),
        (5, 4, 7, 3, 30.00, "2026-02-28 23:59:59"),
        (6, 5, 1, 9, 500.00, "2026-03-01 00:00:00"),
        (7, 6, 2, 1, 20.00, "2026-02-01 00:00:00"),
        # order 8 has no lines: a basket of 0 items
    ])
    for statement in features.build_table_sql(CUTOFF, label_days=30, validation_percent=20):
        sql(redshift, statement)
    return {row["customer_id"]: row for row in sql(redshift, f"SELECT * FROM {features.FEATURE_TABLE}")}


def test_population_is_customers_with_a_non_cancelled_order_before_the_cutoff(feature_rows):
    assert sorted(feature_rows) == [1, 2, 3, 4]


def test_features_use_only_orders_strictly_before_the_cutoff(feature_rows):
    one = feature_rows[1]
    assert one["frequency"] == 2
    assert one["monetary"] == pytest.approx(150.0)  # 100 + 50; the 999 after the cutoff is not counted
    assert one["avg_order_value"] == pytest.approx(75.0)
    assert one["max_order_value"] == pytest.approx(100.0)
    assert one["recency_days"] == pytest.approx(1.5)
    assert one["tenure_days"] == pytest.approx(10.0)
    assert one["avg_basket_items"] == pytest.approx((3 + 1) / 2)  # order 1: 2 + 1 items, order 2: 1 item
    assert one["avg_basket_products"] == pytest.approx((2 + 1) / 2)
    two = feature_rows[2]  # the 500.00 order at exactly the cutoff is not a feature
    assert (two["frequency"], two["monetary"], two["avg_basket_items"]) == (1, pytest.approx(30.0), pytest.approx(3))
    assert two["recency_days"] == pytest.approx(1 / 86400)
    assert feature_rows[4]["avg_basket_items"] == 0  # an order without lines is a basket of 0 items


def test_label_is_a_purchase_strictly_after_the_cutoff_within_the_window(feature_rows):
    assert {c: r["label"] for c, r in feature_rows.items()} == {1: 1, 2: 0, 3: 0, 4: 1}


def test_split_is_a_reproducible_hash_of_the_customer_id(feature_rows):
    def expected(customer_id: int) -> str:
        return "validation" if (customer_id * 2654435761) % 4294967296 % 100 < 20 else "train"

    assert {c: r["split"] for c, r in feature_rows.items()} == {c: expected(c) for c in feature_rows}


def test_unload_sql_refuses_a_bad_prefix_or_split():
    with pytest.raises(ValueError, match="ending in '/'"):
        features.unload_sql("train", "s3://bucket/no-slash", "arn:aws:iam::1:role/r")
    with pytest.raises(ValueError, match="split"):
        features.unload_sql("test", "s3://bucket/x/", "arn:aws:iam::1:role/r")
