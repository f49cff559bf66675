"""COPY table FROM 's3://...': the objects are read from the local cloud's S3 and inserted with ONE DuckDB INSERT,
so a bad row or a missing object loads nothing (the statement, or the whole batch, rolls back).

Only the local cloud's S3 is read (a manifest entry must be an s3:// URL too); the objects are staged in the
scratch area, the one host folder the sandboxed DuckDB may read. Names and option values from the statement are
quoted (quoting.py) on their way into the generated SQL."""

from __future__ import annotations

import bz2
import gzip
import json
import re
import shutil
import tempfile
from pathlib import Path

import duckdb
from sqlglot.tokens import Token, TokenType

from mwaa_local.cloud.redshift_data import options as opts
from mwaa_local.cloud.redshift_data.errors import SqlError
from mwaa_local.cloud.redshift_data.quoting import quote_identifier, quote_literal
from mwaa_local.cloud.s3_objects import NoSuchBucket, NoSuchKey, S3Objects

# Redshift datetime format elements -> strptime; longest first so MON is not read as MM + ...
_FORMAT_ELEMENTS = [("YYYY", "%Y"), ("MONTH", "%B"), ("MON", "%b"), ("HH24", "%H"), ("HH12", "%I"), ("HH", "%H"),
                    ("MI", "%M"), ("SS", "%S"), ("MM", "%m"), ("DD", "%d"), ("YY", "%y"), ("AM", "%p"), ("PM", "%p"),
                    ("US", "%f"), ("FF6", "%f"), ("FF3", "%g")]
_FORMAT_RE = re.compile("|".join(re.escape(e) for e, _ in _FORMAT_ELEMENTS))
_CHAR_TYPES = ("VARCHAR", "CHAR", "TEXT", "BPCHAR", "STRING")


def strptime_format(redshift_format: str) -> str:
    mapping = dict(_FORMAT_ELEMENTS)
    return _FORMAT_RE.sub(lambda m: mapping[m.group(0)], redshift_format.upper())


_quote = quote_literal


class Target:
    """The table a COPY loads: its name as Redshift prints it, and as DuckDB SQL (every part quoted)."""

    def __init__(self, parts: list[str]):
        self.parts = parts
        self.name = ".".join(parts)
        self.sql = ".".join(quote_identifier(p) for p in parts)

    def __str__(self) -> str:
        return self.name


def load_failed(table: str, detail: str) -> SqlError:
    return SqlError(f"Load into table '{table}' failed. Check 'stl_load_errors' system table for details. "
                    f"(local cloud: {detail})")


def parse(tokens: list[Token]) -> tuple[Target, list[str], str, dict]:
    """COPY <table> [(cols)] FROM '<uri>' [WITH] <options> -> (table, columns, uri, options)."""
    i = 1
    while (i < len(tokens) and tokens[i].token_type not in (TokenType.FROM, TokenType.L_PAREN)
           and tokens[i].text.upper() != "TO"):
        i += 1
    name_tokens = tokens[1:i]
    columns: list[str] = []
    if i < len(tokens) and tokens[i].token_type == TokenType.L_PAREN:
        columns, i = opts.name_list(tokens, i + 1)
    if not name_tokens or i >= len(tokens) or tokens[i].token_type != TokenType.FROM:
        near = tokens[i].text if i < len(tokens) else "end of input"
        raise SqlError(f'syntax error at or near "{near}": expected COPY table [(columns)] FROM \'s3://...\'')
    table = Target(opts.qualified_name(name_tokens))
    if i + 1 >= len(tokens) or tokens[i + 1].token_type != TokenType.STRING:
        raise SqlError("syntax error: COPY ... FROM needs a quoted S3 path")
    return table, columns, tokens[i + 1].text, opts.parse(tokens[i + 2:])


def source_objects(s3: S3Objects, uri: str, options: dict) -> list[tuple[str, str]]:
    """(bucket, key) of every object the COPY reads: the manifest's entries, or every object under the prefix."""
    bucket, key = opts.s3_prefix(uri)
    try:
        if options.get("MANIFEST"):
            try:
                manifest = json.loads(s3.get(bucket, key))
            except NoSuchKey:
                raise SqlError(f"Problem reading manifest file - S3ServiceException:The specified key does not exist."
                               f",Status 404,Error NoSuchKey (s3://{bucket}/{key})") from None
            except ValueError as exc:
                raise SqlError(f"Manifest file s3://{bucket}/{key} is not valid JSON: {exc}") from None
            found = []
            for entry in _manifest_entries(manifest, f"s3://{bucket}/{key}"):
                entry_bucket, entry_key = opts.s3_prefix(entry["url"])
                if s3.exists(entry_bucket, entry_key):
                    found.append((entry_bucket, entry_key))
                elif entry.get("mandatory", False):
                    raise SqlError(f"Manifest file has a mandatory entry that does not exist: {entry['url']}"
                                   " (S3ServiceException:The specified key does not exist.,Status 404)")
            return found
        found = [(bucket, k) for k, size in s3.list_keys(bucket, key) if size > 0 and not k.endswith("/")]
    except NoSuchBucket:
        raise SqlError(f"S3ServiceException:The specified bucket does not exist,Status 404,Error NoSuchBucket"
                       f" (bucket {bucket})") from None
    if not found:
        raise SqlError(f"The specified S3 prefix '{key}' does not exist (s3://{bucket}/{key})")
    return found


def _manifest_entries(manifest: object, where: str) -> list[dict]:
    """A manifest's entries, each an s3:// URL: a host path or file:// URL is never read."""
    entries = manifest.get("entries") if isinstance(manifest, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise SqlError(f'Manifest file {where} is not valid: expected {{"entries": [{{"url": "s3://...", '
                       '"mandatory": true}, ...]}')
    for entry in entries:
        url = entry.get("url")
        if not isinstance(url, str) or not url.startswith("s3://") or len(url) <= 5 or url[5] == "/":
            raise SqlError(f"Manifest file {where} has an entry that is not an S3 URL: {url!r} "
                           "(expected s3://bucket/key; the local cloud's COPY reads only its own S3)")
    return entries


def _lowercase_keys(data: bytes) -> bytes:
    """Rewrites a stream of JSON objects with lower-case top-level keys (COPY JSON 'auto ignorecase')."""
    decoder, text, pos, out = json.JSONDecoder(), data.decode("utf-8"), 0, []
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos >= len(text):
            break
        try:
            obj, pos = decoder.raw_decode(text, pos)
        except ValueError as exc:
            raise SqlError(f"Invalid JSON in the COPY source: {exc}") from None
        out.append(json.dumps({k.lower(): v for k, v in obj.items()} if isinstance(obj, dict) else obj))
    return ("\n".join(out) + "\n").encode()


def _stage(s3: S3Objects, objects: list[tuple[str, str]], workdir: Path, options: dict) -> list[str]:
    """Writes the objects to local files DuckDB can read in parallel."""
    suffix = ".gz" if options.get("GZIP") else ".zst" if options.get("ZSTD") else ""
    if options.get("LZOP"):
        raise SqlError("LZOP compression is not supported by the local cloud; use GZIP, BZIP2 or ZSTD")
    files = []
    for n, (bucket, key) in enumerate(objects):
        path = workdir / f"{n:06d}{suffix}"
        files.append(str(path))
        if str(options.get("JSON", "")).lower() != "auto ignorecase":  # streamed, never whole in memory
            with s3.open_read(bucket, key) as body, open(path, "wb") as out:
                shutil.copyfileobj(bz2.BZ2File(body) if options.get("BZIP2") else body, out, 8 * 1024 * 1024)
            continue
        data = s3.get(bucket, key)
        if options.get("BZIP2"):
            data = bz2.decompress(data)
        data = _lowercase_keys(gzip.decompress(data) if options.get("GZIP") else data)
        if options.get("GZIP"):
            data = gzip.compress(data, compresslevel=1)
        path.write_bytes(data)
    return files


def target_columns(conn: duckdb.DuckDBPyConnection, table: Target, wanted: list[str],
                   options: dict) -> list[tuple[str, str]]:
    try:
        described = conn.execute(f"DESCRIBE {table.sql}").fetchall()
    except duckdb.CatalogException:
        raise SqlError(f'relation "{table}" does not exist') from None
    columns = {name.lower(): (name, ctype, default) for name, ctype, _null, _key, default, _extra in described}
    if wanted:
        missing = [c for c in wanted if c.lower() not in columns]
        if missing:
            raise SqlError(f'column "{missing[0]}" of relation "{table}" does not exist')
        return [columns[c.lower()][:2] for c in wanted]
    # IDENTITY columns are generated, not loaded, unless EXPLICIT_IDS.
    return [(name, ctype) for name, ctype, default in columns.values()
            if options.get("EXPLICIT_IDS") or not (default and "nextval" in str(default).lower())]


def _convert(expr: str, ctype: str, options: dict) -> str:
    """One text field -> the column's type, with Redshift's empty/blank-as-NULL and date/time formats."""
    upper = ctype.upper()
    if upper.startswith(_CHAR_TYPES):
        if options.get("BLANKSASNULL"):
            expr = f"NULLIF(TRIM({expr}), '')"
        elif options.get("EMPTYASNULL"):
            expr = f"NULLIF({expr}, '')"
        return expr
    expr = f"NULLIF(TRIM({expr}), '')"
    fmt = options.get("DATEFORMAT") if upper == "DATE" else options.get("TIMEFORMAT") if upper.startswith("TIMESTAMP") else None
    if fmt and str(fmt).lower() != "auto":
        if str(fmt).lower() == "epochsecs":
            return f"CAST(to_timestamp(CAST({expr} AS DOUBLE)) AS {ctype})"
        if str(fmt).lower() == "epochmillisecs":
            return f"CAST(to_timestamp(CAST({expr} AS DOUBLE) / 1000) AS {ctype})"
        return f"CAST(strptime({expr}, {_quote(strptime_format(str(fmt)))}) AS {ctype})"
    return f"CAST({expr} AS {ctype})"


def _csv_source(files: list[str], count: int, options: dict) -> str:
    csv = bool(options.get("CSV"))
    delimiter = opts.single_character(options, "DELIMITER", "," if csv else "|")
    quote = opts.single_character(options, "QUOTE", '"')
    args = [f"[{', '.join(_quote(f) for f in files)}]", f"delim={_quote(delimiter)}", "header=false",
            f"skip={opts.count(options, 'IGNOREHEADER')}", "auto_detect=false",
            "columns={" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(count)) + "}"]
    args.append(f"quote={_quote(quote)}" if csv else "quote=''")
    args.append(f"escape={_quote(quote)}" if csv else "escape=''")
    if options.get("ESCAPE") and not csv:
        args[-1] = "escape='\\'"
    if "NULL" in options:
        args.append(f"nullstr={_quote(str(options['NULL']))}")
    if options.get("GZIP"):
        args.append("compression='gzip'")
    elif options.get("ZSTD"):
        args.append("compression='zstd'")
    if options.get("FILLRECORD"):
        args.append("null_padding=true")
    return f"read_csv({', '.join(args)})"


def _select(conn, files: list[str], columns: list[tuple[str, str]], options: dict, table: Target) -> str:
    names = ", ".join(quote_identifier(name) for name, _ in columns)
    if options.get("PARQUET") or options.get("ORC"):
        if options.get("ORC"):
            raise SqlError("COPY FORMAT ORC is not supported by the local cloud; use PARQUET, CSV or JSON")
        source = f"read_parquet([{', '.join(_quote(f) for f in files)}])"
        try:
            file_columns = [row[0] for row in conn.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()]
        except duckdb.Error as exc:
            raise load_failed(table, f"not a readable Parquet file: {exc}") from None
        if len(file_columns) != len(columns):
            raise load_failed(table, f"the Parquet files have {len(file_columns)} columns, the target list has "
                                     f"{len(columns)}; columns are matched by position")
        exprs = [f"CAST({quote_identifier(src)} AS {ctype})" for src, (_, ctype) in zip(file_columns, columns, strict=True)]
        return f"INSERT INTO {table.sql} ({names}) SELECT {', '.join(exprs)} FROM {source}"
    if "JSON" in options:
        mode = str(options["JSON"]).lower()
        if mode not in ("auto", "auto ignorecase", "true"):
            raise SqlError("COPY JSON with a JSONPaths file is not supported by the local cloud; use JSON 'auto'")
        # 'auto' matches top-level keys to (lower-case) column names exactly; staging lower-cased the keys
        # for 'auto ignorecase'.
        source = f"read_json_objects([{', '.join(_quote(f) for f in files)}], format='auto')"
        exprs = [f"CAST(json_extract_string(json, {_quote('$.' + json.dumps(name.lower()))}) AS {ctype})"
                 for name, ctype in columns]
        return f"INSERT INTO {table.sql} ({names}) SELECT {', '.join(exprs)} FROM {source}"
    source = _csv_source(files, len(columns), options)
    exprs = [_convert(f"c{i}", ctype, options) for i, (_, ctype) in enumerate(columns)]
    return f"INSERT INTO {table.sql} ({names}) SELECT {', '.join(exprs)} FROM {source}"


def run(conn: duckdb.DuckDBPyConnection, tokens: list[Token], s3: S3Objects, tmp_root: Path) -> int:
    """Executes one COPY inside the caller's transaction; returns the number of rows loaded."""
    table, wanted, uri, options = parse(tokens)
    columns = target_columns(conn, table, wanted, options)
    objects = source_objects(s3, uri, options)
    opts.count(options, "MAXERROR")  # accepted (a bad row always fails the load), but it must be a number
    workdir = Path(tempfile.mkdtemp(prefix="copy-", dir=Path(tmp_root).absolute()))  # inside DuckDB's sandbox
    try:
        files = _stage(s3, objects, workdir, options)
        sql = _select(conn, files, columns, options, table)
        try:
            return conn.execute(sql).fetchone()[0]
        except duckdb.InterruptException:
            raise
        except (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.ConstraintException,
                duckdb.BinderException) as exc:
            raise load_failed(table, str(exc).splitlines()[0]) from None
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
