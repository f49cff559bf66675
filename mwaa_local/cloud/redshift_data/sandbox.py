"""What Redshift SQL may ask of the local warehouse: the statement-level half of the SQL sandbox.

DuckDB can read and write host files (read_text, read_csv, `FROM '/etc/passwd'`, COPY TO, ATTACH, EXPORT ...) and
change its own settings; Redshift SQL can do none of that. Every parsed statement is checked here before it reaches
DuckDB, and refused with the error Redshift gives for something it does not know. engine.py locks DuckDB down as
well (no file access outside the warehouse and the scratch area, no extensions, configuration locked), so either
half alone stops a statement that reaches outside the warehouse.
"""

from __future__ import annotations

import functools
import re

import duckdb
from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from mwaa_local.cloud.redshift_data.errors import SqlError

_WHY = "(local cloud: the warehouse refuses SQL that reaches outside it)"

# Statement types that may go to DuckDB, and the kinds of object CREATE/DROP may name.
ALLOWED_STATEMENTS = (exp.Query, exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop, exp.Alter,
                      exp.TruncateTable, exp.Comment, exp.Analyze, exp.Describe)
CREATE_KINDS = {"TABLE", "VIEW", "SCHEMA", "FUNCTION"}
DROP_KINDS = {"TABLE", "VIEW", "SCHEMA", "FUNCTION", "SEQUENCE"}
# Nodes that are DuckDB statements wherever they appear.
FORBIDDEN_NODES = (exp.Attach, exp.Detach, exp.Install, exp.Pragma, exp.Use, exp.Export, exp.Set, exp.Copy,
                   exp.Command)
# Table functions Redshift SQL (and our tests) use in FROM: they only generate rows.
FROM_FUNCTIONS = {"generate_series", "range", "unnest"}
# Names DuckDB gives to functions that read files, run SQL given as text, or show or change the engine itself.
DENIED_PREFIXES = ("read_", "pragma_", "duckdb_", "parquet_", "sqlite_", "postgres_", "mysql_", "iceberg_", "delta_",
                   "json_execute", "load_", "enable_", "disable_")
DENIED_SUFFIXES = ("_scan",)
DENIED_NAMES = {"glob", "query", "query_table", "sniff_csv", "getenv", "checkpoint", "force_checkpoint",
                "which_secret", "summary", "truncate_duckdb_logs", "add_grammar_extension", "remove_grammar_extension",
                "test_all_types", "test_vector_types", "repeat_row", "icu_calendar_names"}
# Names that look like files (DuckDB reads a table name like 'data.csv' or '/etc/passwd' as a file).
_PATH_LIKE = re.compile(r"[/\\:~]|\.(csv|tsv|txt|parquet|json|jsonl|ndjson|gz|zst|bz2|xz|lz4|db|duckdb|sqlite|"
                        r"xlsx|arrow|avro|orc|blob)$", re.I)

# Redshift's configuration parameters (SET / RESET): they change nothing locally, anything else is refused.
REDSHIFT_PARAMETERS = {
    "analyze_threshold_percent", "application_name", "auto_mv", "cast_super_null_on_error", "client_encoding",
    "client_min_messages", "datestyle", "default_geometry_encoding", "describe_field_name_in_uppercase",
    "downcase_delimited_identifier", "enable_case_sensitive_identifier", "enable_case_sensitive_super_attribute",
    "enable_numeric_rounding", "enable_result_cache_for_session", "enable_vacuum_boost",
    "error_on_nondeterministic_update", "extra_float_digits", "interval_forbid_composite_literals", "intervalstyle",
    "json_parse_dedup_attributes", "json_serialization_max_truncation_size",
    "json_serialization_parse_nested_strings", "max_concurrency_scaling_clusters", "max_cursor_result_set_size",
    "mv_enable_aqmv_for_session", "navigate_super_null_on_error", "parse_super_null_on_error", "query_group",
    "search_path", "spectrum_query_maxerror", "statement_timeout", "stored_proc_log_min_messages", "timezone",
    "use_fips_ssl", "wlm_query_slot_count", "all",
}
# SET forms that name no parameter: SET SESSION AUTHORIZATION, SET TIME ZONE, SET TRANSACTION ..., SET ROLE.
_SET_FORMS = {("SESSION", "AUTHORIZATION"), ("SESSION", "CHARACTERISTICS"), ("TIME", "ZONE"), ("TRANSACTION",),
              ("ROLE",)}


@functools.cache
def _engine_table_functions() -> frozenset[str]:
    """Table and pragma functions of the installed DuckDB that are not also ordinary functions (repeat, range...)."""
    conn = duckdb.connect(config={"autoinstall_known_extensions": "false", "autoload_known_extensions": "false"})
    try:
        rows = conn.execute("SELECT function_name, function_type FROM duckdb_functions()").fetchall()
    finally:
        conn.close()
    tables = {name for name, kind in rows if kind in ("table", "table_macro", "pragma")}
    ordinary = {name for name, kind in rows if kind not in ("table", "table_macro", "pragma")}
    return frozenset(tables - ordinary - FROM_FUNCTIONS)


def denied_function(name: str) -> bool:
    name = name.lower()
    return (name in DENIED_NAMES or name.startswith(DENIED_PREFIXES) or name.endswith(DENIED_SUFFIXES)
            or name in _engine_table_functions())


def _function_name(node: exp.Expression) -> str:
    """The name DuckDB will see for a function node."""
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.Func):
        return node.sql_name().lower()
    return ""


def _table_function_name(node: exp.Expression) -> str:
    """The name of a function used as a table, as the DuckDB SQL spells it (sqlglot may rename it)."""
    match = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*\(", node.sql(dialect="duckdb"))
    return match.group(1).lower() if match else ""


def check(tree: exp.Expression) -> None:
    """Raises SqlError when a parsed statement is not Redshift SQL the warehouse may run."""
    if not isinstance(tree, ALLOWED_STATEMENTS):
        raise SqlError(f'syntax error at or near "{_first_word(tree)}" {_WHY}')
    kind = str(tree.args.get("kind") or "").upper()
    if isinstance(tree, exp.Create) and kind not in CREATE_KINDS:
        raise SqlError(f'syntax error at or near "{kind or "CREATE"}" {_WHY}')
    if isinstance(tree, exp.Drop) and kind not in DROP_KINDS:
        raise SqlError(f'syntax error at or near "{kind or "DROP"}" {_WHY}')
    for node in tree.walk():
        if isinstance(node, FORBIDDEN_NODES):
            raise SqlError(f'syntax error at or near "{_first_word(node)}" {_WHY}')
        if isinstance(node, exp.Table):
            _check_table(node)
        elif isinstance(node, exp.Func):
            name = _function_name(node)
            if name and denied_function(name):
                raise SqlError(f"function {name} does not exist {_WHY}")


def _check_table(table: exp.Table) -> None:
    source = table.this
    if isinstance(source, exp.Func):
        name = _table_function_name(source)
        if name not in FROM_FUNCTIONS:
            raise SqlError(f"function {name or _function_name(source) or '?'} does not exist {_WHY}")
        return
    if isinstance(source, exp.Literal):  # FROM '<path>'
        raise SqlError(f'relation "{source.name}" does not exist {_WHY}')
    for part in table.parts:
        if isinstance(part, (exp.Identifier, exp.Literal)) and _PATH_LIKE.search(part.name):
            raise SqlError(f'relation "{part.name}" does not exist: names that look like file paths are refused '
                           f"{_WHY}")


def _first_word(node: exp.Expression) -> str:
    try:
        text = node.sql(dialect="duckdb")
    except Exception:  # a node sqlglot cannot print still gets refused
        text = type(node).__name__
    return (text.split() or [type(node).__name__])[0].upper()


def check_set(tokens: list[Token]) -> None:
    """SET / RESET of a Redshift parameter is accepted (and changes nothing); DuckDB's settings are refused."""
    words = [t.text.upper() for t in tokens[1:3]]
    if words and words[0] in ("SESSION", "LOCAL") and tuple(words[:2]) not in _SET_FORMS:
        tokens = tokens[1:]
    if len(tokens) < 2:
        raise SqlError(f'syntax error at end of input in "{tokens[0].text}"')
    words = tuple(t.text.upper() for t in tokens[1:3])
    if tokens[0].text.upper() == "SET" and (words in _SET_FORMS or words[:1] in _SET_FORMS):
        return
    parameter = tokens[1]
    if tokens[0].token_type == TokenType.COMMAND:  # RESET: the tokenizer keeps the rest as one string
        name = (parameter.text.split() or [""])[0].lower()
    else:
        name = "" if parameter.token_type == TokenType.STRING else parameter.text.lower()
    if name not in REDSHIFT_PARAMETERS:
        raise SqlError(f'unrecognized configuration parameter "{name or parameter.text}" {_WHY}')
