"""Result sets of finished statements, kept on disk (one Parquet file per statement, one row group per page) so
a million-row SELECT costs no memory while it waits for GetStatementResult, and typed as the Data API types them."""

from __future__ import annotations

import base64
import datetime as dt
import decimal
import json
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

# The Data API refuses result sets over 100 MB (AWS: "Database response exceeded size limit").
MAX_RESULT_BYTES = 100 * 1024 * 1024
# A GetStatementResult page; AWS pages by size, not by a row count the caller can choose.
PAGE_BYTES = 4 * 1024 * 1024
RESULT_TOO_LARGE = ("Database response exceeded size limit: the Data API returns at most 100 MB per result set. "
                    "Add a LIMIT, or UNLOAD large results to S3.")


class ResultTooLarge(Exception):
    pass


@dataclass
class Column:
    name: str
    type_name: str
    kind: str  # which Field member carries the value: long, double, boolean, string, blob
    precision: int = 0
    scale: int = 0
    signed: bool = False

    def metadata(self) -> dict:
        return {
            "name": self.name, "label": self.name, "typeName": self.type_name, "columnDefault": None,
            "isCaseSensitive": self.type_name in ("varchar", "bpchar", "text"), "isCurrency": False,
            "isSigned": self.signed, "length": 0, "nullable": 1, "precision": self.precision, "scale": self.scale,
            "schemaName": "", "tableName": "",
        }


def column_of(name: str, dtype: pa.DataType) -> Column:
    """Redshift's type name and the Field member for an Arrow type produced by DuckDB."""
    if pa.types.is_integer(dtype):
        names = {8: "int2", 16: "int2", 32: "int4", 64: "int8"}
        return Column(name, names[dtype.bit_width], "long", precision=len(str(2 ** dtype.bit_width)), signed=True)
    if pa.types.is_floating(dtype):
        return Column(name, "float4" if dtype.bit_width == 32 else "float8", "double",
                      precision=8 if dtype.bit_width == 32 else 17, signed=True)
    if pa.types.is_boolean(dtype):
        return Column(name, "bool", "boolean", precision=1)
    if pa.types.is_decimal(dtype) and dtype.precision == 38 and dtype.scale == 0:
        # DuckDB's SUM/COUNT over integers is HUGEINT (Arrow decimal(38,0)); Redshift's SUM(int) is int8
        return Column(name, "int8", "long", precision=19, signed=True)
    if pa.types.is_decimal(dtype):
        return Column(name, "numeric", "string", precision=dtype.precision, scale=dtype.scale, signed=True)
    if pa.types.is_timestamp(dtype):
        return Column(name, "timestamptz" if dtype.tz else "timestamp", "string", precision=29, scale=6)
    if pa.types.is_date(dtype):
        return Column(name, "date", "string", precision=13)
    if pa.types.is_time(dtype):
        return Column(name, "time", "string", precision=15, scale=6)
    if pa.types.is_binary(dtype) or pa.types.is_large_binary(dtype):
        return Column(name, "varbyte", "blob")
    if pa.types.is_string(dtype) or pa.types.is_large_string(dtype) or pa.types.is_string_view(dtype):
        return Column(name, "varchar", "string", precision=65535)
    return Column(name, "super", "string")  # lists, structs, maps: JSON text, as Redshift returns SUPER


def _string(value) -> str:
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, (dt.date, dt.time, decimal.Decimal)):
        return str(value)
    if isinstance(value, (dt.timedelta,)):
        return str(value)
    if isinstance(value, (list, dict, tuple)):
        return json.dumps(value, default=str)
    return str(value)


def _field(kind: str, value) -> dict:
    if value is None:
        return {"isNull": True}
    if kind == "long":
        return {"longValue": int(value)}
    if kind == "double":
        return {"doubleValue": float(value)}
    if kind == "boolean":
        return {"booleanValue": bool(value)}
    if kind == "blob":
        return {"blobValue": base64.b64encode(value).decode()}
    return {"stringValue": _string(value)}


@dataclass
class ResultSet:
    path: Path
    columns: list[Column]
    rows: int = 0
    size: int = 0
    pages: list[int] = field(default_factory=list)  # rows per page (= per row group)

    @property
    def page_count(self) -> int:
        return len(self.pages)

    def page(self, index: int) -> list[list[dict]]:
        if not self.pages:
            return []
        table = pq.ParquetFile(self.path).read_row_group(index)
        values = [table.column(i).to_pylist() for i in range(table.num_columns)]
        kinds = [c.kind for c in self.columns]
        return [[_field(kinds[c], values[c][r]) for c in range(len(kinds))] for r in range(table.num_rows)]

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)


def write(reader: pa.RecordBatchReader, path: Path) -> ResultSet:
    """Streams a query's batches into a Parquet file, one row group per page; refuses results over 100 MB."""
    schema = reader.schema
    columns = [column_of(f.name, f.type) for f in schema]
    result = ResultSet(path, columns)
    pending: list[pa.RecordBatch] = []
    pending_bytes = 0
    with pq.ParquetWriter(path, schema, compression="none") as writer:
        def flush():
            nonlocal pending, pending_bytes
            if pending:
                table = pa.Table.from_batches(pending, schema)
                writer.write_table(table, row_group_size=max(1, table.num_rows))
                result.pages.append(table.num_rows)
                pending, pending_bytes = [], 0

        for batch in reader:
            # JSON with one {"xValue": ...} object per field is a few times larger than Arrow's buffers.
            size = batch.nbytes * 3 + batch.num_rows * len(columns) * 16
            result.size += size
            result.rows += batch.num_rows
            if result.size > MAX_RESULT_BYTES:
                raise ResultTooLarge(RESULT_TOO_LARGE)
            if pending_bytes + size > PAGE_BYTES and pending:
                flush()
            if size > PAGE_BYTES and batch.num_rows > 1:  # split a big batch so pages stay near PAGE_BYTES
                step = max(1, int(batch.num_rows * PAGE_BYTES / size))
                for offset in range(0, batch.num_rows, step):
                    pending = [batch.slice(offset, step)]
                    flush()
                continue
            pending.append(batch)
            pending_bytes += size
        flush()
    return result
