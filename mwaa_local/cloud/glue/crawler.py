"""What a crawler finds under its S3 targets: tables (one per top-level folder), their Hive-style partitions, and
the columns inferred from the files (Parquet footers, the head of CSV with a header, JSON lines). No catalog
writes here (catalog.py does those)."""

from __future__ import annotations

import dataclasses
import gzip
import io
import posixpath
import re
from collections.abc import Callable, Iterable

import pyarrow as pa

from mwaa_local.cloud.s3_objects import S3Objects, split_uri

HEAD_BYTES = 1 << 20  # CSV / JSON types are inferred from the first MiB of a file
FORMATS = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".json": "json", ".jsonl": "json",
           ".ndjson": "json"}


class CrawlError(Exception):
    """A crawl that cannot complete; the message becomes LastCrawl.ErrorMessage."""


@dataclasses.dataclass
class FileSchema:
    columns: list[tuple[str, str]]
    records: int | None


@dataclasses.dataclass
class PartitionScan:
    values: list[str]
    location: str
    columns: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    objects: int = 0
    size: int = 0
    records: int = 0


@dataclasses.dataclass
class TableScan:
    name: str
    location: str
    format: str
    partition_keys: list[str]
    columns: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    partitions: dict[tuple, PartitionScan] = dataclasses.field(default_factory=dict)
    objects: int = 0
    size: int = 0
    records: int = 0
    warnings: list[str] = dataclasses.field(default_factory=list)


# -- Glue types -------------------------------------------------------------------------------------------------
def glue_type(t: pa.DataType) -> str:
    """The Hive/Glue type name Glue's classifiers give an Arrow type."""
    if pa.types.is_boolean(t):
        return "boolean"
    if pa.types.is_int8(t) or pa.types.is_uint8(t):
        return "tinyint"
    if pa.types.is_int16(t) or pa.types.is_uint16(t):
        return "smallint"
    if pa.types.is_int32(t):
        return "int"
    if pa.types.is_integer(t):
        return "bigint"
    if pa.types.is_float16(t) or pa.types.is_float32(t):
        return "float"
    if pa.types.is_float64(t):
        return "double"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "timestamp"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return "binary"
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        return f"array<{glue_type(t.value_type)}>"
    if pa.types.is_map(t):
        return f"map<{glue_type(t.key_type)},{glue_type(t.item_type)}>"
    if pa.types.is_struct(t):
        return "struct<" + ",".join(f"{t.field(i).name}:{glue_type(t.field(i).type)}" for i in range(t.num_fields)) + ">"
    if pa.types.is_dictionary(t):
        return glue_type(t.value_type)
    return "string"  # strings, nulls and anything without a Hive equivalent


_NUMERIC_RANK = {"tinyint": 0, "smallint": 1, "int": 2, "bigint": 3, "float": 4, "double": 5}


def wider(a: str, b: str) -> str:
    """The type that holds values of both (how a crawler reconciles files that disagree)."""
    if a == b:
        return a
    if a in _NUMERIC_RANK and b in _NUMERIC_RANK:
        return a if _NUMERIC_RANK[a] >= _NUMERIC_RANK[b] else b
    if {a, b} == {"date", "timestamp"}:
        return "timestamp"
    return "string"


def merge_columns(*column_lists: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Union in order of first appearance; a column that appears with different types gets the wider one."""
    merged: dict[str, str] = {}
    for columns in column_lists:
        for name, type_ in columns:
            merged[name] = wider(merged[name], type_) if name in merged else type_
    return list(merged.items())


def _columns(schema: pa.Schema) -> list[tuple[str, str]]:
    return [(f.name.lower(), glue_type(f.type)) for f in schema if not f.name.startswith("__index_level_")]


# -- reading files ----------------------------------------------------------------------------------------------
def file_format(key: str, head: bytes | None = None) -> str | None:
    name = key.lower().removesuffix(".gz").removesuffix(".snappy")
    for ext, fmt in FORMATS.items():
        if name.endswith(ext):
            return fmt
    if head is not None:
        if head[:4] == b"PAR1":
            return "parquet"
        if head.lstrip()[:1] == b"{":
            return "json"
    return None


def _head(data: bytes, key: str) -> tuple[bytes, bool]:
    """The first HEAD_BYTES (decompressed), cut at a line end; and whether that is the whole file."""
    if key.lower().endswith(".gz"):
        data = gzip.decompress(data)
    if len(data) <= HEAD_BYTES:
        return data, True
    head = data[:HEAD_BYTES]
    return head[: head.rfind(b"\n") + 1] or head, False


def read_schema(data: bytes, key: str, fmt: str) -> FileSchema:
    try:
        if fmt == "parquet":
            import pyarrow.parquet as pq

            parquet = pq.ParquetFile(pa.BufferReader(data))
            return FileSchema(_columns(parquet.schema_arrow), parquet.metadata.num_rows)
        head, whole = _head(data, key)
        if fmt == "csv":
            import pyarrow.csv as pcsv

            table = pcsv.read_csv(io.BytesIO(head))
        else:
            import pyarrow.json as pjson

            table = pjson.read_json(io.BytesIO(head))
        return FileSchema(_columns(table.schema), table.num_rows if whole else None)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise CrawlError(f"cannot read {fmt} file {key}: {exc}") from exc


# -- layout ----------------------------------------------------------------------------------------------------
def glob_regex(pattern: str) -> re.Pattern:
    """Glue exclude patterns: glob relative to the include path; `**` crosses folders, `*` does not."""
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**", i):
            out += ".*"
            i += 2
        elif pattern[i] == "*":
            out += "[^/]*"
            i += 1
        elif pattern[i] == "?":
            out += "[^/]"
            i += 1
        elif pattern[i] == "{" and "}" in pattern[i:]:
            end = pattern.index("}", i)
            out += "(?:" + "|".join(re.escape(p) for p in pattern[i + 1:end].split(",")) + ")"
            i = end + 1
        else:
            out += re.escape(pattern[i])
            i += 1
    return re.compile(out + r"\Z")


def table_name(name: str, prefix: str = "") -> str:
    """Glue lower-cases table names and replaces what is not a letter, digit or underscore."""
    return re.sub(r"[^a-z0-9_]", "_", (prefix + name).lower())


def _partition(folder: str, index: int) -> tuple[str, str]:
    key, sep, value = folder.partition("=")
    return (key.lower(), value) if sep and key else (f"partition_{index}", folder)


def scan_target(s3: S3Objects, path: str, exclusions: list[str] | None = None, table_prefix: str = "",
                should_stop: Callable[[], bool] = lambda: False) -> dict[str, TableScan]:
    """Tables under one S3 target, like Glue: `<path>/<table>/k=v/.../file`; files directly under the path (or
    directly in Hive partition folders) make one table named after the path's last folder."""
    bucket, prefix = split_uri(path)
    if prefix and not prefix.endswith("/") and not s3.exists(bucket, prefix):
        prefix += "/"
    excluded = [glob_regex(p) for p in exclusions or []]
    root_name = posixpath.basename(prefix.rstrip("/")) or bucket
    tables: dict[str, TableScan] = {}
    for key, size in s3.list_keys(bucket, prefix):
        if should_stop():
            break
        rel = key[len(prefix):] if prefix.endswith("/") else posixpath.basename(key)
        base = posixpath.basename(rel)
        if not base or base.startswith(("_", ".")) or size == 0 or any(r.match(rel) for r in excluded):
            continue
        folders = rel.split("/")[:-1]
        if not folders or "=" in folders[0]:
            name, location, partition_folders = root_name, f"s3://{bucket}/{prefix}", folders
        else:
            name, partition_folders = folders[0], folders[1:]
            location = f"s3://{bucket}/{prefix}{folders[0]}/"
        data = s3.get(bucket, key)
        fmt = file_format(key, data[:64])
        if fmt is None:
            continue  # Glue's built-in classifiers do not recognise it either
        parts = [_partition(folder, i) for i, folder in enumerate(partition_folders)]
        keys = [k for k, _ in parts]
        full_name = table_name(name, table_prefix)
        table = tables.setdefault(full_name, TableScan(full_name, location, fmt, keys))
        if keys != table.partition_keys or fmt != table.format:
            table.warnings.append(f"skipped {key}: its layout ({fmt}, partitions {keys}) differs from the "
                                  f"table's ({table.format}, partitions {table.partition_keys})")
            continue
        schema = read_schema(data, key, fmt)
        columns = [c for c in schema.columns if c[0] not in keys]  # partition keys live in PartitionKeys
        table.columns = merge_columns(table.columns, columns)
        table.objects += 1
        table.size += size
        table.records += schema.records or 0
        if keys:
            values = tuple(v for _, v in parts)
            folder = location + "".join(f + "/" for f in partition_folders)
            partition = table.partitions.setdefault(values, PartitionScan(list(values), folder))
            partition.columns = merge_columns(partition.columns, columns)
            partition.objects += 1
            partition.size += size
            partition.records += schema.records or 0
    return tables


def scan(s3: S3Objects, targets: list[dict], table_prefix: str = "",
         should_stop: Callable[[], bool] = lambda: False) -> dict[str, TableScan]:
    if not targets:
        raise CrawlError("the crawler has no S3Targets; the local cloud crawls S3 targets only")
    found: dict[str, TableScan] = {}
    for target in targets:
        path = target.get("Path") or ""
        if not path.startswith("s3://"):
            raise CrawlError(f"S3 target path {path!r} must start with s3://")
        if not s3.bucket_exists(split_uri(path)[0]):
            raise CrawlError(f"S3 target {path}: bucket {split_uri(path)[0]} does not exist")
        for name, table in scan_target(s3, path, target.get("Exclusions"), table_prefix, should_stop).items():
            if name in found:  # two targets with a same-named folder: Glue keeps them apart by suffixing
                name = f"{name}_{len(found)}"
                table.name = name
            found[name] = table
    return found
