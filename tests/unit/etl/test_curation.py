"""The curation rules as plain functions: no Airflow, no S3."""

import datetime as dt
import importlib.util
import sys

import pyarrow as pa
import pytest

from mwaa_local import paths

_spec = importlib.util.spec_from_file_location("retail_curation", paths.INCLUDE / "glue" / "retail_curation.py")
rc = sys.modules.setdefault("retail_curation", importlib.util.module_from_spec(_spec))  # dataclasses need it
_spec.loader.exec_module(rc)

T0 = dt.datetime(2024, 1, 1, 8, tzinfo=dt.UTC)


def _items(rows, **extra):
    cols = ["order_item_id", "order_id", "product_id", "quantity", "unit_price", "amount", "updated_at"]
    data = {c: [r[i] for r in rows] for i, c in enumerate(cols)}
    data["created_at"] = [T0] * len(rows)
    return pa.table({**data, **extra})


def test_every_row_lands_in_exactly_one_place_with_its_reason():
    later = T0 + dt.timedelta(minutes=5)
    raw = _items([
        (1, 10, 5, 2, "3.00", "6.00", later),      # kept: latest version of key 1
        (1, 10, 5, 1, "3.00", "3.00", T0),         # superseded_duplicate
        (1, 10, 5, 2, "3.00", "6.00", later),      # duplicate_row (identical to the kept one; the last read wins)
        (2, 10, 5, -1, "3.00", "-3.00", T0),       # negative_quantity (first rule that fails)
        (3, 10, 5, 1, "3.00", "-3.00", T0),        # negative_amount
        (None, 10, 5, 1, "3.00", "3.00", T0),      # null_key
        (4, None, 5, 1, "3.00", "3.00", T0),       # null_key (foreign key)
        (5, 10, 5, 1, "3.00", "3,00", T0),         # malformed_amount
        (6, 10, 5, 1, "3.00", "3.00", None),       # null_updated_at
        (7, 10, 5, None, None, "3.00", T0),        # kept: quantity and unit_price are optional (NULL stays NULL)
    ])
    result = rc.curate(raw, "order_items")
    assert result.report["quarantined_by_reason"] == {
        "duplicate_row": 1, "malformed_amount": 1, "negative_amount": 1, "negative_quantity": 1, "null_key": 2,
        "null_updated_at": 1, "superseded_duplicate": 1}
    assert (result.report["rows_in"], result.report["rows_valid"], result.report["rows_quarantined"]) == (10, 2, 8)
    assert result.valid.column("order_item_id").to_pylist() == [1, 7]
    assert result.valid.column("quantity").to_pylist() == [2, None]
    assert result.valid.column("unit_price").to_pylist()[1] is None
    assert str(result.valid.column("amount")[0]) == "6.00"
    assert sorted(zip(result.quarantine.column("source_row").to_pylist(), result.quarantine.column("reject_reason").to_pylist(), strict=True)) == [
        (0, "duplicate_row"), (1, "superseded_duplicate"), (3, "negative_quantity"), (4, "negative_amount"),
        (5, "null_key"), (6, "null_key"), (7, "malformed_amount"), (8, "null_updated_at")]


def test_a_bad_latest_version_is_quarantined_and_no_older_version_replaces_it():
    raw = _items([(1, 10, 5, 1, "3.00", "3.00", T0), (1, 10, 5, -1, "3.00", "-3.00", T0 + dt.timedelta(hours=1))])
    result = rc.curate(raw, "order_items")
    assert result.valid.num_rows == 0
    assert result.report["quarantined_by_reason"] == {"negative_quantity": 1, "superseded_duplicate": 1}


def test_customer_rules_and_schema_drift_reporting():
    raw = pa.table({"customer_id": [1, 2, 3], "email": ["a.b1@example.com", "a.b2 at example.com", None],
                    "full_name": ["A B"] * 3, "country_code": ["US", "usa", "DE"], "segment": ["consumer"] * 3,
                    "created_at": [T0] * 3, "updated_at": [T0] * 3, "loyalty_tier": ["gold"] * 3})
    result = rc.curate(raw, "customers")
    assert result.report["quarantined_by_reason"] == {"malformed_email": 1}  # first failing rule wins
    assert result.report["extra_columns"] == ["loyalty_tier"]
    assert "loyalty_tier" not in result.valid.column_names and "loyalty_tier" in result.quarantine.column_names
    assert result.valid.column("customer_id").to_pylist() == [1, 3]  # a NULL email is allowed, not malformed


def test_empty_extract_gives_empty_typed_outputs():
    result = rc.curate(pa.table({}), "orders")
    assert result.valid.schema == rc.curated_schema("orders") and result.valid.num_rows == 0
    assert result.report["rows_in"] == 0 and result.report["invariant_holds"]


def test_missing_contract_column_fails_instead_of_inventing_data():
    with pytest.raises(rc.CurationError, match="lacks contract column"):
        rc.curate(_items([(1, 10, 5, 1, "3.00", "3.00", T0)]).drop_columns(["amount"]), "order_items")


@pytest.mark.parametrize("args, message", [
    ({"data_bucket": "b", "tables": "orders", "dt": "2024-1-1"}, "YYYY-MM-DD"),
    ({"data_bucket": "b", "tables": "orders,refunds", "dt": "2024-01-01"}, "--tables"),
])
def test_bad_job_arguments(args, message):
    with pytest.raises(rc.CurationError, match=message):
        rc.run_job(args, s3=object())


def test_resolve_args_like_glue():
    assert rc.resolve_args(["x.py", "--dt", "2024-01-01", "--tables", "orders", "--data_bucket", "b", "--JOB_NAME", "j"],
                           rc.JOB_ARGS) == {"data_bucket": "b", "tables": "orders", "dt": "2024-01-01"}
    with pytest.raises(rc.CurationError, match="--dt"):
        rc.resolve_args(["x.py", "--tables", "orders", "--data_bucket", "b"], rc.JOB_ARGS)
