"""Renders the Redshift SQL in include/sql/ into statement lists for the Redshift Data API.

schema.sql is the DDL (idempotent); load/<table>.sql loads one interval of one curated table. load_batch()
puts every table of an interval into ONE list for BatchExecuteStatement, so dimensions and facts of an
interval commit together or not at all. Placeholders are ${name} (string.Template); a missing or unknown
value is an error, never an empty string in SQL.
"""

from __future__ import annotations

import re
import string

from mwaa_platform.paths import include_path

LOAD_ORDER = ("customers", "products", "orders", "order_items")  # dimensions before facts
_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")
_URI = re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/\S+/$")


def split_statements(sql: str) -> list[str]:
    """Statements of a file: split at ';' ending a line; comment-only chunks dropped. (Our files keep ';' out
    of string literals and comments, which this relies on.)"""
    statements = []
    for chunk in re.split(r";\s*(?:\n|$)", sql):
        body = "\n".join(line for line in chunk.splitlines() if not line.strip().startswith("--")).strip()
        if body:
            statements.append(body)
    return statements


def schema_statements() -> list[str]:
    return split_statements(include_path("sql", "schema.sql").read_text())


def curated_uri(bucket: str, table: str, interval_date: str) -> str:
    return f"s3://{bucket}/curated/{table}/dt={interval_date}/"


def load_statements(table: str, uri: str, iam_role: str) -> list[str]:
    if table not in LOAD_ORDER:
        raise ValueError(f"no load SQL for table {table!r}; known: {', '.join(LOAD_ORDER)}")
    if not _URI.match(uri):
        raise ValueError(f"curated_uri must look like s3://bucket/curated/<table>/dt=YYYY-MM-DD/ (got {uri!r})")
    if not _ROLE.match(iam_role):
        raise ValueError(f"iam_role must be an IAM role ARN like arn:aws:iam::123456789012:role/name (got {iam_role!r})")
    template = string.Template(include_path("sql", "load", f"{table}.sql").read_text())
    return split_statements(template.substitute(curated_uri=uri, iam_role=iam_role))


def load_batch(bucket: str, interval_date: str, iam_role: str, tables=LOAD_ORDER) -> list[str]:
    """Every statement to load one interval, dimensions first, for a single BatchExecuteStatement."""
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", interval_date):
        raise ValueError(f"interval date must be YYYY-MM-DD, got {interval_date!r}")
    ordered = [t for t in LOAD_ORDER if t in tables]
    unknown = set(tables) - set(LOAD_ORDER)
    if unknown:
        raise ValueError(f"no load SQL for {', '.join(sorted(unknown))}")
    return [s for t in ordered for s in load_statements(t, curated_uri(bucket, t, interval_date), iam_role)]
