"""A PostgreSQL query to a Parquet file, fast and in bounded memory, with exact types.

PostgreSQL's COPY (SELECT ...) TO STDOUT (FORMAT csv) streams the rows in C (psycopg2's copy_expert, on a thread)
into a pipe; Arrow's multi-threaded CSV reader reads the other end in blocks of `block_bytes`, each block becoming
one Parquet row group, while PostgreSQL produces the next. Memory stays bounded by the block size whatever the row count; nothing goes through
Python objects row by row (the provider's pandas path does, and spends most of the extract's time there).

Types come from the query's result description, never from inference, so they round-trip exactly:
  bigint/integer/smallint -> int64/int32/int16; numeric(p,s) -> decimal128(p,s) (unconstrained numeric, or p > 38:
  its exact text); timestamptz -> timestamp[us, UTC] (the session's TimeZone is UTC); timestamp -> timestamp[us];
  date -> date32; boolean; real/double; text, varchar, char and any other type -> string (PostgreSQL's text form).
  NULL stays null and '' stays '' (COPY writes NULL unquoted and '' quoted; only the unquoted empty field is null).
pyarrow is imported inside functions: DAG files import the operator that uses this at parse time.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

PIPE_BUFFER = 1024 * 1024
BLOCK_BYTES = 8 * 1024 * 1024  # CSV read per batch = one Parquet row group (~85,000 order lines)
_NUMERIC, _TIMESTAMPTZ = 1700, 1184
_FIXED = {16: "bool", 20: "int64", 21: "int16", 23: "int32", 26: "int64", 700: "float32", 701: "float64",
          1082: "date32", 1114: "timestamp", _TIMESTAMPTZ: "timestamptz"}


class ExtractError(RuntimeError):
    """The query's result cannot be written as typed Parquet (message says which column and why)."""


@dataclass(frozen=True)
class Written:
    path: Path
    rows: int
    row_groups: int
    schema: object  # pyarrow.Schema


def arrow_type(type_code: int, precision: int | None = None, scale: int | None = None):
    """The Arrow type for a PostgreSQL type OID (and numeric's precision/scale from its typmod)."""
    import pyarrow as pa

    if type_code == _NUMERIC:
        if precision is not None and scale is not None and 0 < precision <= 38 and 0 <= scale <= precision:
            return pa.decimal128(precision, scale)
        return pa.string()  # unconstrained numeric: any scale per value; its exact text is the honest type
    kind = _FIXED.get(type_code)
    if kind is None:
        return pa.string()
    return {"bool": pa.bool_(), "int64": pa.int64(), "int32": pa.int32(), "int16": pa.int16(),
            "float32": pa.float32(), "float64": pa.float64(), "date32": pa.date32(),
            "timestamp": pa.timestamp("us"), "timestamptz": pa.timestamp("us", tz="UTC")}[kind]


def result_schema(cursor, query: str):
    """The Arrow schema of `query`'s result, from PostgreSQL's own description (LIMIT 0: no rows read)."""
    import pyarrow as pa

    cursor.execute(f"SELECT * FROM ({query}) AS q LIMIT 0")
    names = [c.name for c in cursor.description]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ExtractError(f"the query returns column name(s) {', '.join(duplicated)} more than once; alias them")
    return pa.schema([(c.name, arrow_type(c.type_code, c.precision, c.scale)) for c in cursor.description])


def prepare_session(cursor) -> None:
    """UTC timestamps in ISO form, UTF-8 text: what the CSV reader is told to expect."""
    cursor.execute("SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET client_encoding = 'UTF8'; "
                   "SET IntervalStyle = 'iso_8601'; SET extra_float_digits = 3")


def copy_to_parquet(connection, query: str, dest: Path, block_bytes: int = BLOCK_BYTES) -> Written:
    """Runs `query` on a psycopg2 connection (in the caller's transaction) and writes its rows to `dest` as Parquet
    (snappy), one row group per CSV block read."""
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    cursor = connection.cursor()
    prepare_session(cursor)
    schema = result_schema(cursor, query)
    read = pacsv.ReadOptions(column_names=schema.names, block_size=block_bytes, encoding="utf8")
    text_columns = [f.name for f in schema if pa.types.is_string(f.type)]
    # Free text may hold line breaks (COPY quotes them); telling the reader costs it its fast block splitting,
    # so only results with text columns pay for it.
    parse = pacsv.ParseOptions(newlines_in_values=bool(text_columns))
    convert = pacsv.ConvertOptions(column_types={f.name: f.type for f in schema}, null_values=[""],
                                   strings_can_be_null=True, quoted_strings_can_be_null=False,
                                   true_values=["t"], false_values=["f"])
    rows = groups = 0
    with _copy_stream(connection, f"COPY ({query}) TO STDOUT WITH (FORMAT csv)") as stream:
        # dictionary encoding pays off for repetitive text (status, currency), not for keys, amounts or times
        with pq.ParquetWriter(dest, schema, compression="snappy", use_dictionary=text_columns or False) as writer:
            try:
                for batch in pacsv.open_csv(stream, read_options=read, parse_options=parse, convert_options=convert):
                    writer.write_batch(batch)
                    rows, groups = rows + batch.num_rows, groups + 1
            except pa.ArrowInvalid as exc:
                if "Empty CSV file" not in str(exc):  # no rows: an empty file with the schema is right
                    stream.raise_copy_error()
                    raise ExtractError(f"a value does not fit its column's type: {exc}") from exc
    return Written(Path(dest), rows, groups, schema)


class _copy_stream:  # noqa: N801 - used as a context manager, reads like a function
    """COPY ... TO STDOUT on a thread, into a pipe that the CSV reader reads: PostgreSQL produces the next rows
    while Arrow parses the previous block. A failed COPY is re-raised by the reader's side; a reader that
    stops early closes the pipe, which ends the COPY with a broken pipe (and the transaction is the caller's)."""

    def __init__(self, connection, copy_sql: str):
        self.connection, self.copy_sql = connection, copy_sql
        self.error: BaseException | None = None

    def _produce(self, write_fd: int) -> None:
        try:
            with os.fdopen(write_fd, "wb", buffering=PIPE_BUFFER) as sink:
                self.connection.cursor().copy_expert(self.copy_sql, sink, size=PIPE_BUFFER)
        except BaseException as exc:  # handed to the reading thread
            self.error = exc

    def __enter__(self):
        read_fd, write_fd = os.pipe()
        self.reader = os.fdopen(read_fd, "rb", buffering=0)
        self.thread = threading.Thread(target=self._produce, args=(write_fd,), name="pg-copy", daemon=True)
        self.thread.start()
        return self

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes, short only at the end: a pipe returns what is there, and the CSV reader would make
        every short read a batch (and a row group) of its own."""
        if size < 0:
            return self.reader.readall()
        parts, wanted = [], size
        while wanted > 0:
            part = self.reader.read(wanted)
            if not part:
                break
            parts.append(part)
            wanted -= len(part)
        return b"".join(parts)

    def readable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self.reader.closed

    def raise_copy_error(self) -> None:
        self.thread.join()
        if self.error is not None:
            raise ExtractError(f"COPY from PostgreSQL failed: {self.error}".strip()) from self.error

    def __exit__(self, exc_type, exc, tb) -> None:
        self.reader.close()  # an early exit unblocks the producer (broken pipe)
        self.thread.join()
        if exc_type is None and self.error is not None:
            raise ExtractError(f"COPY from PostgreSQL failed: {self.error}".strip()) from self.error
