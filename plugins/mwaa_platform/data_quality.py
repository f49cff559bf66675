"""Data-quality gate: validate a curated Parquet dataset in S3 against a Great Expectations 1.x suite.

Suites live in include/expectations/<table>.json (what must hold); include/expectations/thresholds.yaml says
how strictly (`mostly` per expectation, min_rows per table). The gate raises DataQualityError whose message
names every failed expectation with its column and observed value, so a failed task log says what broke.

Two evaluations of the same suite, with equal verdicts and reports (tests/unit/etl/test_gate_sql_equivalence.py):
- `evaluate_parquet` (what the gate runs): each expectation translated into aggregate SQL that DuckDB runs over
  the Parquet files with a memory limit, so the table is never materialised (bounded memory at any volume, and no
  Great Expectations import on the task's path). The suites stay the single source of truth: the SQL is derived
  from their JSON, with GE's semantics (mostly, nulls, percentages, the first unexpected values in row order), and
  an expectation type without a translation is refused (NotTranslatedError), never skipped.
- `validate_frame`: Great Expectations 1.x itself on a pandas DataFrame, for small data and as the reference.
great_expectations, duckdb, pandas and pyarrow are imported inside functions (DAG files import this at parse time).
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass, field

from mwaa_platform.paths import include_path


class DataQualityError(RuntimeError):
    """The data breached the gate; the message is the summary of failed expectations."""


class NotTranslatedError(DataQualityError):
    """The suite holds an expectation type the SQL evaluation has no translation for."""


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
    return _observed_text(result.result or {})


def _observed_text(detail: dict) -> str:
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

    keys = _parquet_keys(s3, bucket, prefix)
    table = pa.concat_tables(pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read()))
                             for k in keys)
    frame = table.to_pandas()
    for name in table.column_names:
        if pa.types.is_decimal(table.schema.field(name).type):
            frame[name] = frame[name].astype("float64")
    return frame


def _parquet_keys(s3, bucket: str, prefix: str) -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [o["Key"] for o in page.get("Contents", []) if o["Key"].endswith(".parquet")]
    if not keys:
        raise MissingDataError(f"nothing to check: no Parquet under s3://{bucket}/{prefix} (did the curation run?)")
    return sorted(keys)


def download_parquet_prefix(s3, bucket: str, prefix: str, workdir: str) -> list[str]:
    """The prefix's Parquet objects copied to local files chunk by chunk, in key order (= the rows' order)."""
    import os
    import shutil

    paths = []
    for number, key in enumerate(_parquet_keys(s3, bucket, prefix)):
        path = os.path.join(workdir, f"part-{number:05d}.parquet")
        with open(path, "wb") as out:
            shutil.copyfileobj(s3.get_object(Bucket=bucket, Key=key)["Body"], out, 8 * 1024 * 1024)
        paths.append(path)
    return paths


# ---------------------------------------------------------------- the suite as SQL (evaluate_parquet)

SQL_MEMORY_LIMIT = "512MB"  # DuckDB's working memory in the gate task; aggregates spill beyond it
SAMPLE = 5  # unexpected values quoted in a failure, as _observed_text quotes them


class _NaT:  # pandas' missing timestamp, as GE's pandas evaluation quotes it
    def __repr__(self) -> str:
        return "NaT"


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _literal(value) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(float(value)) if isinstance(value, float) else str(value)
    return "'" + str(value).replace("'", "''") + "'"


def _between(kwargs: dict) -> str:
    value = f"CAST({_q(kwargs['column'])} AS DOUBLE)"  # as the frame's float64 decimals
    bounds = []
    if kwargs.get("min_value") is not None:
        bounds.append(f"{value} {'>' if kwargs.get('strict_min') else '>='} {float(kwargs['min_value'])!r}")
    if kwargs.get("max_value") is not None:
        bounds.append(f"{value} {'<' if kwargs.get('strict_max') else '<='} {float(kwargs['max_value'])!r}")
    return f"NOT ({' AND '.join(bounds) or 'TRUE'})"


def _in_set(kwargs: dict) -> str:
    values = ", ".join(_literal(v) for v in kwargs["value_set"])
    return f"{_q(kwargs['column'])} NOT IN ({values})" if values else "TRUE"


# Expectation type -> (the condition that makes a NON-NULL row unexpected, or a marker for the special cases).
# Only what GE means by the type is translated; anything else is refused (NotTranslatedError).
_ROW_CONDITIONS = {
    "expect_column_values_to_be_between": _between,
    "expect_column_values_to_be_in_set": _in_set,
}
_SPECIAL = ("expect_table_row_count_to_be_between", "expect_column_values_to_not_be_null",
            "expect_column_values_to_be_unique")
TRANSLATED = frozenset(_ROW_CONDITIONS) | frozenset(_SPECIAL)
_NUMERIC_ONLY = {"expect_column_values_to_be_between"}


def _check_translated(suite: dict) -> None:
    unknown = sorted({e["type"] for e in suite["expectations"]} - TRANSLATED)
    if unknown:
        raise NotTranslatedError(f"expectation type(s) {', '.join(unknown)} of suite {suite.get('name')!r} have no SQL "
                                 f"translation in mwaa_platform.data_quality (translated: {', '.join(sorted(TRANSLATED))})")


def _unexpected_where(expectation: dict) -> str:
    kind, kwargs = expectation["type"], expectation["kwargs"]
    column = _q(kwargs.get("column", ""))
    if kind == "expect_column_values_to_not_be_null":
        return f"{column} IS NULL"
    if kind == "expect_column_values_to_be_unique":
        return f"{column} IN (SELECT {column} FROM data WHERE {column} IS NOT NULL GROUP BY 1 HAVING count(*) > 1)"
    return f"{column} IS NOT NULL AND ({_ROW_CONDITIONS[kind](kwargs)})"


def _python_value(value, arrow_type, column_has_nulls: bool):
    """A value as the pandas frame of validate_frame held it (decimals and nullable ints as float, missing
    values as nan/NaT), so failure messages quote it the same way."""
    import pyarrow as pa

    if pa.types.is_timestamp(arrow_type) or pa.types.is_date(arrow_type):
        return _NaT() if value is None else value
    if value is None:
        return float("nan") if not pa.types.is_null(arrow_type) else None
    if pa.types.is_decimal(arrow_type) or pa.types.is_floating(arrow_type):
        return float(value)
    if pa.types.is_integer(arrow_type):
        return float(value) if column_has_nulls else int(value)
    return value


def evaluate_parquet(paths: list[str], suite: dict, table: str, workdir: str | None = None) -> GateResult:
    """The suite evaluated by DuckDB over local Parquet files (read in the given order) without materialising the
    table: one aggregate pass for every count, then, for failed expectations only, their first unexpected values."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_translated(suite)
    schema = pa.unify_schemas([pq.read_schema(p).remove_metadata() for p in paths]) if paths else pa.schema([])
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{SQL_MEMORY_LIMIT}'")
        con.execute("SET enable_progress_bar = false")
        if workdir:
            con.execute(f"SET temp_directory = {_literal(workdir)}")
        listing = "[" + ", ".join(_literal(p) for p in paths) + "]"
        order = " ".join(f"WHEN {_literal(p)} THEN {i}" for i, p in enumerate(paths))
        con.execute(f"CREATE VIEW data AS SELECT *, CASE filename {order} END AS _file FROM "
                    f"read_parquet({listing}, filename = true, file_row_number = true)")
        results = _evaluate(con, suite, schema)
    finally:
        con.close()
    # GE lists the expectations it could not evaluate (missing column, range check on text) first; among several
    # of those its order is its metric resolver's: here suite order.
    errored = [r for r in results if r[2] is None]
    ordered = errored + [r for r in results if r[2] is not None]
    failures = [{"expectation": kind, "column": column, "observed": _observed_text(detail or {})}
                for kind, column, detail, success in ordered if not success]
    rows = next((d["observed_value"] for k, _, d, _ in results if k == "expect_table_row_count_to_be_between"), None)
    if rows is None:
        rows = sum(pq.read_metadata(p).num_rows for p in paths)
    return GateResult(table=table, rows=rows, passed=not failures, failures=failures, checked=len(results))


def _evaluate(con, suite: dict, schema) -> list[tuple[str, str, dict | None, bool]]:
    """(type, column, GE-like result detail or None when GE would have raised, success) per expectation."""
    import pyarrow as pa

    expectations = suite["expectations"]
    sums, plan = ["count(*)"], []
    for expectation in expectations:
        kind, kwargs = expectation["type"], expectation["kwargs"]
        column = kwargs.get("column")
        field_ = schema.field(column) if column is not None and column in schema.names else None
        broken = column is not None and (field_ is None or (kind in _NUMERIC_ONLY and not (
            pa.types.is_integer(field_.type) or pa.types.is_floating(field_.type) or pa.types.is_decimal(field_.type))))
        plan.append((expectation, field_, broken))
        if column is not None and not broken:
            sums += [f"count({_q(column)})", f"count(*) FILTER (WHERE {_unexpected_where(expectation)})"]
    totals = con.execute(f"SELECT {', '.join(sums)} FROM data").fetchone()
    rows, at, out = int(totals[0]), 1, []
    for expectation, field_, broken in plan:
        kind, kwargs = expectation["type"], expectation["kwargs"]
        column = kwargs.get("column", "(table)")
        if kind == "expect_table_row_count_to_be_between":
            low, high = kwargs.get("min_value"), kwargs.get("max_value")
            ok = (low is None or rows >= low) and (high is None or rows <= high)
            out.append((kind, column, {"observed_value": rows}, ok))
            continue
        if broken:
            out.append((kind, column, None, False))
            continue
        nonnull, unexpected = int(totals[at]), int(totals[at + 1])
        at += 2
        mostly = kwargs.get("mostly", 1.0)
        if kind == "expect_column_values_to_not_be_null":
            considered, success = rows, rows == 0 or (rows - unexpected) / rows >= mostly
            percent = unexpected / rows * 100 if rows else None
        else:
            considered = nonnull
            success = rows == 0 or nonnull == 0 or (float(nonnull) - unexpected) / float(nonnull) >= mostly
            percent = unexpected / nonnull * 100 if rows and nonnull else None
        detail = {"element_count": rows, "unexpected_count": unexpected, "unexpected_percent": percent,
                  "partial_unexpected_list": []}
        if not success and considered:
            sample = con.execute(f"SELECT {_q(column)} FROM data WHERE {_unexpected_where(expectation)} "
                                 f"ORDER BY _file, file_row_number LIMIT {SAMPLE}").fetchall()
            has_nulls = nonnull < rows
            detail["partial_unexpected_list"] = [_python_value(v, field_.type, has_nulls) for (v,) in sample]
        out.append((kind, column, detail, success))
    return out


def check_curated(bucket: str, table: str, interval_date: str, s3=None, thresholds: dict | None = None) -> GateResult:
    """Validates curated/<table>/dt=<interval_date>/ (streamed to local files, evaluated by DuckDB) and raises
    DataQualityError with the summary on a breach."""
    import shutil
    import tempfile

    if s3 is None:
        import boto3

        s3 = boto3.client("s3")
    suite = load_suite(table, thresholds)
    _check_translated(suite)  # before any download: a suite we cannot evaluate is a configuration error
    workdir = tempfile.mkdtemp(prefix=f"dq-{table}-")
    try:
        paths = download_parquet_prefix(s3, bucket, f"curated/{table}/dt={interval_date}/", workdir)
        result = evaluate_parquet(paths, suite, table, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    if not result.passed:
        raise DataQualityError(result.summary())
    return result
