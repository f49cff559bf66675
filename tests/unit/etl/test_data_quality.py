import datetime as dt
import io

import pytest

from mwaa_platform import data_quality

THRESHOLDS = {"defaults": {"mostly": 1.0}, "tables": {"order_items": {"min_rows": 1}}}


def _items(rows):
    import pandas as pd

    cols = ["order_item_id", "order_id", "product_id", "quantity", "unit_price", "amount", "created_at", "updated_at"]
    now = dt.datetime(2024, 1, 1, 12)
    return pd.DataFrame([(*r, now, now) for r in rows], columns=cols)


GOOD = [(1, 1, 1, 2, 5.0, 10.0), (2, 1, 2, 1, 3.5, 3.5), (3, 2, 1, 4, 5.0, 20.0)]


def test_clean_data_passes():
    result = data_quality.validate_frame(_items(GOOD), data_quality.load_suite("order_items", THRESHOLDS), "order_items")
    assert result.passed and result.checked == 7 and result.failures == []


def test_breaches_are_named_with_column_and_observation():
    bad = GOOD + [(3, 2, 1, 1, 5.0, 5.0), (4, 2, None, -2, 5.0, -10.0)]
    result = data_quality.validate_frame(_items(bad), data_quality.load_suite("order_items", THRESHOLDS), "order_items")
    failed = {(f["expectation"], f["column"]) for f in result.failures}
    assert failed == {("expect_column_values_to_be_unique", "order_item_id"),
                      ("expect_column_values_to_not_be_null", "product_id"),
                      ("expect_column_values_to_be_between", "quantity"),
                      ("expect_column_values_to_be_between", "amount")}
    summary = result.summary()
    assert "FAILED for order_items: 5 rows, 3/7 expectations met" in summary
    assert "expect_column_values_to_be_between on quantity: 1 unexpected value(s) (20.00% of rows), e.g. -2" in summary


def test_thresholds_are_configuration():
    one_bad_in_five = GOOD + [(4, 2, 1, 0, 5.0, 0.0), (5, 2, 1, 1, 5.0, 5.0)]
    strict = data_quality.validate_frame(_items(one_bad_in_five), data_quality.load_suite("order_items", THRESHOLDS), "order_items")
    assert [f["column"] for f in strict.failures] == ["quantity"]
    lenient = {"defaults": {"mostly": 1.0},
               "tables": {"order_items": {"mostly": {"expect_column_values_to_be_between:quantity": 0.8}}}}
    assert data_quality.validate_frame(_items(one_bad_in_five), data_quality.load_suite("order_items", lenient), "order_items").passed


def test_empty_interval_fails_only_where_rows_are_required():
    empty = _items([])
    assert not data_quality.validate_frame(empty, data_quality.load_suite("order_items", THRESHOLDS), "order_items").passed
    assert data_quality.validate_frame(empty.rename(columns={"order_item_id": "product_id"}).iloc[:, :1],
                                       data_quality.load_suite("products", {"tables": {"products": {"min_rows": 0}}})
                                       | {"expectations": [{"type": "expect_table_row_count_to_be_between",
                                                            "kwargs": {"min_value": 0}}]}, "products").passed


def test_unknown_suite_is_a_clear_error():
    with pytest.raises(data_quality.DataQualityError, match="no expectation suite for 'refunds'"):
        data_quality.load_suite("refunds", THRESHOLDS)


def _put(s3, bucket, key, frame):
    buf = io.BytesIO()
    frame.to_parquet(buf, index=False)
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())


def test_operator_reads_s3_and_fails_the_task_with_the_summary(aws):
    from airflow.sdk.exceptions import AirflowFailException

    from mwaa_platform.operators.data_quality import DataQualityGateOperator

    s3 = aws("s3")
    s3.create_bucket(Bucket="dq-gate-test")
    _put(s3, "dq-gate-test", "curated/order_items/dt=2024-01-01/part-00000.parquet", _items(GOOD))
    _put(s3, "dq-gate-test", "curated/order_items/dt=2024-01-02/part-00000.parquet", _items(GOOD + [(1, 1, 1, 1, 1.0, 1.0)]))
    gate = DataQualityGateOperator(task_id="gate", bucket="dq-gate-test", table="order_items", aws_conn_id=None)
    gate.interval_date = "2024-01-01"
    assert gate.execute({}) == {"table": "order_items", "rows": 3, "expectations": 7}
    gate.interval_date = "2024-01-02"
    with pytest.raises(AirflowFailException, match="expect_column_values_to_be_unique on order_item_id"):
        gate.execute({})
    gate.interval_date = "2024-01-03"
    with pytest.raises(data_quality.MissingDataError, match="did the curation run"):
        gate.execute({})
