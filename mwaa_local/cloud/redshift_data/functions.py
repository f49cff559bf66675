"""Redshift SQL functions on DuckDB: what sqlglot's translation leaves out, and what the local Redshift refuses.

Three mechanisms, each for one kind of gap:
- `rewrite` (called by dialect.py for every node): a Redshift function becomes an equivalent DuckDB expression
  (RATIO_TO_REPORT, DECODE's NULL matching, CONCAT's NULL propagation, LISTAGG DISTINCT, ...);
- `install` (called by engine.py for every connection): SQL macros and Python scalar functions, named as Redshift
  names them (or `redshift_*` when a rewrite passes argument types along), for functions DuckDB lacks;
- `check_supported` (called on the tokens before parsing): a Redshift function the local Redshift cannot provide
  fails with "function X is not supported by the local Redshift" instead of a DuckDB message.
The README's function table is generated from this module and tests/cloud/redshift_data/test_functions.py.
"""

from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import os
import re
import struct

from sqlglot import exp
from sqlglot.tokens import Token, TokenType

from mwaa_local.cloud.redshift_data.errors import SqlError

# Redshift functions the local Redshift refuses, by section of the SQL function reference, with the reason.
UNSUPPORTED: dict[str, dict[str, str]] = {
    "Aggregate": {
        "HLL_CREATE_SKETCH": "HyperLogLog sketches are a Redshift storage format",
        "HLL_CARDINALITY": "HyperLogLog sketches are a Redshift storage format",
        "HLL_COMBINE": "HyperLogLog sketches are a Redshift storage format",
        "HLL_COMBINE_SKETCHES": "HyperLogLog sketches are a Redshift storage format",
    },
    "Hash": {
        "CHECKSUM": "Redshift's checksum algorithm is not documented",
        "MURMUR3_32_HASH": "Redshift's binary encoding of each type is not documented",
    },
    "Type conversion": {
        "TEXT_TO_INT_ALT": "Teradata-style format strings are not translated",
        "TEXT_TO_NUMERIC_ALT": "Teradata-style format strings are not translated",
    },
    "SUPER, array and object": {
        name: "SUPER navigation is not emulated" for name in (
            "ARRAY_FLATTEN", "GET_ARRAY_LENGTH", "SPLIT_TO_ARRAY", "SUBARRAY", "ARRAY_CONCAT", "OBJECT",
            "OBJECT_TRANSFORM", "LOWER_ATTRIBUTE_NAMES", "UPPER_ATTRIBUTE_NAMES", "IS_ARRAY", "IS_BIGINT",
            "IS_BOOLEAN", "IS_CHAR", "IS_DECIMAL", "IS_FLOAT", "IS_INTEGER", "IS_OBJECT", "IS_SCALAR",
            "IS_SMALLINT", "IS_VARCHAR", "JSON_SERIALIZE_TO_VARBYTE")
    },
    "VARBYTE": {
        name: "the VARBYTE type is not emulated" for name in (
            "FROM_HEX", "FROM_VARBYTE", "GETBIT", "TO_VARBYTE")
    },
    "System information": {
        "CURRENT_AWS_ACCOUNT": "no AWS account behind the local cloud",
        "CURRENT_NAMESPACE": "no namespace behind the local warehouse",
        "CURRENT_SESSION_ARN": "no IAM session behind the local warehouse",
        "DEFAULT_IAM_ROLE": "no IAM roles in the local warehouse",
        "HAS_ASSUMEROLE_PRIVILEGE": "no privileges in the local warehouse",
        "HAS_DATABASE_PRIVILEGE": "no privileges in the local warehouse",
        "HAS_SCHEMA_PRIVILEGE": "no privileges in the local warehouse",
        "HAS_TABLE_PRIVILEGE": "no privileges in the local warehouse",
        "PG_GET_COLS": "no Redshift catalog in the local warehouse",
        "PG_GET_LATE_BINDING_VIEW_COLS": "no Redshift catalog in the local warehouse",
        "PG_GET_GRANTEE_BY_IAM_ROLE": "no IAM roles in the local warehouse",
        "PG_GET_IAM_ROLE_BY_USER": "no IAM roles in the local warehouse",
        "PG_LAST_COPY_COUNT": "no per-session query history in the local warehouse",
        "PG_LAST_COPY_ID": "no per-session query history in the local warehouse",
        "PG_LAST_QUERY_ID": "no per-session query history in the local warehouse",
        "PG_LAST_UNLOAD_COUNT": "no per-session query history in the local warehouse",
        "PG_LAST_UNLOAD_ID": "no per-session query history in the local warehouse",
        "SLICE_NUM": "the local warehouse has no slices",
    },
    "System administration": {
        **{name: "no workload management or other sessions in the local warehouse" for name in (
            "CHANGE_QUERY_PRIORITY", "CHANGE_SESSION_PRIORITY", "CHANGE_USER_PRIORITY", "PG_CANCEL_BACKEND",
            "PG_TERMINATE_BACKEND")},
        "SET_CONFIG": "Redshift's configuration parameters are accepted by SET and change nothing locally",
    },
    "Leader node only": {name: "byte-level functions of the leader node are not emulated"
                         for name in ("GET_BIT", "GET_BYTE", "SET_BIT", "SET_BYTE", "TO_ASCII")},
}
# Spatial functions (ST_*, plus the geometry helpers): Redshift's GEOMETRY type is not emulated.
UNSUPPORTED_PREFIXES = {"ST_": "Spatial"}
_UNSUPPORTED = {name for names in UNSUPPORTED.values() for name in names}
_NILADIC = {"CURRENT_AWS_ACCOUNT", "CURRENT_NAMESPACE", "CURRENT_SESSION_ARN"}
# A name followed by "(" after these words is a table, view or CTE with a column list, not a function call.
_NAMES_A_RELATION = {"TABLE", "EXISTS", "INTO", "VIEW", "REFERENCES", "WITH", "AS", "ONLY", "JOIN", "FROM", "UPDATE"}


def unsupported_message(name: str) -> str:
    return f"function {name.lower()} is not supported by the local Redshift"


def check_supported(tokens: list[Token]) -> None:
    """Refuses a call of a Redshift function the local Redshift cannot provide (before sqlglot renames anything)."""
    for n, token in enumerate(tokens):
        if token.token_type in (TokenType.STRING, TokenType.NATIONAL_STRING) or (
                n and tokens[n - 1].token_type == TokenType.DOT):
            continue
        if token.token_type == TokenType.VAR and token.text.startswith('"'):
            continue
        name = token.text.upper()
        called = n + 1 < len(tokens) and tokens[n + 1].token_type == TokenType.L_PAREN and not (
            n and tokens[n - 1].text.upper() in _NAMES_A_RELATION)
        if (called and (name in _UNSUPPORTED or name.startswith(tuple(UNSUPPORTED_PREFIXES)))) or name in _NILADIC:
            raise SqlError(unsupported_message(name))


# --- rewrites -----------------------------------------------------------------------------------------------------

def _anon(name: str, *args: exp.Expression) -> exp.Anonymous:
    return exp.Anonymous(this=name, expressions=list(args))


def _typed(name: str, value: exp.Expression, *rest: exp.Expression) -> exp.Anonymous:
    """A Python function that needs the argument's type: gets typeof(x) and x as text."""
    return _anon(name, _anon("typeof", value.copy()), exp.cast(value.copy(), exp.DataType.Type.VARCHAR), *rest)


def _decode(node: exp.DecodeCase) -> exp.Expression:
    """DECODE(x, a, r, b, s, default): a NULL search value matches a NULL x (Redshift), unlike x = NULL."""
    subject, *pairs = node.expressions
    default = pairs.pop() if len(pairs) % 2 else None
    case = exp.Case(ifs=[exp.If(this=exp.NullSafeEQ(this=subject.copy(), expression=search), true=result)
                         for search, result in zip(pairs[::2], pairs[1::2], strict=True)], default=default)
    return case


def _ratio_to_report(window: exp.Window) -> exp.Expression:
    """RATIO_TO_REPORT(x) OVER (PARTITION BY p) = x / SUM(x) OVER (PARTITION BY p), as FLOAT8."""
    arg = window.this.expressions[0]
    total = exp.Window(this=exp.Sum(this=arg.copy()), partition_by=[p.copy() for p in window.args.get(
        "partition_by") or []])
    return exp.Div(this=exp.cast(arg.copy(), exp.DataType.Type.DOUBLE), expression=total)


# What CURRENT_SETTING reports: Redshift's defaults, which SET (a no-op locally) never changes.
SETTINGS = {"search_path": "$user, public", "timezone": "UTC", "datestyle": "ISO, MDY", "statement_timeout": "0",
            "query_group": "default", "application_name": "", "client_encoding": "UNICODE",
            "enable_case_sensitive_identifier": "off", "enable_result_cache_for_session": "on",
            "extra_float_digits": "0", "intervalstyle": "postgres", "wlm_query_slot_count": "1",
            "describe_field_name_in_uppercase": "off", "analyze_threshold_percent": "10",
            "max_cursor_result_set_size": "default", "json_parse_dedup_attributes": "off"}


def _current_setting(name: exp.Expression) -> exp.Expression:
    if isinstance(name, exp.Literal) and name.is_string:
        key = name.name.lower()
        if key not in SETTINGS:
            raise SqlError(f'unrecognized configuration parameter "{name.name}"')
        return exp.Literal.string(SETTINGS[key])
    lookup = exp.Case(this=_anon("lower", name.copy()), ifs=[
        exp.If(this=exp.Literal.string(k), true=exp.Literal.string(v)) for k, v in SETTINGS.items()])
    return lookup


def _null_if_invalid(json: exp.Expression, flag: exp.Expression | None, value: exp.Expression) -> exp.Expression:
    """Redshift's optional null_if_invalid argument: NULL instead of a JSON parsing error."""
    if flag is None:
        return value
    invalid = exp.and_(flag.copy(), exp.Is(this=_anon("redshift_json_kind", json.copy()), expression=exp.Null()))
    return exp.Case(ifs=[exp.If(this=invalid, true=exp.Null())], default=value)


def _json_extract_path_text(args: list[exp.Expression]) -> exp.Expression:
    """JSON_EXTRACT_PATH_TEXT(json, key1, key2, ... [, null_if_invalid]): keys are object keys, not JSONPath."""
    json, *keys = args
    flag = keys.pop() if isinstance(keys[-1], exp.Boolean) else None
    path: exp.Expression = exp.Literal.string("$")
    for key in keys:
        quoted = _anon("replace", exp.cast(key.copy(), exp.DataType.Type.VARCHAR), exp.Literal.string('"'),
                       exp.Literal.string('\\"'))
        path = exp.DPipe(this=path, expression=exp.DPipe(
            this=exp.DPipe(this=exp.Literal.string('."'), expression=quoted), expression=exp.Literal.string('"')))
    return _null_if_invalid(json, flag, _anon("json_extract_string", json.copy(), path))


def _substring(node: exp.Substring) -> exp.Expression:
    """Redshift: a start below 1 shortens the length (SUBSTRING('abc', -1, 3) = 'a'); DuckDB counts from the end."""
    start, length = node.args["start"], node.args.get("length")
    first = exp.Greatest(this=start.copy(), expressions=[exp.Literal.number(1)])
    if length is None:
        return _anon("substring", node.this.copy(), first)
    end = exp.Add(this=exp.Paren(this=start.copy()), expression=exp.Paren(this=length.copy()))
    count = exp.Greatest(this=exp.Sub(this=end, expression=first.copy()), expressions=[exp.Literal.number(0)])
    return _anon("substring", node.this.copy(), first, count)


def _number_scale(fmt: exp.Expression) -> int | None:
    if not isinstance(fmt, exp.Literal) or not fmt.is_string:
        return None
    text = fmt.name.upper()
    mark = max(text.find("D"), text.find("."))
    return 0 if mark < 0 else len(re.findall(r"[09]", text[mark:]))


def rewrite(node: exp.Expression) -> exp.Expression:
    """One Redshift function node -> its DuckDB equivalent (the node itself when nothing is to be done)."""
    if isinstance(node, exp.Window) and isinstance(node.this, exp.Anonymous) and \
            node.this.name.upper() == "RATIO_TO_REPORT" and len(node.this.expressions) == 1:
        return _ratio_to_report(node)
    if isinstance(node, exp.DecodeCase):
        return _decode(node)
    if isinstance(node, exp.Concat):  # Redshift's CONCAT is NULL when an argument is NULL, DuckDB's skips NULLs
        parts = [p.copy() for p in node.expressions]
        result = parts[0]
        for part in parts[1:]:
            result = exp.DPipe(this=result, expression=part, safe=False)
        return exp.Paren(this=result)
    if isinstance(node, exp.GroupConcat) and isinstance(node.this, exp.Distinct) and \
            len(node.this.expressions) == 2 and not node.args.get("separator"):
        value, separator = node.this.expressions  # sqlglot reads LISTAGG(DISTINCT x, ',') as DISTINCT (x, ',')
        return exp.GroupConcat(this=exp.Distinct(expressions=[value.copy()]), separator=separator.copy())
    if isinstance(node, exp.SHA2):
        return _anon("redshift_sha2", node.this.copy(), (node.args.get("length") or exp.Literal.number(256)).copy())
    if isinstance(node, exp.FromBase):
        return _anon("redshift_strtol", exp.cast(node.this.copy(), exp.DataType.Type.VARCHAR), node.expression.copy())
    if isinstance(node, exp.ToNumber) and node.args.get("format") is not None:
        scale = _number_scale(node.args["format"])
        call = _anon("redshift_to_number", node.this.copy(), node.args["format"].copy())
        return exp.cast(call, f"DECIMAL(38, {scale})" if scale is not None else exp.DataType.Type.DOUBLE)
    if isinstance(node, exp.Collate) and isinstance(node.expression, (exp.Var, exp.Identifier, exp.Column)) and \
            node.expression.name.lower() in ("case_insensitive", "case_sensitive"):
        collation = "nocase" if node.expression.name.lower() == "case_insensitive" else "binary"
        return exp.Collate(this=node.this.copy(), expression=exp.var(collation))
    if isinstance(node, exp.RegexpReplace) and not any(node.args.get(k) for k in ("position", "occurrence", "modifiers")):
        # Redshift replaces every match; DuckDB's regexp_replace only the first unless told 'g'
        return _anon("regexp_replace", node.this.copy(), node.expression.copy(), node.args["replacement"].copy(),
                     exp.Literal.string("g"))
    if isinstance(node, (exp.CurrentUser, exp.SessionUser)):  # one local user: Redshift's default admin user
        return exp.Literal.string("awsuser")
    if isinstance(node, exp.CurrentSchemas):  # the search path is always public (SET search_path is a no-op)
        implicit = node.this
        return exp.If(this=implicit.copy(), true=exp.Literal.string("{pg_catalog,public}"),
                      false=exp.Literal.string("{public}")) if implicit else exp.Literal.string("{public}")
    if isinstance(node, exp.Substring) and node.args.get("start") is not None:
        return _substring(node)
    if isinstance(node, exp.SimilarTo) and isinstance(node.expression, exp.Literal):
        # SQL regular expressions: % and _ are wildcards (DuckDB's SIMILAR TO reads them literally)
        pattern = node.expression.name.replace("%", ".*").replace("_", ".")
        return _anon("regexp_full_match", node.this.copy(), exp.Literal.string(pattern))
    if isinstance(node, exp.Hll) and not node.expressions:  # HLL(x) is the cardinality estimate itself
        return exp.ApproxDistinct(this=node.this.copy())
    if isinstance(node, exp.CurrentVersion):
        return exp.Literal.string(VERSION)
    if isinstance(node, exp.Anonymous):
        name = node.name.upper()
        args = node.expressions
        if name == "FNV_HASH" and args:
            seeded = "_3" if len(args) > 1 else ""  # the seeded form is a second Python function
            return _typed(f"redshift_fnv_hash{seeded}", args[0], *(a.copy() for a in args[1:2]))
        if name == "BTRIM" and args:
            return exp.Trim(this=args[0].copy(), expression=args[1].copy() if len(args) > 1 else None)
        if name == "OCTET_LENGTH" and len(args) == 1:  # DuckDB's octet_length is for BLOBs; strlen counts bytes
            return _anon("strlen", exp.cast(args[0].copy(), exp.DataType.Type.VARCHAR))
        if name == "JSON_EXTRACT_PATH_TEXT" and len(args) >= 2:
            return _json_extract_path_text(args)
        if name == "JSON_EXTRACT_ARRAY_ELEMENT_TEXT" and len(args) in (2, 3):
            value = _anon("json_extract_string", args[0].copy(), exp.cast(args[1].copy(), exp.DataType.Type.BIGINT))
            return _null_if_invalid(args[0], args[2] if len(args) == 3 else None, value)
        if name == "JSON_ARRAY_LENGTH" and len(args) == 2:  # the one-argument form is DuckDB's own
            return _null_if_invalid(args[0], args[1], _anon("json_array_length", args[0].copy()))
        if name == "CURRENT_SETTING" and len(args) == 1:
            return _current_setting(args[0])
        if name == "REPLICATE":
            return _anon("repeat", *(a.copy() for a in args))
    return node


def parse_to_char(args: list[exp.Expression]) -> exp.Expression:
    """TO_CHAR(value, format) keeps Redshift's format string (sqlglot's strftime mapping loses most of it)."""
    if len(args) != 2:
        return _anon("TO_CHAR", *args)
    return _typed("redshift_to_char", args[0], args[1])


def parse_add_months(args: list[exp.Expression]) -> exp.Expression:
    return _anon("redshift_add_months", *args)


VERSION = ("PostgreSQL 8.0.2 on i686-pc-linux-gnu, compiled by GCC gcc (GCC) 3.4.2 20041017 (Red Hat 3.4.2-6.fc3), "
           "Redshift 1.0.0 (local: DuckDB)")

# --- functions installed on every connection ---------------------------------------------------------------------

_CMP = "CASE WHEN a IS NULL OR b IS NULL THEN NULL WHEN a < b THEN -1 WHEN a > b THEN 1 ELSE 0 END"
MACROS = [
    "dexp(x) AS exp(x)", "dlog1(x) AS ln(x)", "dlog10(x) AS log10(x)",
    *(f"{name}(a, b) AS {_CMP}" for name in (
        "bpcharcmp", "bttext_pattern_cmp", "date_cmp", "date_cmp_timestamp", "date_cmp_timestamptz", "timestamp_cmp",
        "timestamp_cmp_date", "timestamp_cmp_timestamptz", "timestamptz_cmp", "timestamptz_cmp_date",
        "timestamptz_cmp_timestamp", "interval_cmp")),
    "octetindex(sub, s) AS CASE WHEN strpos(s, sub) = 0 THEN 0 ELSE strlen(left(s, strpos(s, sub) - 1)) + 1 END",
    "quote_ident(s) AS '\"' || replace(s, '\"', '\"\"') || '\"'",
    "quote_literal(s) AS '''' || replace(CAST(s AS VARCHAR), '''', '''''') || ''''",
    # strict JSON (DuckDB's reader accepts [1,2,] as an array; Redshift does not)
    "is_valid_json(s) AS CASE WHEN s IS NULL THEN NULL ELSE coalesce(redshift_json_kind(s), '') = 'object' END",
    "is_valid_json_array(s) AS CASE WHEN s IS NULL THEN NULL ELSE coalesce(redshift_json_kind(s), '') = 'array' END",
    "can_json_parse(s) AS redshift_json_kind(s) IS NOT NULL",
    "json_serialize(j) AS CAST(j AS VARCHAR)",
    "json_typeof(j) AS CASE json_type(j) WHEN 'BIGINT' THEN 'number' WHEN 'UBIGINT' THEN 'number' "
    "WHEN 'DOUBLE' THEN 'number' WHEN 'VARCHAR' THEN 'string' ELSE lower(json_type(j)) END",
    "timeofday() AS strftime(now(), '%a %b %d %H:%M:%S.%f %Y UTC')",
    "date_part_year(d) AS CAST(year(d) AS INTEGER)",
    "current_user_id() AS 100",
    "redshift_add_months(d, n) AS CASE WHEN CAST(d AS DATE) = last_day(CAST(d AS DATE)) "
    "THEN CAST(last_day(CAST(d AS TIMESTAMP) + to_months(CAST(n AS INTEGER))) AS TIMESTAMP) "
    "+ (CAST(d AS TIMESTAMP) - date_trunc('day', CAST(d AS TIMESTAMP))) "
    "ELSE CAST(d AS TIMESTAMP) + to_months(CAST(n AS INTEGER)) END",
]


def _fnv_hash(type_name: str, text: str, seed: int | None = None) -> int:
    """64-bit FNV-1a over the value's binary form (INTEGER 4 bytes, BIGINT 8, text as UTF-8), as Redshift."""
    packers = {"SMALLINT": "<h", "INTEGER": "<i", "BIGINT": "<q", "DOUBLE": "<d", "FLOAT": "<f", "BOOLEAN": "<?"}
    if type_name in packers:
        value = (text.lower() == "true") if type_name == "BOOLEAN" else (
            float(text) if type_name in ("DOUBLE", "FLOAT") else int(text))
        data = struct.pack(packers[type_name], value)
    else:
        data = text.encode()
    digest = 0xCBF29CE484222325 if seed is None else seed & 0xFFFFFFFFFFFFFFFF
    for byte in data:
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return digest - (1 << 64) if digest >= 1 << 63 else digest


def _crc32c_table() -> list[int]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C = _crc32c_table()


def _crc32(text: str) -> str:
    """CRC-32C (Redshift's CRC32 polynomial) as 8 hex digits."""
    crc = 0xFFFFFFFF
    for byte in text.encode():
        crc = _CRC32C[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return f"{crc ^ 0xFFFFFFFF:08x}"


def _sha2(text: str, bits: int) -> str:
    algorithms = {0: "sha256", 224: "sha224", 256: "sha256", 384: "sha384", 512: "sha512"}
    if bits not in algorithms:
        raise ValueError(f"SHA2 bit length must be 0, 224, 256, 384 or 512, got {bits}")
    return hashlib.new(algorithms[bits], text.encode()).hexdigest()


def _strtol(text: str, base: int) -> int:
    return int(text.strip(), base)


_SOUNDEX = {**dict.fromkeys("BFPV", "1"), **dict.fromkeys("CGJKQSXZ", "2"), **dict.fromkeys("DT", "3"), "L": "4",
            **dict.fromkeys("MN", "5"), "R": "6"}


def _soundex(text: str) -> str:
    letters = [c for c in text.upper() if "A" <= c <= "Z"]
    if not letters:
        return ""
    code, last = letters[0], _SOUNDEX.get(letters[0], "")
    for c in letters[1:]:
        digit = _SOUNDEX.get(c, "")
        if digit and digit != last:
            code += digit
        if c not in "HW":
            last = digit
    return (code + "000")[:4]


def _json_kind(text: str) -> str | None:
    """'object', 'array' or 'scalar' for strict JSON text, NULL when it does not parse (or is NULL)."""
    if text is None:
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return "object" if isinstance(value, dict) else "array" if isinstance(value, list) else "scalar"


def _difference(a: str, b: str) -> int:
    return sum(x == y for x, y in zip(_soundex(a), _soundex(b), strict=False))


def _to_number(text: str, fmt: str) -> str:
    cleaned = text.strip()
    negative = "-" in cleaned or (cleaned.startswith("<") and cleaned.endswith(">"))
    digits = re.sub(r"[^0-9.]", "", cleaned)
    if not digits or digits.count(".") > 1:
        raise ValueError(f'invalid input syntax for type numeric: "{text}"')
    return ("-" if negative else "") + digits


# Redshift datetime format elements, longest first; values are functions of a datetime.
_MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December"]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_DATETIME_ELEMENTS = {
    "HH24": lambda v: f"{v.hour:02d}", "HH12": lambda v: f"{(v.hour % 12) or 12:02d}",
    "YYYY": lambda v: f"{v.year:04d}", "IYYY": lambda v: f"{v.isocalendar()[0]:04d}",
    "MONTH": lambda v: _MONTHS[v.month - 1].upper().ljust(9), "Month": lambda v: _MONTHS[v.month - 1].ljust(9),
    "month": lambda v: _MONTHS[v.month - 1].lower().ljust(9),
    "A.M.": lambda v: "A.M." if v.hour < 12 else "P.M.", "P.M.": lambda v: "A.M." if v.hour < 12 else "P.M.",
    "a.m.": lambda v: "a.m." if v.hour < 12 else "p.m.", "p.m.": lambda v: "a.m." if v.hour < 12 else "p.m.",
    "YYY": lambda v: f"{v.year:04d}"[-3:], "MON": lambda v: _MONTHS[v.month - 1][:3].upper(),
    "Mon": lambda v: _MONTHS[v.month - 1][:3], "mon": lambda v: _MONTHS[v.month - 1][:3].lower(),
    "DAY": lambda v: _DAYS[v.weekday()].upper().ljust(9), "Day": lambda v: _DAYS[v.weekday()].ljust(9),
    "day": lambda v: _DAYS[v.weekday()].lower().ljust(9), "DDD": lambda v: f"{v.timetuple().tm_yday:03d}",
    "IW": lambda v: f"{v.isocalendar()[1]:02d}", "ID": lambda v: str(v.isoweekday()),
    "YY": lambda v: f"{v.year % 100:02d}", "MM": lambda v: f"{v.month:02d}", "DD": lambda v: f"{v.day:02d}",
    "DY": lambda v: _DAYS[v.weekday()][:3].upper(), "Dy": lambda v: _DAYS[v.weekday()][:3],
    "dy": lambda v: _DAYS[v.weekday()][:3].lower(), "HH": lambda v: f"{(v.hour % 12) or 12:02d}",
    "MI": lambda v: f"{v.minute:02d}", "SS": lambda v: f"{v.second:02d}", "MS": lambda v: f"{v.microsecond // 1000:03d}",
    "US": lambda v: f"{v.microsecond:06d}", "AM": lambda v: "AM" if v.hour < 12 else "PM",
    "PM": lambda v: "AM" if v.hour < 12 else "PM", "am": lambda v: "am" if v.hour < 12 else "pm",
    "pm": lambda v: "am" if v.hour < 12 else "pm", "WW": lambda v: f"{(v.timetuple().tm_yday - 1) // 7 + 1:02d}",
    "CC": lambda v: f"{(v.year - 1) // 100 + 1:02d}", "TZ": lambda v: "UTC", "tz": lambda v: "utc",
    "Y": lambda v: f"{v.year:04d}"[-1:], "Q": lambda v: str((v.month - 1) // 3 + 1),
    "W": lambda v: str((v.day - 1) // 7 + 1), "D": lambda v: str(v.isoweekday() % 7 + 1),
    "J": lambda v: str(v.toordinal() + 1721425),
}
_DATETIME_TOKEN = re.compile('"[^"]*"|FM|' + "|".join(re.escape(k) for k in sorted(_DATETIME_ELEMENTS, key=len,
                                                                                  reverse=True)))


def _datetime_to_char(value: dt.datetime, fmt: str) -> str:
    out, pos, fill_mode = [], 0, False
    for match in _DATETIME_TOKEN.finditer(fmt):
        out.append(fmt[pos:match.start()])
        token = match.group(0)
        if token == "FM":
            fill_mode = True
        elif token.startswith('"'):
            out.append(token[1:-1])
        else:
            text = _DATETIME_ELEMENTS[token](value)
            out.append(text.strip() if fill_mode else text)
            fill_mode = False
        pos = match.end()
    out.append(fmt[pos:])
    return "".join(out)


def _number_to_char(value: decimal.Decimal, fmt: str) -> str:
    """PostgreSQL/Redshift numeric templates: 9 0 . D , G S MI PR FM L $."""
    upper = fmt.upper()
    fill_mode = upper.startswith("FM")
    body = upper[2:] if fill_mode else upper
    sign_mode = "S" if "S" in body else "MI" if "MI" in body else "PR" if "PR" in body else ""
    currency = "$" if "$" in body else "L" if "L" in body else ""
    body = re.sub(r"MI|PR|S|L|\$", "", body)
    point = max(body.find("D"), body.find("."))
    int_part, frac_part = (body[:point], body[point + 1:]) if point >= 0 else (body, "")
    scale = len(re.findall(r"[09]", frac_part))
    rounded = abs(value).quantize(decimal.Decimal(1).scaleb(-scale), rounding=decimal.ROUND_HALF_UP)
    whole, _, fraction = f"{rounded:f}".partition(".")
    int_slots = [c for c in int_part if c in "90,G"]
    digit_slots = sum(c in "90" for c in int_slots)
    if len(whole.lstrip("0")) > digit_slots:
        text = "#" * len(int_part) + ("." + "#" * scale if point >= 0 else "")
        return text
    digits = whole.lstrip("0") or ("0" if "0" not in int_part and not frac_part else "")
    first_zero = next((i for i, c in enumerate(int_slots) if c == "0"), len(int_slots))
    out, remaining = [], list(digits)
    for i in range(len(int_slots) - 1, -1, -1):
        slot = int_slots[i]
        if slot in ",G":
            out.append("," if remaining or (i > first_zero) else " ")
            continue
        if remaining:
            out.append(remaining.pop())
        else:
            out.append("0" if i >= first_zero else " ")
    integer = "".join(reversed(out))
    number = integer + ("." + fraction if point >= 0 else "")
    negative = value < 0
    core = number.lstrip(" ")
    pad = " " * (len(number) - len(core))
    if sign_mode == "S":
        signed = pad + ("-" if negative else "+") + core if upper.find("S") < max(upper.find("9"), upper.find("0")) \
            else pad + core + ("-" if negative else "+")
    elif sign_mode == "MI":
        signed = pad + core + ("-" if negative else " ")
    elif sign_mode == "PR":
        signed = pad + ("<" + core + ">" if negative else " " + core + " ")
    else:
        signed = pad + ("-" if negative else " ") + core
    if currency:
        signed = signed.replace(core, "$" + core, 1)
    return signed.strip() if fill_mode else signed


_TEMPORAL = ("DATE", "TIMESTAMP", "TIMESTAMP WITH TIME ZONE", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS")


def _to_char(type_name: str, text: str, fmt: str) -> str:
    if type_name in _TEMPORAL:
        return _datetime_to_char(dt.datetime.fromisoformat(text), fmt)
    if type_name == "INTERVAL":
        return text
    return _number_to_char(decimal.Decimal(text), fmt)


PYTHON_FUNCTIONS = [
    ("redshift_fnv_hash", lambda t, v: _fnv_hash(t, v), ["VARCHAR", "VARCHAR"], "BIGINT"),
    ("redshift_fnv_hash", lambda t, v, s: _fnv_hash(t, v, s), ["VARCHAR", "VARCHAR", "BIGINT"], "BIGINT"),
    ("crc32", _crc32, ["VARCHAR"], "VARCHAR"),
    ("redshift_sha2", _sha2, ["VARCHAR", "INTEGER"], "VARCHAR"),
    ("func_sha1", lambda s: hashlib.sha1(s.encode()).hexdigest(), ["VARCHAR"], "VARCHAR"),
    ("redshift_strtol", _strtol, ["VARCHAR", "INTEGER"], "BIGINT"),
    ("redshift_json_kind", _json_kind, ["VARCHAR"], "VARCHAR"),
    ("soundex", _soundex, ["VARCHAR"], "VARCHAR"),
    ("difference", _difference, ["VARCHAR", "VARCHAR"], "INTEGER"),
    ("redshift_to_number", _to_number, ["VARCHAR", "VARCHAR"], "VARCHAR"),
    ("redshift_to_char", _to_char, ["VARCHAR", "VARCHAR", "VARCHAR"], "VARCHAR"),
    ("pg_backend_pid", lambda: os.getpid(), [], "INTEGER"),
]


_MAY_RETURN_NULL = {"redshift_json_kind"}  # gets NULLs too; the others are NULL for a NULL argument, like Redshift


def install(conn) -> None:
    """Adds the macros and Python functions above to one DuckDB connection (before its configuration is locked)."""
    conn.execute("SET lambda_syntax = 'ENABLE_SINGLE_ARROW'")  # sqlglot writes x -> ... lambdas (INITCAP, REGEXP_*)
    registered = set()
    for name, function, parameters, returns in PYTHON_FUNCTIONS:
        if name in registered:  # DuckDB's Python functions have one signature: the seed form gets its own name
            name = f"{name}_{len(parameters)}"
        conn.create_function(name, function, parameters, returns, side_effects=name == "pg_backend_pid",
                             null_handling="special" if name in _MAY_RETURN_NULL else "default")
        registered.add(name)
    for macro in MACROS:  # after the Python functions, which some macros call
        conn.execute(f"CREATE OR REPLACE TEMP MACRO {macro}")
