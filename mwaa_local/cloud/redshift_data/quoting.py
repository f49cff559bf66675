"""Values and names from a statement on their way into generated DuckDB SQL: always quoted, never pasted."""

from __future__ import annotations

from mwaa_local.cloud.redshift_data.errors import SqlError


def quote_identifier(name: str) -> str:
    """A name as a DuckDB identifier ("My T" stays one name, a '"' in it stays part of the name)."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A value as a DuckDB string literal (standard SQL: a backslash is an ordinary character)."""
    if "\x00" in value:
        raise SqlError("invalid byte sequence: a string must not contain a NUL character")
    return "'" + value.replace("'", "''") + "'"
