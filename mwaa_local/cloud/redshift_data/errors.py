"""DuckDB's error messages rewritten as a Redshift user knows them ('relation "x" does not exist')."""

from __future__ import annotations

import re

import duckdb


class SqlError(Exception):
    """A statement the engine refuses, with the message Redshift would give (without the 'ERROR: ' prefix)."""


_REWRITES = [
    (re.compile(r'Table with name ([^ ]+) does not exist', re.I), lambda m: f'relation "{m.group(1)}" does not exist'),
    (re.compile(r'Referenced column "([^"]+)" not found', re.I), lambda m: f'column "{m.group(1)}" does not exist'),
    (re.compile(r'Table "([^"]+)" does not have a column named "([^"]+)"', re.I),
     lambda m: f'column "{m.group(2)}" of relation "{m.group(1)}" does not exist'),
    (re.compile(r'Table with name "?([^" ]+)"? already exists', re.I), lambda m: f'relation "{m.group(1)}" already exists'),
    (re.compile(r'Could not convert string \'([^\']*)\' to ([A-Z0-9]+)', re.I),
     lambda m: f'invalid input syntax for type {m.group(2).lower()}: "{m.group(1)}"'),
    (re.compile(r'syntax error at or near "([^"]*)"', re.I), lambda m: f'syntax error at or near "{m.group(1)}"'),
    (re.compile(r'Schema with name ([^ ]+) does not exist', re.I), lambda m: f'schema "{m.group(1)}" does not exist'),
    (re.compile(r'Scalar Function with name ([^ ]+) does not exist', re.I),
     lambda m: f"function {m.group(1)} does not exist"),
    (re.compile(r'Duplicate key "([^"]+)" violates (primary key|unique) constraint', re.I),
     lambda m: f'duplicate key value violates unique constraint: Key ({m.group(1)}) already exists'),
    (re.compile(r'division by zero', re.I), lambda m: "division by zero"),
    (re.compile(r'"partition_by" expected to find (.*), but it was not found', re.I),
     lambda m: f'column "{m.group(1)}" does not exist (PARTITION BY names a column of the query)'),
    # DuckDB's own sandbox (engine.py) stopped a file or network access the statement checks did not catch.
    (re.compile(r'Cannot access (?:file|directory) "([^"]*)"|disabled (?:by|through) configuration', re.I),
     lambda m: f'permission denied{" for " + repr(m.group(1)) if m.group(1) else ""} '
               "(local cloud: the warehouse cannot read or write host files)"),
]


def redshift_message(exc: BaseException) -> str:
    """The first line of a DuckDB error, reworded when Redshift says it differently."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    first = re.sub(r"^[A-Za-z ]+ Error: ", "", first)
    for pattern, rewrite in _REWRITES:
        match = pattern.search(first)
        if match:
            return rewrite(match)
    if isinstance(exc, duckdb.InterruptException):
        return "Query (statement) cancelled on user's request"
    return first
