"""Curation of the retail raw extracts: the library behind the Glue job include/glue/curate_retail.py.

Shipped to Glue with --extra-py-files (Python shell job, Python 3.9: DuckDB + pyarrow, no Spark, no pandas).
Streams: raw Parquet is copied from S3 to local disk in chunks, DuckDB reads it with a memory limit and spills to
a temp directory beyond it (the dedupe is an external-memory hash aggregate), and the outputs are written as
Parquet in record batches, so memory stays bounded whatever the interval's size.

Per table and interval, every raw row ends up in exactly one place, so rows_in = rows_valid + rows_quarantined:
  1. types: each contract column is parsed; a value that does not parse -> `malformed_<column>`;
     a missing key or foreign key -> `null_key`; a missing updated_at -> `null_updated_at`.
  2. dedupe by key, keeping the latest updated_at (ties: the last row read). Every other row of that key is
     quarantined as `duplicate_row` (identical to the kept row) or `superseded_duplicate` (an older or
     conflicting version). Dedupe runs BEFORE the business rules: if the latest version is bad, it is
     quarantined and no older version sneaks into the warehouse in its place.
  3. business rules on the kept rows (malformed emails/codes, negative quantities/amounts) -> their reason.
The first reason a row meets is its reason, in that order (per column in contract order for step 1).
Columns outside the contract (schema drift) are reported and left out of curated; a contract column missing
from the raw data fails the job (nothing is written), because curating without it would invent data.
"Row read order" is the raw objects in key order, rows in file order: `source_row` in quarantine counts in it.
Results equal the whole-table pandas curation this replaced (tests/unit/etl/test_curation_streaming_equivalence.py).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field

RAW, CURATED, QUARANTINE, REPORTS = "raw", "curated", "quarantine", "reports/curate"
JOB_ARGS = ["data_bucket", "tables", "dt"]
TABLES = ("customers", "products", "orders", "order_items")
EMAIL = r"^[^@\s]+@[^@\s]+\.[A-Za-z]{2,}$"
STATUSES = ("placed", "paid", "shipped", "delivered", "cancelled", "refunded")
# DuckDB's working memory; beyond it, sorts/aggregates/joins spill to the temp directory (Glue: /tmp, ~14 GiB).
MEMORY_LIMIT = os.environ.get("RETAIL_CURATION_MEMORY_LIMIT", "1GB")
BATCH_ROWS = 131_072  # rows per record batch when writing outputs and reading raw rows for quarantine
_CHUNK = 8 * 1024 * 1024  # S3 bodies are copied to disk in chunks of this size


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


def quarantine_schema(raw_schema):
    import pyarrow as pa

    return pa.schema([(f.name, pa.string()) for f in raw_schema]
                     + [("reject_reason", pa.string()), ("source_row", pa.int64())])


@dataclass
class Result:
    valid: object  # pyarrow.Table with curated_schema(table)
    quarantine: object  # pyarrow.Table: the raw columns as text + reject_reason + source_row
    report: dict


# ---------------------------------------------------------------- SQL generated from the contracts

def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _is_int(duck_type: str) -> bool:
    return duck_type in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT",
                         "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT")


def _is_float(duck_type: str) -> bool:
    return duck_type in ("FLOAT", "DOUBLE")


def _present(column: str, duck_type: str) -> str:
    """pandas' notna(): NaN is missing too."""
    col = _q(column)
    return f"({col} IS NOT NULL AND NOT isnan({col}))" if _is_float(duck_type) else f"({col} IS NOT NULL)"


def _parsed(column: str, kind: str, duck_type: str) -> str:
    """The typed value (NULL where missing or unparseable), matching the pandas parsing this replaced."""
    col = _q(column)
    if kind in ("int64", "int32"):
        target = "BIGINT" if kind == "int64" else "INTEGER"
        if _is_int(duck_type):
            return f"CAST({col} AS {target})"
        number = f"TRY_CAST(trim(CAST({col} AS VARCHAR)) AS DOUBLE)" if not (
            _is_float(duck_type) or duck_type.startswith("DECIMAL")) else f"CAST({col} AS DOUBLE)"
        return (f"CASE WHEN isfinite({number}) AND {number} = trunc({number}) "
                f"THEN CAST({number} AS {target}) END")
    if kind.startswith("decimal("):
        scale = int(kind[:-1].split(",")[1])
        text = f"trim(CAST({col} AS VARCHAR))"
        return f"CASE WHEN regexp_full_match({text}, {_lit(f'-?[0-9]+([.][0-9]{{1,{scale}}})?')}) THEN {text} END"
    if kind == "timestamp":
        if duck_type == "TIMESTAMP WITH TIME ZONE":
            return f"timezone('UTC', {col})"
        if duck_type.startswith("TIMESTAMP") or duck_type == "DATE":
            return f"CAST({col} AS TIMESTAMP)"
        return f"timezone('UTC', TRY_CAST({col} AS TIMESTAMPTZ))"
    return col if duck_type == "VARCHAR" else f"CAST({col} AS VARCHAR)"


def _output(column: str, kind: str) -> str:
    if kind.startswith("decimal("):
        return f"CAST(p_{column} AS DECIMAL{kind[7:]}) AS {_q(column)}"
    return f"p_{column} AS {_q(column)}"


def _rule(why: str, column: str, kind: str, argument) -> str:
    value = f"p_{column}"
    if kind == "regex":
        # RE2 semantics, as the pandas (pyarrow-backed strings) curation before: \s and \d are ASCII-only
        return f"WHEN {value} IS NOT NULL AND NOT regexp_full_match(CAST({value} AS VARCHAR), " \
               f"{_lit(str(argument))}) THEN {_lit(why)}"
    if kind == "min":
        return f"WHEN CAST({value} AS DOUBLE) < {float(argument)!r} THEN {_lit(why)}"
    choices = ", ".join(_lit(str(a)) for a in argument)
    return f"WHEN {value} IS NOT NULL AND CAST({value} AS VARCHAR) NOT IN ({choices}) THEN {_lit(why)}"


# ---------------------------------------------------------------- curating local Parquet files

@dataclass
class _Raw:
    files: list[str]  # local Parquet paths in read order (the S3 keys' order), files without columns left out
    offsets: dict[str, int]  # file -> row index of its first row in read order
    schema: object  # pyarrow schema of the concatenation (permissive promotion, as pa.concat_tables)
    rows: int


def _scan_raw(paths: list[str]) -> _Raw:
    import pyarrow as pa
    import pyarrow.parquet as pq

    files, offsets, schemas, rows = [], {}, [], 0
    for path in paths:
        meta = pq.read_metadata(path)
        schema = meta.schema.to_arrow_schema().remove_metadata()
        if not len(schema):
            continue
        files.append(path)
        offsets[path] = rows
        schemas.append(schema)
        rows += meta.num_rows
    schema = pa.unify_schemas(schemas, promote_options="permissive") if schemas else pa.schema([])
    return _Raw(files, offsets, schema, rows)


def _connect(workdir: str):
    import duckdb

    con = duckdb.connect(os.path.join(workdir, "curate.duckdb"))
    spill = os.path.join(workdir, "spill")
    os.makedirs(spill, exist_ok=True)
    con.execute(f"SET memory_limit = {_lit(MEMORY_LIMIT)}")
    con.execute(f"SET temp_directory = {_lit(spill)}")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET preserve_insertion_order = true")
    con.execute("SET enable_progress_bar = false")
    return con


def _stage(con, raw: _Raw, contract: Contract) -> None:
    """`staged`: per raw row its read-order index, the typed contract columns and the reason of step 1."""
    listing = "[" + ", ".join(_lit(f) for f in raw.files) + "]"
    source = f"read_parquet({listing}, union_by_name = true, filename = true, file_row_number = true)"
    types = {name: duck_type for name, duck_type, *_ in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
    con.execute("CREATE TEMP TABLE offsets (filename VARCHAR, row_offset BIGINT)")
    con.executemany("INSERT INTO offsets VALUES (?, ?)", list(raw.offsets.items()))
    reasons = []
    for column, kind in contract.columns.items():
        if column in contract.required:
            reasons.append(f"WHEN NOT {_present(column, types[column])} THEN 'null_key'")
        reasons.append(f"WHEN {_present(column, types[column])} AND ({_parsed(column, kind, types[column])}) IS NULL "
                       f"THEN {_lit('malformed_' + column)}")
    reasons.append(f"WHEN ({_parsed('updated_at', 'timestamp', types['updated_at'])}) IS NULL THEN 'null_updated_at'")
    parsed = ", ".join(f"{_parsed(c, k, types[c])} AS p_{c}" for c, k in contract.columns.items())
    con.execute(f"""
        CREATE TABLE staged AS
        SELECT o.row_offset + r.file_row_number AS _row, {parsed}, CASE {' '.join(reasons)} END AS reason
        FROM {source} r JOIN offsets o USING (filename)""")


def _dedupe(con, contract: Contract) -> None:
    """`losers`: rows of a key seen more than once among rows still in play, except the latest (updated_at, then
    the last read), with duplicate_row / superseded_duplicate. Only hash aggregates and hash joins, which spill to
    disk past the memory limit; keys seen once (nearly all) never leave the first aggregate."""
    key = f"p_{contract.key}"
    same = " AND ".join(f"l.p_{c} IS NOT DISTINCT FROM w.p_{c}" for c in contract.columns)
    con.execute(f"""
        CREATE TABLE repeated AS
        SELECT s.* FROM staged s
        SEMI JOIN (SELECT {key} FROM staged WHERE reason IS NULL GROUP BY {key} HAVING count(*) > 1) k USING ({key})
        WHERE s.reason IS NULL""")
    con.execute(f"""
        CREATE TABLE winners AS
        SELECT r.{key}, max(r._row) AS win
        FROM repeated r JOIN (SELECT {key}, max(p_updated_at) AS latest FROM repeated GROUP BY {key}) m
          ON r.{key} = m.{key} AND r.p_updated_at = m.latest
        GROUP BY r.{key}""")
    con.execute(f"""
        CREATE TABLE losers AS
        SELECT l._row, CASE WHEN {same} THEN 'duplicate_row' ELSE 'superseded_duplicate' END AS reason
        FROM repeated l JOIN winners k ON l.{key} = k.{key} AND l._row <> k.win
        JOIN repeated w ON w._row = k.win""")


def _final(con, contract: Contract) -> None:
    rules = " ".join(_rule(*rule) for rule in contract.rules)
    rule_reason = f"CASE {rules} END" if rules else "NULL"
    con.execute(f"""
        CREATE VIEW final AS
        SELECT s.*, coalesce(s.reason, l.reason, {rule_reason}) AS final_reason
        FROM staged s LEFT JOIN losers l USING (_row)""")


def _write_batches(reader, schema, path: str) -> int:
    import pyarrow.parquet as pq

    rows = 0
    with pq.ParquetWriter(path, schema, compression="snappy") as writer:
        for batch in reader:
            writer.write_batch(batch.cast(schema))
            rows += batch.num_rows
    return rows


def _reader(con, sql: str):
    """The query's result as a stream of Arrow record batches (DuckDB 1.x on Glue's Python 3.9, and 2.x)."""
    return con.sql(sql).fetch_arrow_reader(BATCH_ROWS)


class _BadRows:
    """The quarantined rows' (index, reason) in read order, consumed batch by batch."""

    def __init__(self, reader):
        self.reader, self.rows, self.reasons, self.at = reader, [], [], 0

    def until(self, end: int) -> list[tuple[int, str]]:
        picked = []
        while True:
            if self.at == len(self.rows):
                try:
                    batch = self.reader.read_next_batch()
                except StopIteration:
                    return picked
                self.rows, self.reasons, self.at = batch.column(0).to_pylist(), batch.column(1).to_pylist(), 0
                continue
            if self.rows[self.at] >= end:
                return picked
            picked.append((self.rows[self.at], self.reasons[self.at]))
            self.at += 1


def _write_quarantine(con, raw: _Raw, path: str) -> None:
    """The quarantined rows' RAW values as text (pyarrow's casts, as before), in read order, batch by batch: only
    the rows' indexes come from DuckDB; the values are read back from the raw files one batch at a time."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    schema = quarantine_schema(raw.schema)
    bad = _BadRows(_reader(con, "SELECT _row, final_reason FROM final WHERE final_reason IS NOT NULL ORDER BY _row"))
    with pq.ParquetWriter(path, schema, compression="snappy") as writer:
        for file in raw.files:
            start = raw.offsets[file]
            reader = pq.ParquetFile(file)
            for batch in reader.iter_batches(batch_size=BATCH_ROWS):
                end = start + batch.num_rows
                picked = bad.until(end)
                if picked:
                    taken = batch.take(pa.array([r - start for r, _ in picked], pa.int64()))
                    columns = {}
                    for field_ in raw.schema:
                        index = taken.schema.get_field_index(field_.name)
                        if index < 0:
                            columns[field_.name] = pa.nulls(len(picked), pa.string())
                            continue
                        column = taken.column(index)
                        if not pa.types.is_null(field_.type) and column.type != field_.type:
                            column = pc.cast(column, field_.type)  # as pa.concat_tables' permissive promotion
                        columns[field_.name] = (pa.nulls(len(picked), pa.string()) if pa.types.is_null(column.type)
                                                else pc.cast(column, pa.string()))
                    columns["reject_reason"] = pa.array([why for _, why in picked], pa.string())
                    columns["source_row"] = pa.array([r for r, _ in picked], pa.int64())
                    writer.write_table(pa.table(columns, schema=schema))
                start = end


def curate_files(paths: list[str], table: str, out_dir: str) -> dict:
    """Curates local raw Parquet files (in read order) into out_dir/curated.parquet and out_dir/quarantine.parquet;
    returns the report. All work happens in DuckDB on disk under out_dir, with a bounded memory."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if table not in CONTRACTS:
        raise CurationError(f"no contract for table {table!r}; known: {', '.join(CONTRACTS)}")
    contract = CONTRACTS[table]
    raw = _scan_raw(paths)
    raw_columns = raw.schema.names if len(raw.schema) else list(contract.columns)
    if not len(raw.schema):
        raw.schema = pa.schema([(c, pa.string()) for c in raw_columns])
    missing = [c for c in contract.columns if c not in raw_columns]
    if missing:
        raise CurationError(f"{table}: raw data lacks contract column(s) {', '.join(missing)} "
                            f"(has {', '.join(raw_columns) or 'none'}); fix the extract or the contract")
    extra = [c for c in raw_columns if c not in contract.columns]
    curated_path, quarantine_path = os.path.join(out_dir, "curated.parquet"), os.path.join(out_dir, "quarantine.parquet")
    if not raw.files:  # nothing to read: empty typed outputs
        pq.write_table(curated_schema(table).empty_table(), curated_path, compression="snappy")
        pq.write_table(quarantine_schema(raw.schema).empty_table(), quarantine_path, compression="snappy")
        by_reason: dict[str, int] = {}
    else:
        con = _connect(out_dir)
        try:
            _stage(con, raw, contract)
            _dedupe(con, contract)
            _final(con, contract)
            outputs = ", ".join(_output(c, k) for c, k in contract.columns.items())
            _write_batches(_reader(con, f"SELECT {outputs} FROM final WHERE final_reason IS NULL ORDER BY _row"),
                           curated_schema(table), curated_path)
            _write_quarantine(con, raw, quarantine_path)
            by_reason = dict(con.execute("SELECT final_reason, count(*) FROM final WHERE final_reason IS NOT NULL "
                                         "GROUP BY final_reason ORDER BY final_reason").fetchall())
        finally:
            con.close()
    quarantined = sum(by_reason.values())
    report = {
        "table": table, "rows_in": raw.rows, "rows_valid": raw.rows - quarantined, "rows_quarantined": quarantined,
        "quarantined_by_reason": {k: int(v) for k, v in sorted(by_reason.items())}, "extra_columns": extra,
    }
    valid_rows = pq.read_metadata(curated_path).num_rows
    report["invariant_holds"] = report["rows_in"] == valid_rows + report["rows_quarantined"]
    return report


def curate(raw, table: str) -> Result:
    """Splits a raw extract (pyarrow.Table) into curated rows and quarantined rows with a reject_reason: the
    streaming path on one in-memory table (for tests and small inputs)."""
    import pyarrow.parquet as pq

    if table not in CONTRACTS:
        raise CurationError(f"no contract for table {table!r}; known: {', '.join(CONTRACTS)}")
    workdir = tempfile.mkdtemp(prefix="curate-")
    try:
        paths = []
        if raw.num_columns:
            paths.append(os.path.join(workdir, "raw-00000.parquet"))
            pq.write_table(raw, paths[0])
        report = curate_files(paths, table, workdir)
        return Result(pq.read_table(os.path.join(workdir, "curated.parquet")),
                      pq.read_table(os.path.join(workdir, "quarantine.parquet")), report)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


# ---------------------------------------------------------------- S3 I/O and the job entry point

def interval_prefix(area: str, table: str, dt: str) -> str:
    return f"{area}/{table}/dt={dt}/"


def _keys(s3, bucket: str, prefix: str) -> list[str]:
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys += [obj["Key"] for obj in page.get("Contents", [])]
    return sorted(keys)


def download_raw(s3, bucket: str, table: str, dt: str, workdir: str) -> list[str]:
    """Copies one raw interval's Parquet objects to local files (chunk by chunk), in key order; CurationError if
    the extract never ran."""
    prefix = interval_prefix(RAW, table, dt)
    keys = [k for k in _keys(s3, bucket, prefix) if k.endswith(".parquet")]
    if not keys:
        raise CurationError(f"no raw Parquet under s3://{bucket}/{prefix}: run the extract for {dt} first")
    paths = []
    for number, key in enumerate(keys):
        path = os.path.join(workdir, f"raw-{number:05d}.parquet")
        body = s3.get_object(Bucket=bucket, Key=key)["Body"]
        with open(path, "wb") as out:
            shutil.copyfileobj(body, out, _CHUNK)
        paths.append(path)
    return paths


def replace_prefix(s3, bucket: str, prefix: str, path: str) -> str:
    """Uploads a local Parquet file as the prefix's only object: overwrite the fixed name, then drop anything else
    (idempotent). The upload streams from disk (multipart above its threshold)."""
    key = prefix + "part-00000.parquet"
    s3.upload_file(path, bucket, key)
    stale = [k for k in _keys(s3, bucket, prefix) if k != key]
    for start in range(0, len(stale), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in stale[start:start + 1000]]})
    return f"s3://{bucket}/{key}"


def curate_interval(s3, bucket: str, table: str, dt: str) -> dict:
    """Curates one table's interval from S3 raw into curated/ + quarantine/ and writes the counts report last."""
    workdir = tempfile.mkdtemp(prefix=f"curate-{table}-")
    try:
        report = curate_files(download_raw(s3, bucket, table, dt, workdir), table, workdir)
        report = {**report, "dt": dt,
                  "curated": replace_prefix(s3, bucket, interval_prefix(CURATED, table, dt),
                                            os.path.join(workdir, "curated.parquet")),
                  "quarantine": replace_prefix(s3, bucket, interval_prefix(QUARANTINE, table, dt),
                                               os.path.join(workdir, "quarantine.parquet"))}
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
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
