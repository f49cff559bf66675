"""UNLOAD ('select ...') TO 's3://bucket/prefix': DuckDB writes the files locally (partitioned, split by size),
then they are put into the local cloud's S3 in one durable step, named as Redshift names them
(<prefix>0000_part_00.parquet, <prefix>col=value/0000_part_00.parquet).

DuckDB writes only into the scratch area (its sandbox allows nothing else), and everything from the statement that
goes into DuckDB's COPY is quoted or validated: PARTITION BY names are quoted identifiers, DELIMITER / NULL AS are
quoted strings, numbers are numbers. Partition values and names with '/' are percent-encoded by DuckDB."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import duckdb
from sqlglot.tokens import Token, TokenType

from mwaa_local.cloud.redshift_data import options as opts
from mwaa_local.cloud.redshift_data.dialect import tokenize
from mwaa_local.cloud.redshift_data.errors import SqlError, redshift_message
from mwaa_local.cloud.redshift_data.quoting import quote_identifier, quote_literal
from mwaa_local.cloud.s3_objects import NoSuchBucket, S3Objects

NOT_EMPTY = ("Specified unload destination on S3 is not empty. Consider using a different bucket / prefix, "
             "manually removing the target files in S3, or using the ALLOWOVERWRITE option.")
MIN_FILE_SIZE, MAX_FILE_SIZE = 5 * 1024 ** 2, int(6.2 * 1024 ** 3)


_quote = quote_literal
_EXTENSION = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def parse(text: str) -> tuple[str, str, dict]:
    """UNLOAD ('<query>') TO '<uri>' <options> -> (query, uri, options). sqlglot swallows UNLOAD's body as one
    string, so the part after the keyword is tokenized again."""
    body = text.strip()[len("UNLOAD"):]
    tokens: list[Token] = tokenize(body)
    if (len(tokens) < 5 or tokens[0].token_type != TokenType.L_PAREN or tokens[1].token_type != TokenType.STRING
            or tokens[2].token_type != TokenType.R_PAREN or tokens[3].text.upper() != "TO"
            or tokens[4].token_type != TokenType.STRING):
        raise SqlError("syntax error in UNLOAD: expected UNLOAD ('select-statement') TO 's3://bucket/prefix' ...")
    return tokens[1].text, tokens[4].text, opts.parse(tokens[5:])


def _copy_options(options: dict) -> tuple[list[str], str]:
    """DuckDB COPY options and the file extension Redshift gives the parts."""
    copy: list[str] = []
    if options.get("PARQUET"):
        copy.append("FORMAT parquet")
        extension = ".parquet"
    else:
        csv = bool(options.get("CSV"))
        delimiter = opts.single_character(options, "DELIMITER", "," if csv else "|")
        copy += ["FORMAT csv", f"DELIMITER {_quote(delimiter)}", f"HEADER {'true' if options.get('HEADER') else 'false'}",
                 f"NULLSTR {_quote(str(options.get('NULL', '')))}"]
        if not csv and not options.get("ADDQUOTES"):
            copy.append("QUOTE ''")
        if options.get("ADDQUOTES"):
            copy.append("FORCE_QUOTE *")
        extension = ""
        if options.get("GZIP"):
            copy.append("COMPRESSION gzip")
            extension = ".gz"
        elif options.get("ZSTD"):
            copy.append("COMPRESSION zstd")
            extension = ".zst"
    if "EXTENSION" in options:
        extension = str(options["EXTENSION"]).lstrip(".")
        if not _EXTENSION.match(extension):
            raise SqlError(f"invalid EXTENSION '{options['EXTENSION']}': use letters, digits, '_' or '-'")
        extension = "." + extension
    return copy, extension


def run(conn: duckdb.DuckDBPyConnection, text: str, s3: S3Objects, tmp_root: Path,
        to_duckdb: Callable[[str], str]) -> int:
    """Executes one UNLOAD; returns the number of rows written. `to_duckdb` transpiles the inner query."""
    query, uri, options = parse(text)
    bucket, prefix = opts.s3_prefix(uri)
    if options.get("PARQUET") and (options.get("CSV") or options.get("HEADER") or "DELIMITER" in options):
        raise SqlError("UNLOAD FORMAT PARQUET cannot be used with CSV, HEADER or DELIMITER")
    size = options.get("MAXFILESIZE")
    if size is not None and not MIN_FILE_SIZE <= int(size) <= MAX_FILE_SIZE:
        raise SqlError("MAXFILESIZE must be between 5 MB and 6.2 GB")
    if not s3.bucket_exists(bucket):
        raise SqlError(f"S3ServiceException:The specified bucket does not exist,Status 404,Error NoSuchBucket (bucket {bucket})")
    existing = [k for k, _ in s3.list_keys(bucket, prefix)]
    if existing and options.get("CLEANPATH"):
        for key in existing:
            s3.delete(bucket, key)
    elif existing and not options.get("ALLOWOVERWRITE"):
        raise SqlError(NOT_EMPTY)

    copy, extension = _copy_options(options)
    partition = options.get("PARTITION BY")
    for column in partition or ():
        if "/" in column or "\\" in column or column in (".", ".."):
            raise SqlError(f'invalid PARTITION BY column "{column}": a partition column name cannot be a path')
    workdir = Path(tempfile.mkdtemp(prefix="unload-", dir=Path(tmp_root).absolute()))  # inside DuckDB's sandbox
    try:
        target = workdir / "out"
        if partition:
            copy.append(f"PARTITION_BY ({', '.join(quote_identifier(c) for c in partition)})")
            if options.get("INCLUDE"):
                copy.append("WRITE_PARTITION_COLUMNS true")
        if size:
            copy.append(f"FILE_SIZE_BYTES {int(size)}")
        if not partition and not size:
            target.mkdir()
            target = target / "data_0"
        try:
            rows = conn.execute(f"COPY ({to_duckdb(query)}) TO {_quote(str(target))} ({', '.join(copy)})").fetchone()[0]
        except duckdb.BinderException as exc:
            raise SqlError(redshift_message(exc)) from None
        objects = _name_parts(workdir / "out", prefix, extension)
        if options.get("MANIFEST"):
            manifest = {"entries": [{"url": f"s3://{bucket}/{key}"} for key in objects]}
            objects[prefix + "manifest"] = json.dumps(manifest, indent=2).encode()
        try:
            s3.put_files(bucket, objects)  # streamed from DuckDB's files
        except NoSuchBucket:
            raise SqlError("S3ServiceException:The specified bucket does not exist,Status 404") from None
        return rows
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _name_parts(root: Path, prefix: str, extension: str) -> dict[str, Path | bytes]:
    """DuckDB's data_<n> files -> Redshift's 0000_part_<nn> names, per partition directory."""
    objects: dict[str, Path | bytes] = {}
    directories: dict[Path, list[Path]] = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            directories.setdefault(path.parent, []).append(path)
    for directory, files in directories.items():
        relative = directory.relative_to(root).as_posix()
        base = prefix + ("" if relative == "." else relative + "/")
        for n, path in enumerate(files):
            objects[f"{base}0000_part_{n:02d}{extension}"] = path
    return objects
