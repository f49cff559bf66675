"""Every function of the Redshift SQL function reference, section by section: supported ones give their exact,
typed result through the Data API; unsupported ones fail with "function x is not supported by the local Redshift".

Each section is one SELECT (one column per check) so the whole reference costs a few round trips; a section that
fails is re-run check by check, so the failing test names its function. The function table in
mwaa_local/cloud/redshift_data/README.md is generated from SECTIONS and functions.UNSUPPORTED:
`.venv/bin/python -m tests.cloud.redshift_data.test_functions` rewrites it, and a test fails when it is stale.
Values are compared with their Data API type, as the SQL corpus does (3 != 3.0 != '3' != True).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from mwaa_local.cloud.redshift_data import functions

# A small table for aggregates and windows: x = 1..4, g = 1,1,2,2, s = 'a','b','c',NULL.
T = ("WITH t AS (SELECT 1 AS g, 1 AS x, 'a' AS s UNION ALL SELECT 1, 2, 'b' UNION ALL SELECT 2, 3, 'c' "
     "UNION ALL SELECT 2, 4, NULL) ")
WINDOW_ROWS = "FROM t ORDER BY x"
ONE_THIRD, TWO_THIRDS = 1 / 3, 2 / 3

# section -> (FROM clause of its statement, [(function, expression, value per row)])
SECTIONS: dict[str, tuple[str, list[tuple[str, str, list]]]] = {
    "Aggregate": ("FROM t", [
        ("ANY_VALUE", "ANY_VALUE(x * 0 + 7)", [7]),
        ("APPROXIMATE COUNT(DISTINCT)", "APPROXIMATE COUNT(DISTINCT g)", [2]),
        ("APPROXIMATE PERCENTILE_DISC", "APPROXIMATE PERCENTILE_DISC(0.5) WITHIN GROUP (ORDER BY x)", [2]),
        ("AVG", "AVG(x::float8)", [2.5]),
        ("BIT_AND", "BIT_AND(x)", [0]),
        ("BIT_OR", "BIT_OR(x)", [7]),
        ("BOOL_AND", "BOOL_AND(x > 0)", [True]),
        ("BOOL_OR", "BOOL_OR(x > 3)", [True]),
        ("COUNT", "COUNT(s)", [3]),
        ("COUNT", "COUNT(*)", [4]),
        ("HLL", "HLL(g)", [2]),
        ("LISTAGG", "LISTAGG(s, ',') WITHIN GROUP (ORDER BY s)", ["a,b,c"]),
        ("LISTAGG", "LISTAGG(DISTINCT g, '-') WITHIN GROUP (ORDER BY g)", ["1-2"]),
        ("MAX", "MAX(x)", [4]),
        ("MEDIAN", "MEDIAN(x::float8)", [2.5]),
        ("MIN", "MIN(x)", [1]),
        ("PERCENTILE_CONT", "PERCENTILE_CONT(0.25) WITHIN GROUP (ORDER BY x::float8)", [1.75]),
        ("PERCENTILE_DISC", "PERCENTILE_DISC(0.5) WITHIN GROUP (ORDER BY x)", [2]),
        ("STDDEV", "STDDEV(x::float8)", [1.2909944487358056]),
        ("STDDEV_SAMP", "STDDEV_SAMP(x::float8)", [1.2909944487358056]),
        ("STDDEV_POP", "STDDEV_POP(x::float8)", [1.118033988749895]),
        ("SUM", "SUM(x)", [10]),
        ("VARIANCE", "VARIANCE(x::float8)", [1.6666666666666667]),
        ("VAR_SAMP", "VAR_SAMP(x::float8)", [1.6666666666666667]),
        ("VAR_POP", "VAR_POP(x::float8)", [1.25]),
    ]),
    "Window": (WINDOW_ROWS, [
        ("AVG", "AVG(x::float8) OVER (PARTITION BY g)", [1.5, 1.5, 3.5, 3.5]),
        ("COUNT", "COUNT(*) OVER (PARTITION BY g)", [2, 2, 2, 2]),
        ("CUME_DIST", "CUME_DIST() OVER (ORDER BY x)", [0.25, 0.5, 0.75, 1.0]),
        ("DENSE_RANK", "DENSE_RANK() OVER (ORDER BY g)", [1, 1, 2, 2]),
        ("FIRST_VALUE", "FIRST_VALUE(x) OVER (PARTITION BY g ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND "
                        "UNBOUNDED FOLLOWING)", [1, 1, 3, 3]),
        ("LAG", "LAG(x) OVER (ORDER BY x)", [None, 1, 2, 3]),
        ("LAST_VALUE", "LAST_VALUE(x) OVER (PARTITION BY g ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND "
                       "UNBOUNDED FOLLOWING)", [2, 2, 4, 4]),
        ("LEAD", "LEAD(x, 1, 0) OVER (ORDER BY x)", [2, 3, 4, 0]),
        ("LISTAGG", "LISTAGG(s, ',') WITHIN GROUP (ORDER BY s) OVER (PARTITION BY g)", ["a,b", "a,b", "c", "c"]),
        ("MAX", "MAX(x) OVER (PARTITION BY g)", [2, 2, 4, 4]),
        ("MEDIAN", "MEDIAN(x::float8) OVER (PARTITION BY g)", [1.5, 1.5, 3.5, 3.5]),
        ("MIN", "MIN(x) OVER (PARTITION BY g)", [1, 1, 3, 3]),
        ("NTH_VALUE", "NTH_VALUE(x, 2) OVER (ORDER BY x ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)",
         [2, 2, 2, 2]),
        ("NTILE", "NTILE(2) OVER (ORDER BY x)", [1, 1, 2, 2]),
        ("PERCENT_RANK", "PERCENT_RANK() OVER (ORDER BY x)", [0.0, ONE_THIRD, TWO_THIRDS, 1.0]),
        ("PERCENTILE_CONT", "PERCENTILE_CONT(0.5) WITHIN GROUP (ORDER BY x::float8) OVER (PARTITION BY g)",
         [1.5, 1.5, 3.5, 3.5]),
        ("PERCENTILE_DISC", "PERCENTILE_DISC(0.5) WITHIN GROUP (ORDER BY x) OVER (PARTITION BY g)", [1, 1, 3, 3]),
        ("RANK", "RANK() OVER (ORDER BY g)", [1, 1, 3, 3]),
        ("RATIO_TO_REPORT", "RATIO_TO_REPORT(x) OVER (PARTITION BY g)", [ONE_THIRD, TWO_THIRDS, 3 / 7, 4 / 7]),
        ("ROW_NUMBER", "ROW_NUMBER() OVER (ORDER BY x)", [1, 2, 3, 4]),
        ("STDDEV_SAMP", "STDDEV_SAMP(x::float8) OVER (PARTITION BY g)", [0.7071067811865476] * 4),
        ("STDDEV_POP", "STDDEV_POP(x::float8) OVER (PARTITION BY g)", [0.5] * 4),
        ("SUM", "SUM(x) OVER (PARTITION BY g)", [3, 3, 7, 7]),
        ("VAR_SAMP", "VAR_SAMP(x::float8) OVER (PARTITION BY g)", [0.5] * 4),
        ("VAR_POP", "VAR_POP(x::float8) OVER (PARTITION BY g)", [0.25] * 4),
    ]),
    "Conditional": ("", [
        ("CASE", "CASE WHEN 1 > 2 THEN 'a' ELSE 'b' END", ["b"]),
        ("COALESCE", "COALESCE(NULL, 2)", [2]),
        ("DECODE", "DECODE(2, 1, 'one', 2, 'two', 'many')", ["two"]),
        ("DECODE", "DECODE(NULL::int, 1, 'one', NULL, 'null', 'other')", ["null"]),
        ("GREATEST", "GREATEST(1, 3, 2)", [3]),
        ("NVL", "NVL(NULL, NULL, 3)", [3]),
        ("LEAST", "LEAST(1, 3, 2)", [1]),
        ("NVL", "NVL(NULL, 'x')", ["x"]),
        ("NVL2", "NVL2(NULL, 'a', 'b')", ["b"]),
        ("NULLIF", "NULLIF('a', 'a')", [None]),
    ]),
    "Date and time": ("", [
        ("ADD_MONTHS", "ADD_MONTHS('2024-02-29'::date, 1)", ["2024-03-31 00:00:00"]),
        ("ADD_MONTHS", "ADD_MONTHS('2024-01-15 10:00:00'::timestamp, -1)", ["2023-12-15 10:00:00"]),
        ("CONVERT_TIMEZONE", "CONVERT_TIMEZONE('UTC', 'America/New_York', '2024-01-01 12:00:00'::timestamp)",
         ["2024-01-01 07:00:00"]),
        ("AT TIME ZONE", "CAST('2024-01-01 12:00:00'::timestamp AT TIME ZONE 'America/New_York' AS VARCHAR)",
         ["2024-01-01 17:00:00+00"]),
        ("CURRENT_DATE", "CURRENT_DATE = CAST(SYSDATE AS DATE)", [True]),
        ("CURRENT_TIMESTAMP", "CAST(CURRENT_TIMESTAMP AS DATE) = CURRENT_DATE", [True]),
        ("NOW", "CAST(NOW() AS DATE) = CURRENT_DATE", [True]),
        ("ISFINITE", "ISFINITE('2024-01-01'::date)", [True]),
        ("+ (date arithmetic)", "'2024-01-01'::date + 1", ["2024-01-02"]),
        ("- (date arithmetic)", "'2024-01-03'::date - '2024-01-01'::date", [2]),
        ("DATE_CMP", "DATE_CMP('2024-01-01'::date, '2024-01-02'::date)", [-1]),
        ("DATE_CMP_TIMESTAMP", "DATE_CMP_TIMESTAMP('2024-01-02'::date, '2024-01-01 10:00:00'::timestamp)", [1]),
        ("DATE_CMP_TIMESTAMPTZ", "DATE_CMP_TIMESTAMPTZ('2024-01-01'::date, '2024-01-01 00:00:00+00'::timestamptz)",
         [0]),
        ("DATEADD", "DATEADD(month, 1, '2024-01-31'::date)", ["2024-02-29 00:00:00"]),
        ("DATEADD", "DATEADD(hour, 5, '2024-01-01'::date)", ["2024-01-01 05:00:00"]),
        ("DATEDIFF", "DATEDIFF(week, '2024-01-01'::date, '2024-01-15'::date)", [2]),
        ("DATEDIFF", "DATEDIFF(hour, '2024-01-01'::timestamp, '2024-01-02 03:00:00'::timestamp)", [27]),
        ("DATE_PART", "DATE_PART(dow, '2024-05-06'::date)", [1.0]),
        ("DATE_PART_YEAR", "DATE_PART_YEAR('2024-05-06'::date)", [2024]),
        ("DATE_TRUNC", "DATE_TRUNC('week', '2024-05-08 10:00:00'::timestamp)", ["2024-05-06 00:00:00"]),
        ("EXTRACT", "EXTRACT(minute FROM '2024-01-01 10:11:12'::timestamp)", [11]),
        ("GETDATE", "CAST(GETDATE() AS DATE) = CURRENT_DATE", [True]),
        ("INTERVAL_CMP", "INTERVAL_CMP(INTERVAL '3 days', INTERVAL '1 day')", [1]),
        ("LAST_DAY", "LAST_DAY('2024-02-10'::date)", ["2024-02-29"]),
        ("MONTHS_BETWEEN", "MONTHS_BETWEEN('2024-03-31'::date, '2024-02-29'::date)", [1.0]),
        ("NEXT_DAY", "NEXT_DAY('2024-05-06'::date, 'Monday')", ["2024-05-13"]),
        ("SYSDATE", "CAST(SYSDATE AS DATE) = CURRENT_DATE", [True]),
        ("TIMEOFDAY", "TIMEOFDAY() LIKE '% UTC'", [True]),
        ("TIMESTAMP_CMP", "TIMESTAMP_CMP('2024-01-02'::timestamp, '2024-01-01'::timestamp)", [1]),
        ("TIMESTAMP_CMP_DATE", "TIMESTAMP_CMP_DATE('2024-01-01 10:00:00'::timestamp, '2024-01-01'::date)", [1]),
        ("TIMESTAMP_CMP_TIMESTAMPTZ", "TIMESTAMP_CMP_TIMESTAMPTZ('2024-01-01'::timestamp, "
                                      "'2024-01-02 00:00:00+00'::timestamptz)", [-1]),
        ("TIMESTAMPTZ_CMP", "TIMESTAMPTZ_CMP('2024-01-01 00:00:00+00'::timestamptz, "
                            "'2024-01-01 00:00:00+00'::timestamptz)", [0]),
        ("TIMESTAMPTZ_CMP_DATE", "TIMESTAMPTZ_CMP_DATE('2024-01-02 00:00:00+00'::timestamptz, '2024-01-01'::date)",
         [1]),
        ("TIMESTAMPTZ_CMP_TIMESTAMP", "TIMESTAMPTZ_CMP_TIMESTAMP('2024-01-01 00:00:00+00'::timestamptz, "
                                      "'2024-01-01 00:00:00'::timestamp)", [0]),
        ("TIMEZONE", "CAST(TIMEZONE('America/New_York', '2024-01-01 12:00:00'::timestamp) AS VARCHAR)",
         ["2024-01-01 17:00:00+00"]),
        ("TO_TIMESTAMP", "TO_TIMESTAMP('2024-05-06 07:08:09', 'YYYY-MM-DD HH24:MI:SS')", ["2024-05-06 07:08:09"]),
        ("TRUNC", "TRUNC('2024-05-06 07:08:09'::timestamp)", ["2024-05-06"]),
    ]),
    "Math": ("", [
        ("ABS", "ABS(-3)", [3]), ("ACOS", "ACOS(1)", [0.0]), ("ASIN", "ASIN(0)", [0.0]), ("ATAN", "ATAN(0)", [0.0]),
        ("ATAN2", "ATAN2(0, 1)", [0.0]), ("CBRT", "CBRT(8)", [2.0]), ("CEILING", "CEILING(1.2)", ["2"]),
        ("CEIL", "CEIL(1.2)", ["2"]), ("COS", "COS(0)", [1.0]), ("COT", "COT(1)", [0.6420926159343306]),
        ("DEGREES", "DEGREES(PI())", [180.0]), ("DEXP", "DEXP(0)", [1.0]), ("DLOG1", "DLOG1(1)", [0.0]),
        ("DLOG10", "DLOG10(100)", [2.0]), ("EXP", "EXP(0)", [1.0]), ("FLOOR", "FLOOR(1.8)", ["1"]),
        ("LN", "LN(1)", [0.0]), ("LOG", "LOG(100)", [2.0]), ("MOD", "MOD(7, 3)", [1]),
        ("PI", "PI()", [3.141592653589793]), ("POWER", "POWER(2, 10)", [1024.0]), ("POW", "POW(2, 3)", [8.0]),
        ("RADIANS", "RADIANS(180)", [3.141592653589793]), ("RANDOM", "RANDOM() BETWEEN 0 AND 1", [True]),
        ("ROUND", "ROUND(2.567, 2)", ["2.57"]), ("SIN", "SIN(0)", [0.0]), ("SIGN", "SIGN(-2)", [-1]),
        ("SQRT", "SQRT(16)", [4.0]), ("TAN", "TAN(0)", [0.0]), ("TRUNC", "TRUNC(2.567, 2)", ["2.56"]),
    ]),
    "String": ("", [
        ("||", "'a' || 'b'", ["ab"]), ("SIMILAR TO", "'abc' SIMILAR TO 'a%'", [True]),
        ("SIMILAR TO", "'abc' SIMILAR TO '_b(c|d)'", [True]), ("~ (POSIX)", "'abc' ~ '^a'", [True]),
        ("LIKE", "'abc' LIKE 'a_c'", [True]), ("ILIKE", "'ABC' ILIKE 'a%'", [True]), ("TO_HEX", "TO_HEX(255)", ["ff"]), ("ASCII", "ASCII('A')", [65]), ("BPCHARCMP", "BPCHARCMP('a', 'b')", [-1]),
        ("BTRIM", "BTRIM('xxaxx', 'x')", ["a"]), ("BTTEXT_PATTERN_CMP", "BTTEXT_PATTERN_CMP('b', 'a')", [1]),
        ("CHAR_LENGTH", "CHAR_LENGTH('abc')", [3]), ("CHARACTER_LENGTH", "CHARACTER_LENGTH('abc')", [3]),
        ("CHARINDEX", "CHARINDEX('c', 'abc')", [3]), ("CHR", "CHR(65)", ["A"]), ("COLLATE",
         "'abc' COLLATE case_insensitive = 'ABC'", [True]),
        ("CONCAT", "CONCAT('a', 'b')", ["ab"]), ("CONCAT", "CONCAT('a', NULL)", [None]),
        ("DIFFERENCE", "DIFFERENCE('Smith', 'Smyth')", [4]), ("INITCAP", "INITCAP('hello world')", ["Hello World"]),
        ("LEFT", "LEFT('abcdef', 2)", ["ab"]), ("RIGHT", "RIGHT('abcdef', 2)", ["ef"]), ("LEN", "LEN('abc')", [3]),
        ("LENGTH", "LENGTH('abc')", [3]), ("LOWER", "LOWER('ABC')", ["abc"]), ("LPAD", "LPAD('7', 3, '0')", ["007"]),
        ("RPAD", "RPAD('7', 3, '0')", ["700"]), ("LTRIM", "LTRIM('xxa', 'x')", ["a"]),
        ("OCTETINDEX", "OCTETINDEX('c', 'a\u00e9c')", [4]), ("OCTET_LENGTH", "OCTET_LENGTH('a\u00e9')", [3]),
        ("POSITION", "POSITION('c' IN 'abc')", [3]), ("QUOTE_IDENT", "QUOTE_IDENT('a b')", ['"a b"']),
        ("QUOTE_LITERAL", "QUOTE_LITERAL('it''s')", ["'it''s'"]),
        ("REGEXP_COUNT", "REGEXP_COUNT('a1b2c3', '[0-9]')", [3]), ("REGEXP_INSTR", "REGEXP_INSTR('a1b2', '[0-9]')",
                                                                   [2]),
        ("REGEXP_REPLACE", "REGEXP_REPLACE('a1b2', '[0-9]', 'X')", ["aXbX"]),
        ("REGEXP_SUBSTR", "REGEXP_SUBSTR('a1b22', '[0-9]+', 1, 2)", ["22"]), ("REPEAT", "REPEAT('ab', 3)",
                                                                              ["ababab"]),
        ("REPLACE", "REPLACE('abc', 'b', 'x')", ["axc"]), ("REPLICATE", "REPLICATE('ab', 2)", ["abab"]),
        ("REVERSE", "REVERSE('abc')", ["cba"]), ("RTRIM", "RTRIM('axx', 'x')", ["a"]),
        ("SOUNDEX", "SOUNDEX('Robert')", ["R163"]), ("SPLIT_PART", "SPLIT_PART('a,b,c', ',', 3)", ["c"]),
        ("STRPOS", "STRPOS('abc', 'c')", [3]), ("STRTOL", "STRTOL('ff', 16)", [255]),
        ("STRTOL", "STRTOL('0xf', 16)", [15]), ("SUBSTRING", "SUBSTRING('abcdef', 2, 3)", ["bcd"]),
        ("SUBSTRING", "SUBSTRING('abcdef', -1, 3)", ["a"]), ("SUBSTRING", "SUBSTRING('abcdef' FROM 0)", ["abcdef"]),
        ("SUBSTR", "SUBSTR('abcdef', 2)", ["bcdef"]), ("TEXTLEN", "TEXTLEN('abc')", [3]),
        ("TRANSLATE", "TRANSLATE('abc', 'ab', 'xy')", ["xyc"]), ("TRIM", "TRIM(BOTH 'x' FROM 'xax')", ["a"]),
        ("UPPER", "UPPER('a')", ["A"]),
    ]),
    "JSON": ("", [
        ("CAN_JSON_PARSE", "CAN_JSON_PARSE('{')", [False]),
        ("IS_VALID_JSON", "IS_VALID_JSON('{\"a\": 1}')", [True]),
        ("IS_VALID_JSON", "IS_VALID_JSON('[1]')", [False]),
        ("IS_VALID_JSON", "IS_VALID_JSON('{1:\"a\"}')", [False]),  # the documentation's examples
        ("IS_VALID_JSON", "IS_VALID_JSON(NULL)", [None]),
        ("IS_VALID_JSON_ARRAY", "IS_VALID_JSON_ARRAY('[1, 2]')", [True]),
        ("IS_VALID_JSON_ARRAY", "IS_VALID_JSON_ARRAY('[1,2,]')", [False]),
        ("IS_VALID_JSON_ARRAY", "IS_VALID_JSON_ARRAY('{\"a\":1}')", [False]),
        ("JSON_ARRAY_LENGTH", "JSON_ARRAY_LENGTH('[1', true)", [None]),
        ("JSON_EXTRACT_ARRAY_ELEMENT_TEXT", "JSON_EXTRACT_ARRAY_ELEMENT_TEXT('[1, 2]', 5)", [None]),
        ("JSON_EXTRACT_PATH_TEXT", "JSON_EXTRACT_PATH_TEXT('{', 'a', true)", [None]),
        ("JSON_EXTRACT_PATH_TEXT", "JSON_EXTRACT_PATH_TEXT('{\"a.b\": {\"c\": [1, 2]}}', 'a.b', 'c')", ["[1,2]"]),
        ("JSON_ARRAY_LENGTH", "JSON_ARRAY_LENGTH('[1, 2, 3]')", [3]),
        ("JSON_EXTRACT_ARRAY_ELEMENT_TEXT", "JSON_EXTRACT_ARRAY_ELEMENT_TEXT('[1, \"b\", 3]', 1)", ["b"]),
        ("JSON_EXTRACT_PATH_TEXT", "JSON_EXTRACT_PATH_TEXT('{\"a\": {\"b\": \"x\"}}', 'a', 'b')", ["x"]),
        ("JSON_PARSE", "JSON_SERIALIZE(JSON_PARSE('{\"a\": 1}'))", ['{"a":1}']),
        ("JSON_SERIALIZE", "JSON_SERIALIZE(JSON_PARSE('[1, 2]'))", ["[1,2]"]),
        ("JSON_TYPEOF", "JSON_TYPEOF(JSON_PARSE('1'))", ["number"]),
    ]),
    "Hash": ("", [
        ("CRC32", "CRC32('Amazon Redshift')", ["f2726906"]),  # the Redshift documentation's examples
        ("FNV_HASH", "FNV_HASH(1)", [-5968735742475085980]),
        ("FNV_HASH", "FNV_HASH('Amazon Redshift')", [7783490368944507294]),
        ("FNV_HASH", "FNV_HASH('Amazon Redshift', FNV_HASH(1))", [-2202602717770968555]),
        ("FNV_HASH", "FNV_HASH(1::bigint)", [-8517097267634966620]),
        ("FUNC_SHA1", "FUNC_SHA1('abc')", ["a9993e364706816aba3e25717850c26c9cd0d89d"]),
        ("MD5", "MD5('abc')", ["900150983cd24fb0d6963f7d28e17f72"]),
        ("SHA", "SHA('abc')", ["a9993e364706816aba3e25717850c26c9cd0d89d"]),
        ("SHA1", "SHA1('abc')", ["a9993e364706816aba3e25717850c26c9cd0d89d"]),
        ("SHA2", "SHA2('abc', 256)", ["ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"]),
        ("SHA2", "SHA2('abc', 512)", ["ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
                                      "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"]),
    ]),
    "Type conversion": ("", [
        ("CAST", "CAST('42' AS INTEGER)", [42]),
        ("CONVERT", "CONVERT(INTEGER, '42')", [42]),
        ("TO_CHAR", "TO_CHAR('2024-05-06 07:08:09'::timestamp, 'YYYY-MM-DD HH24:MI:SS')", ["2024-05-06 07:08:09"]),
        ("TO_CHAR", "TO_CHAR('2024-05-06'::date, 'Mon DD, YYYY')", ["May 06, 2024"]),
        ("TO_CHAR", "TO_CHAR('2024-05-06'::date, 'DY Day Q WW')", ["MON Monday    2 19"]),
        ("TO_CHAR", "TO_CHAR(125.8, '999D99')", [" 125.80"]),
        ("TO_CHAR", "TO_CHAR(-125.8, 'S999.99')", ["-125.80"]),
        ("TO_CHAR", "TO_CHAR(1234567, '9,999,999')", [" 1,234,567"]),
        ("TO_CHAR", "TO_CHAR(12, 'FM0000')", ["0012"]),
        ("TO_DATE", "TO_DATE('06/05/2024', 'DD/MM/YYYY')", ["2024-05-06"]),
        ("TO_NUMBER", "TO_NUMBER('12,454.8-', '99G999D9S')", ["-12454.8"]),
    ]),
    "System information": ("", [
        ("CURRENT_DATABASE", "CURRENT_DATABASE()", ["fn_tests"]),
        ("CURRENT_SCHEMA", "CURRENT_SCHEMA()", ["public"]),
        ("CURRENT_SCHEMAS", "CURRENT_SCHEMAS(false)", ["{public}"]),
        ("CURRENT_SETTING", "CURRENT_SETTING('search_path')", ["$user, public"]),
        ("CURRENT_SETTING", "CURRENT_SETTING('TimeZone')", ["UTC"]),
        ("CURRENT_USER", "CURRENT_USER", ["awsuser"]),
        ("SESSION_USER", "SESSION_USER", ["awsuser"]),
        ("USER", "USER", ["awsuser"]),
        ("CURRENT_USER_ID", "CURRENT_USER_ID", [100]),
        ("PG_BACKEND_PID", "PG_BACKEND_PID() > 0", [True]),
        ("VERSION", "VERSION() LIKE 'PostgreSQL 8.0.2 %Redshift%'", [True]),
    ]),
}

README = Path(__file__).resolve().parents[3] / "mwaa_local" / "cloud" / "redshift_data" / "README.md"
BEGIN, END = "<!-- functions:begin (generated by tests/cloud/redshift_data/test_functions.py) -->", "<!-- functions:end -->"


def statement(section: str, expressions: list[str]) -> str:
    source, _ = SECTIONS[section]
    columns = ", ".join(f"{expression} AS c{n}" for n, expression in enumerate(expressions))
    return (T if source else "") + f"SELECT {columns} {source}".rstrip()


def typed(values: list) -> list[tuple[str, object]]:
    return [(type(value).__name__, value) for value in values]


def _checks():
    for section, (_, entries) in SECTIONS.items():
        for n, (name, expression, expected) in enumerate(entries):
            yield pytest.param(section, n, expression, expected, id=f"{section}-{name}-{n}")


def _unsupported():
    for section, names in functions.UNSUPPORTED.items():
        for name in names:
            yield pytest.param(name, id=f"{section}-{name}")
    yield pytest.param("ST_AREA", id="Spatial-ST_AREA")


@pytest.fixture(scope="module")
def fn_db(local_cloud):
    import boto3

    from tests.cloud.redshift_data.conftest import Redshift

    client = boto3.session.Session(region_name="us-east-1").client("redshift-data",
                                                                   endpoint_url=local_cloud.endpoint_url)
    Redshift(client).run("CREATE DATABASE fn_tests")
    return Redshift(client, database="fn_tests")


@pytest.fixture(scope="module")
def section_results(fn_db):
    """One statement per section, submitted together; each section's rows as columns (or its error)."""
    ids = {section: fn_db.submit(statement(section, [e for _, e, _ in entries]))
           for section, (_, entries) in SECTIONS.items()}
    results = {}
    for section, statement_id in ids.items():
        described = fn_db.wait(statement_id)
        if described["Status"] != "FINISHED":
            results[section] = described.get("Error", described["Status"])
            continue
        rows = fn_db.records(statement_id)
        results[section] = [list(column) for column in zip(*rows, strict=True)]
    return results


@pytest.mark.parametrize(("section", "n", "expression", "expected"), list(_checks()))
def test_function(fn_db, section_results, section, n, expression, expected):
    result = section_results[section]
    if isinstance(result, str):  # the section failed: this check alone says whether it is the culprit
        rows = fn_db.query(statement(section, [expression]))
        actual = [row[0] for row in rows]
    else:
        actual = result[n]
    assert typed(actual) == typed(expected), f"{expression}\n  got      {actual}\n  expected {expected}"


@pytest.mark.parametrize("name", list(_unsupported()))
def test_unsupported_function_fails_naming_it(fn_db, name):
    sql = f"SELECT {name}" if name in functions._NILADIC else f"SELECT {name}(1)"
    assert fn_db.fail(sql) == f"ERROR: function {name.lower()} is not supported by the local Redshift"


def test_unsupported_names_are_refused_only_as_calls(fn_db):
    """A column or table that shares a name with an unsupported function is still an ordinary name."""
    fn_db.run("CREATE TABLE slice_num (checksum INT)")
    fn_db.run("INSERT INTO slice_num VALUES (1)")
    assert fn_db.query("SELECT checksum, 'hll_cardinality(x)' FROM slice_num") == [[1, "hll_cardinality(x)"]]


def test_current_setting_of_an_unknown_parameter_fails_like_redshift(fn_db):
    """DuckDB's own settings (memory_limit, enable_external_access, ...) are not Redshift parameters."""
    assert fn_db.fail("SELECT CURRENT_SETTING('memory_limit')") == \
        'ERROR: unrecognized configuration parameter "memory_limit"'


@pytest.mark.parametrize("sql", [
    "SELECT TO_CHAR(1, (SELECT max(content) FROM read_text('/etc/passwd')))",
    "SELECT FNV_HASH((SELECT max(content) FROM read_text('/etc/passwd')))",
    "SELECT RATIO_TO_REPORT(length(getenv('HOME'))) OVER ()",
])
def test_rewritten_functions_keep_the_sandbox(fn_db, sql):
    """Arguments of functions we rewrite are still checked: a file-reading function inside one is refused."""
    error = fn_db.fail(sql)
    assert error.startswith("ERROR: function ") and "does not exist (local cloud: the warehouse refuses SQL that " \
        "reaches outside it)" in error, error


def test_the_comparison_is_exact_and_typed():
    for actual, expected in [([3.0], [3]), (["3"], [3]), ([1], [True]), ([None], ["None"]), ([1, 2], [1])]:
        assert typed(actual) != typed(expected)


def render() -> str:
    """The README's function table: supported functions (tested above) and unsupported ones, by section."""
    lines = [BEGIN, "", "| Section | Supported (each has a test in test_functions.py) |", "|---|---|"]
    for section, (_, entries) in SECTIONS.items():
        names = sorted({name for name, _, _ in entries})
        lines.append(f"| {section} | {', '.join(names)} |")
    lines += ["", "| Section | Not supported: `function x is not supported by the local Redshift` | Why |", "|---|---|---|"]
    for section, names in functions.UNSUPPORTED.items():
        reasons: dict[str, list[str]] = {}
        for name, why in names.items():
            reasons.setdefault(why, []).append(name)
        for why, group in reasons.items():
            lines.append(f"| {section} | {', '.join(sorted(group))} | {why} |")
    for prefix, section in functions.UNSUPPORTED_PREFIXES.items():
        lines.append(f"| {section} | every {prefix}* function | the GEOMETRY type is not emulated |")
    supported = {(s, n) for s, (_, entries) in SECTIONS.items() for n, _, _ in entries}
    unsupported = sum(len(names) for names in functions.UNSUPPORTED.values())
    lines += ["", f"{len(supported)} functions supported, {unsupported} (plus the ST_* family) not supported.", "",
              END]
    return "\n".join(lines)


def test_readme_lists_the_functions_as_tested():
    text = README.read_text()
    match = re.search(re.escape(BEGIN) + ".*?" + re.escape(END), text, re.S)
    assert match, f"{README} has no generated function table: run python -m tests.cloud.redshift_data.test_functions"
    assert match.group(0) == render(), ("the README's function table is stale: run "
                                        "`.venv/bin/python -m tests.cloud.redshift_data.test_functions`")


def write_readme() -> None:
    text = README.read_text()
    pattern = re.compile(re.escape(BEGIN) + ".*?" + re.escape(END), re.S)
    README.write_text(pattern.sub(lambda _: render(), text) if pattern.search(text) else text.rstrip() + "\n\n"
                      + "## SQL functions\n\n" + render() + "\n")


if __name__ == "__main__":
    write_readme()
    sys.exit(0)
