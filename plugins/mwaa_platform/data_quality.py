"""Data-quality gate: validate a curated Parquet dataset in S3 against a Great Expectations 1.x suite.

Suites live in include/expectations/<table>.json (what must hold); include/expectations/thresholds.yaml says
how strictly (`mostly` per expectation, min_rows per table). The gate raises DataQualityError whose message
names every failed expectation with its column and observed value, so a failed task log says what broke.
great_expectations, pandas and pyarrow are imported inside functions (DAG files import this at parse time).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

from mwaa_platform.paths import include_path


class DataQualityError(RuntimeError):
    """The data breached the gate; the message is the summary of failed expectations."""


class MissingDataError(RuntimeError):
    """There is nothing to check (the curation did not write the interval): retryable, not a data breach."""


@dataclass
class GateResult:
    table: str
    rows: int
    passed: bool
    failures: list[dict] = field(default_factory=list)
    checked: int = 0

    def summary(self) -> str:
        head = f"data-quality gate {'passed' if self.passed else 'FAILED'} for {self.table}: {self.rows} rows, " \
               f"{self.checked - len(self.failures)}/{self.checked} expectations met"
        return "\n".join([head] + [f"  - {f['expectation']} on {f['column']}: {f['observed']}" for f in self.failures])


def load_thresholds() -> dict:
    import yaml

    return yaml.safe_load(include_path("expectations", "thresholds.yaml").read_text())


def load_suite(table: str, thresholds: dict | None = None) -> dict:
    """The suite for `table` with thresholds applied (mostly, min_rows) as plain JSON-able dicts."""
    path = include_path("expectations", f"{table}.json")
    if not path.exists():
        raise DataQualityError(f"no expectation suite for {table!r} at {path}")
    suite = json.loads(path.read_text())
    thresholds = load_thresholds() if thresholds is None else thresholds
    table_cfg = (thresholds.get("tables") or {}).get(table, {})
    default_mostly = (thresholds.get("defaults") or {}).get("mostly", 1.0)
    for expectation in suite["expectations"]:
        kwargs = expectation["kwargs"]
        if expectation["type"] == "expect_table_row_count_to_be_between":
            kwargs["min_value"] = table_cfg.get("min_rows", kwargs.get("min_value", 0))
        elif "column" in kwargs:
            mostly = (table_cfg.get("mostly") or {}).get(f"{expectation['type']}:{kwargs['column']}", default_mostly)
            if mostly < 1.0:
                kwargs["mostly"] = mostly
    return suite


def _observed(result) -> str:
    detail = result.result or {}
    if detail.get("observed_value") is not None:
        return f"observed {detail['observed_value']}"
    sample = ", ".join(repr(v) for v in (detail.get("partial_unexpected_list") or [])[:5])
    percent = detail.get("unexpected_percent")
    share = f" ({percent:.2f}% of rows)" if percent is not None else ""
    return f"{detail.get('unexpected_count')} unexpected value(s){share}, e.g. {sample}"


def validate_frame(frame, suite: dict, table: str) -> GateResult:
    """Runs the suite on a pandas DataFrame with an ephemeral GE context (nothing written to disk)."""
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import ExpectationConfiguration

    context = gx.get_context(mode="ephemeral")
    batch = (context.data_sources.add_pandas(f"dq_{table}").add_dataframe_asset(table)
             .add_batch_definition_whole_dataframe("interval").get_batch(batch_parameters={"dataframe": frame}))
    gx_suite = gx.ExpectationSuite(name=suite.get("name", table))
    for expectation in suite["expectations"]:
        gx_suite.add_expectation(ExpectationConfiguration(type=expectation["type"],
                                                          kwargs=dict(expectation["kwargs"])).to_domain_obj())
    outcome = batch.validate(gx_suite, result_format="SUMMARY")
    failures = [{"expectation": r.expectation_config.type, "column": r.expectation_config.kwargs.get("column", "(table)"),
                 "observed": _observed(r)} for r in outcome.results if not r.success]
    return GateResult(table=table, rows=len(frame), passed=not failures, failures=failures, checked=len(outcome.results))


def read_parquet_prefix(s3, bucket: str, prefix: str):
    """All Parquet objects under s3://bucket/prefix as one DataFrame (decimals as float for range checks)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".parquet")]
    if not keys:
        raise MissingDataError(f"nothing to check: no Parquet under s3://{bucket}/{prefix} (did the curation run?)")
    table = pa.concat_tables(pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read()))
                             for k in sorted(keys))
    frame = table.to_pandas()
    for name in table.column_names:
        if pa.types.is_decimal(table.schema.field(name).type):
            frame[name] = frame[name].astype("float64")
    return frame


def check_curated(bucket: str, table: str, interval_date: str, s3=None, thresholds: dict | None = None) -> GateResult:
    """Validates curated/<table>/dt=<interval_date>/ and raises DataQualityError with the summary on a breach."""
    if s3 is None:
        import boto3

        s3 = boto3.client("s3")
    frame = read_parquet_prefix(s3, bucket, f"curated/{table}/dt={interval_date}/")
    result = validate_frame(frame, load_suite(table, thresholds), table)
    if not result.passed:
        raise DataQualityError(result.summary())
    return result
