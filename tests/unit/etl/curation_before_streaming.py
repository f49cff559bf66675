"""FROZEN COPY of include/glue/retail_curation.py before the streaming rewrite (issue 17): whole-table pandas.

The oracle of tests/unit/etl/test_curation_streaming_equivalence.py; never edit it to make a test pass.


Shipped to Glue with --extra-py-files (Python shell job: pandas + pyarrow, no Spark). Pure functions first
(curate), S3 I/O last (run_job); tests call both directly.

Per table and interval, every raw row ends up in exactly one place, so rows_in = rows_valid + rows_quarantined:
  1. types: each contract column is parsed; a value that does not parse -> `malformed_<column>`;
     a missing key or foreign key -> `null_key`; a missing updated_at -> `null_updated_at`.
  2. dedupe by key, keeping the latest updated_at (ties: the last row read). Every other row of that key is
     quarantined as `duplicate_row` (identical to the kept row) or `superseded_duplicate` (an older or
     conflicting version). Dedupe runs BEFORE the business rules: if the latest version is bad, it is
     quarantined and no older version sneaks into the warehouse in its place.
  3. business rules on the kept rows (malformed emails/codes, negative quantities/amounts) -> their reason.
Columns outside the contract (schema drift) are reported and left out of curated; a contract column missing
from the raw data fails the job (nothing is written), because curating without it would invent data.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field

RAW, CURATED, QUARANTINE, REPORTS = "raw", "curated", "quarantine", "reports/curate"
JOB_ARGS = ["data_bucket", "tables", "dt"]
TABLES = ("customers", "products", "orders", "order_items")
EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
STATUSES = ("placed", "paid", "shipped", "delivered", "cancelled", "refunded")


class CurationError(ValueError):
    """The input cannot be curated at all (not a per-row problem): the job fails and writes nothing."""


@dataclass(frozen=True)
class Contract:
    key: str
    columns: dict[str, str]  # name -> int64 | int32 | string | decimal(p,s) | timestamp
    required: tuple[str, ...]  # key and foreign keys: null -> null_key
    # (reason, column, kind, argument): kind regex = must match, min = must be >= argument, in = one of argument
    rules: tuple[tuple[str, str, str, object], ...] = field(default=())


_TS = {"created_at": "timestamp", "updated_at": "timestamp"}
CONTRACTS = {
    "customers": Contract(
        key="customer_id",
        columns={"customer_id": "int64", "email": "string", "full_name": "string", "country_code": "string",
                 "segment": "string", **_TS},
        required=("customer_id",),
        rules=(("malformed_email", "email", "regex", EMAIL),
               ("malformed_country_code", "country_code", "regex", r"^[A-Z]{2}$")),
    ),
    "products": Contract(
        key="product_id",
        columns={"product_id": "int64", "sku": "string", "name": "string", "category": "string",
                 "unit_price": "decimal(12,2)", **_TS},
        required=("product_id",),
        rules=(("malformed_sku", "sku", "regex", r"^SKU-\d{6}$"), ("negative_amount", "unit_price", "min", 0)),
    ),
    "orders": Contract(
        key="order_id",
        columns={"order_id": "int64", "customer_id": "int64", "status": "string", "currency": "string",
                 "total_amount": "decimal(14,2)", **_TS},
        required=("order_id", "customer_id"),
        rules=(("malformed_currency", "currency", "regex", r"^[A-Z]{3}$"),
               ("malformed_status", "status", "in", STATUSES),
               ("negative_amount", "total_amount", "min", 0)),
    ),
    "order_items": Contract(
        key="order_item_id",
        columns={"order_item_id": "int64", "order_id": "int64", "product_id": "int64", "quantity": "int32",
                 "unit_price": "decimal(12,2)", "amount": "decimal(14,2)", **_TS},
        required=("order_item_id", "order_id", "product_id"),
        rules=(("negative_quantity", "quantity", "min", 0), ("negative_amount", "unit_price", "min", 0),
               ("negative_amount", "amount", "min", 0)),
    ),
}


def arrow_type(kind: str):
    import pyarrow as pa

    if kind.startswith("decimal("):
        precision, scale = (int(x) for x in kind[8:-1].split(","))
        return pa.decimal128(precision, scale)
    return {"int64": pa.int64(), "int32": pa.int32(), "string": pa.string(),
            "timestamp": pa.timestamp("us")}[kind]  # timestamps: naive, UTC by convention (Redshift TIMESTAMP)


def curated_schema(table: str):
    import pyarrow as pa

    return pa.schema([(name, arrow_type(kind)) for name, kind in CONTRACTS[table].columns.items()])


@dataclass
class Result:
    valid: object  # pyarrow.Table with curated_schema(table)
    quarantine: object  # pyarrow.Table: the raw columns as text + reject_reason + source_row
    report: dict


def _parse(series, kind: str):
    """(parsed values, mask of values that were present but did not parse)."""
    import pandas as pd

    present = series.notna()
    if kind in ("int64", "int32"):
        numbers = pd.to_numeric(series, errors="coerce").astype("float64")  # exact to 2**53
        whole = numbers.notna() & (numbers % 1 == 0)
        return numbers.where(whole), present & ~whole
    if kind.startswith("decimal("):
        scale = int(kind[:-1].split(",")[1])
        text = series.astype("string").str.strip()
        ok = text.str.fullmatch(rf"-?\d+(\.\d{{1,{scale}}})?").fillna(False).astype(bool)
        return text.where(ok), present & ~ok
    if kind == "timestamp":
        stamps = pd.to_datetime(series, errors="coerce", utc=True)
        return stamps, present & stamps.isna()
    return series.astype("string"), present & False


def _empty_quarantine(raw_columns):
    import pyarrow as pa

    return pa.schema([(c, pa.string()) for c in raw_columns] + [("reject_reason", pa.string()), ("source_row", pa.int64())])


def curate(raw, table: str) -> Result:
    """Splits a raw extract (pyarrow.Table) into curated rows and quarantined rows with a reject_reason."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    if table not in CONTRACTS:
        raise CurationError(f"no contract for table {table!r}; known: {', '.join(CONTRACTS)}")
    contract = CONTRACTS[table]
    raw_columns = list(raw.column_names)
    if raw.num_rows == 0 and not raw_columns:
        raw_columns = list(contract.columns)
    missing = [c for c in contract.columns if c not in raw_columns]
    if missing:
        raise CurationError(f"{table}: raw data lacks contract column(s) {', '.join(missing)} "
                            f"(has {', '.join(raw_columns) or 'none'}); fix the extract or the contract")
    extra = [c for c in raw_columns if c not in contract.columns]
    frame = raw.to_pandas() if raw.num_rows else pd.DataFrame(
        {c: pd.Series([], dtype=object) for c in raw_columns})
    n = len(frame)
    reason = pd.Series([None] * n, dtype=object)

    def flag(mask, why: str) -> None:
        mask = np.asarray(mask, dtype=bool) & reason.isna().to_numpy()
        reason[mask] = why

    parsed = {}
    for column, kind in contract.columns.items():
        values, bad = _parse(frame[column], kind)
        parsed[column] = values.reset_index(drop=True)
        if column in contract.required:
            flag(frame[column].isna().to_numpy(), "null_key")
        flag(bad.to_numpy(), f"malformed_{column}")
    flag(parsed["updated_at"].isna().to_numpy(), "null_updated_at")
    typed = pd.DataFrame(parsed)

    # dedupe among the rows still in play: latest updated_at wins, the last one read on a tie
    live = np.flatnonzero(reason.isna().to_numpy())
    if len(live):
        candidates = typed.iloc[live].assign(_row=live)
        ordered = candidates.sort_values([contract.key, "updated_at", "_row"], kind="stable")
        losers = ordered[ordered.duplicated(contract.key, keep="last")]
        if len(losers):
            winners = ordered.drop_duplicates(contract.key, keep="last").set_index(contract.key)["_row"]
            digest = pd.util.hash_pandas_object(typed[list(contract.columns)].astype("string"), index=False).to_numpy()
            winner_rows = winners.loc[losers[contract.key]].to_numpy()
            same = digest[losers["_row"].to_numpy()] == digest[winner_rows]
            flag(np.isin(np.arange(n), losers["_row"].to_numpy()[same]), "duplicate_row")
            flag(np.isin(np.arange(n), losers["_row"].to_numpy()[~same]), "superseded_duplicate")

    for why, column, kind, argument in contract.rules:
        values = typed[column]
        if kind == "regex":
            broken = values.notna() & ~values.astype("string").str.fullmatch(argument).fillna(False).astype(bool)
        elif kind == "min":
            broken = pd.to_numeric(values, errors="coerce") < argument
        else:
            broken = values.notna() & ~values.isin(argument)
        flag(broken.fillna(False).to_numpy(dtype=bool), why)

    keep = reason.isna().to_numpy()
    valid = _to_arrow(typed[keep], table)
    bad_rows = np.flatnonzero(~keep)
    taken = raw.take(pa.array(bad_rows, pa.int64())) if raw.num_columns else None
    quarantine = pa.table(
        {c: _as_text(taken.column(c)) if taken is not None else pa.array([], pa.string()) for c in raw_columns}
        | {"reject_reason": pa.array(reason.iloc[bad_rows].tolist(), pa.string()),
           "source_row": pa.array(bad_rows, pa.int64())},
        schema=_empty_quarantine(raw_columns))
    by_reason = {k: int(v) for k, v in sorted(reason.dropna().value_counts().items())}
    report = {
        "table": table, "rows_in": n, "rows_valid": int(keep.sum()), "rows_quarantined": int((~keep).sum()),
        "quarantined_by_reason": by_reason, "extra_columns": extra,
    }
    report["invariant_holds"] = report["rows_in"] == report["rows_valid"] + report["rows_quarantined"]
    return Result(valid, quarantine, report)


def _as_text(column):
    """Quarantine keeps raw values as text, so any raw type (and schema drift) fits one stable schema."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_null(column.type):
        return pa.nulls(len(column), pa.string())
    return pc.cast(column, pa.string())


def _to_arrow(typed, table: str):
    import pyarrow as pa
    import pyarrow.compute as pc

    arrays = []
    for field_ in curated_schema(table):
        values = typed[field_.name]
        if pa.types.is_timestamp(field_.type):
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
            arrays.append(pa.array(values.astype("datetime64[us]"), field_.type))
        elif pa.types.is_decimal(field_.type):
            text = values.astype(object).where(values.notna(), None).tolist()
            arrays.append(pc.cast(pa.array(text, pa.string()), field_.type))
        elif pa.types.is_integer(field_.type):
            arrays.append(pa.array(values.astype("float64"), from_pandas=True).cast(field_.type))  # NaN -> null
        else:  # pandas' missing-value markers (NA, NaN) become Arrow nulls
            arrays.append(pa.array(values.astype(object).where(values.notna(), None).tolist(), field_.type))
    return pa.Table.from_arrays(arrays, schema=curated_schema(table))


# ---------------------------------------------------------------- S3 I/O and the job entry point

def interval_prefix(area: str, table: str, dt: str) -> str:
    return f"{area}/{table}/dt={dt}/"


def _keys(s3, bucket: str, prefix: str) -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [obj["Key"] for obj in page.get("Contents", [])]
    return sorted(keys)


def read_raw(s3, bucket: str, table: str, dt: str):
    """All Parquet objects of one raw interval as one table; CurationError if the extract never ran."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    prefix = interval_prefix(RAW, table, dt)
    keys = [k for k in _keys(s3, bucket, prefix) if k.endswith(".parquet")]
    if not keys:
        raise CurationError(f"no raw Parquet under s3://{bucket}/{prefix}: run the extract for {dt} first")
    parts = [pq.read_table(io.BytesIO(s3.get_object(Bucket=bucket, Key=k)["Body"].read())) for k in keys]
    parts = [p.replace_schema_metadata(None) for p in parts if p.num_columns]
    if not parts:
        return pa.table({})
    return pa.concat_tables(parts, promote_options="permissive")


def replace_prefix(s3, bucket: str, prefix: str, table) -> str:
    """Writes `table` as the prefix's only object: overwrite the fixed name, then drop anything else (idempotent)."""
    import pyarrow.parquet as pq

    key = prefix + "part-00000.parquet"
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="snappy")
    s3.put_object(Bucket=bucket, Key=key, Body=buf.getvalue())
    stale = [k for k in _keys(s3, bucket, prefix) if k != key]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in stale[start:start + 1000]]})
    return f"s3://{bucket}/{key}"


def curate_interval(s3, bucket: str, table: str, dt: str) -> dict:
    """Curates one table's interval from S3 raw into curated/ + quarantine/ and writes the counts report last."""
    result = curate(read_raw(s3, bucket, table, dt), table)
    report = {**result.report, "dt": dt,
              "curated": replace_prefix(s3, bucket, interval_prefix(CURATED, table, dt), result.valid),
              "quarantine": replace_prefix(s3, bucket, interval_prefix(QUARANTINE, table, dt), result.quarantine)}
    report_key = interval_prefix(REPORTS, table, dt) + "counts.json"
    s3.put_object(Bucket=bucket, Key=report_key, Body=json.dumps(report, indent=2).encode(), ContentType="application/json")
    report["report"] = f"s3://{bucket}/{report_key}"
    return report


def resolve_args(argv: list[str], names: list[str]) -> dict:
    """awsglue.utils.getResolvedOptions semantics (--name value), for running without the Glue libraries."""
    found = {}
    for name in names:
        flag = f"--{name}"
        if flag not in argv or argv.index(flag) + 1 >= len(argv):
            raise CurationError(f"missing job argument {flag}")
        found[name] = argv[argv.index(flag) + 1]
    return found


def run_job(args: dict, s3=None) -> list[dict]:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", args["dt"]):
        raise CurationError(f"--dt must be YYYY-MM-DD, got {args['dt']!r}")
    tables = [t.strip() for t in args["tables"].split(",") if t.strip()]
    unknown = [t for t in tables if t not in CONTRACTS]
    if unknown or not tables:
        raise CurationError(f"--tables must list some of {', '.join(CONTRACTS)}; got {args['tables']!r}")
    if s3 is None:
        import boto3  # honours AWS_ENDPOINT_URL: the same code runs on Glue and against the local cloud

        s3 = boto3.client("s3")
    reports = []
    for table in tables:
        report = curate_interval(s3, args["data_bucket"], table, args["dt"])
        print(json.dumps({k: report[k] for k in ("table", "dt", "rows_in", "rows_valid", "rows_quarantined",
                                                   "quarantined_by_reason", "extra_columns")}), flush=True)
        reports.append(report)
    return reports
