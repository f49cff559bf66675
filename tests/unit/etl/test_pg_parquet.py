"""PostgreSQL -> Parquet through COPY and Arrow (mwaa_platform.pg_parquet) against a real PostgreSQL: every value
comes back exactly as PostgreSQL holds it (numeric scale, timestamptz as UTC instants, NULL vs '')."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mwaa_local import postgres
from mwaa_platform import pg_parquet

COLUMNS = {
    "id": ("bigint", pa.int64()), "qty": ("integer", pa.int32()), "small": ("smallint", pa.int16()),
    "price": ("numeric(12,2)", pa.decimal128(12, 2)), "wide": ("numeric(38,10)", pa.decimal128(38, 10)),
    "free": ("numeric", pa.string()), "at": ("timestamptz", pa.timestamp("us", tz="UTC")),
    "local_at": ("timestamp", pa.timestamp("us")), "day": ("date", pa.date32()), "flag": ("boolean", pa.bool_()),
    "note": ("text", pa.string()), "code": ("char(3)", pa.string()), "ratio": ("double precision", pa.float64()),
    "doc": ("jsonb", pa.string()),
}
ROWS = [
    "(1, 5, -3, 12.50, 1234567890123456789012345678.0123456789, 0.000000000000000000001, "
    "'2026-03-01 10:00:00.123456+05:30', '2026-03-01 10:00:00.5', '2026-03-01', true, 'plain', 'USD', 0.1, "
    "'{\"a\": [1, 2]}')",
    "(2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    "(3, 0, 0, -0.01, -0.0000000001, -42, '1999-12-31 23:59:59.999999-08', '1970-01-01', '0001-01-01', false, '', "
    "'ab', -1.5e300, 'null')",
    "(4, 2147483647, 32767, 9999999999.99, 0, 1e-30, '2026-06-30 12:00:00Z', '2026-06-30 12:00:00', '9999-12-31', "
    "NULL, E'comma, \"quotes\"\\nnew line\\ttab ünïcødé', NULL, 'NaN', '[]')",
    "(5, -1, -32768, 0.00, 99.5, 100, '2026-03-29 01:30:00+01', NULL, NULL, NULL, 'NULL', 'x', 0, NULL)",
]


@pytest.fixture(scope="module")
def source():
    import psycopg2

    folder = Path(tempfile.mkdtemp(prefix="mwaa-pg-unit-"))
    data_dir = folder / "data"
    dsn = postgres.create_database("pg_parquet", postgres.ensure_server(data_dir, port=0))
    conn = psycopg2.connect(dsn)
    with conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE sample (" + ", ".join(f"{c} {t}" for c, (t, _) in COLUMNS.items()) + ")")
        cur.execute("INSERT INTO sample VALUES " + ", ".join(ROWS))
        cur.execute("SET TIME ZONE 'America/New_York'")  # a session zone that is not UTC must not matter
    yield conn
    conn.close()
    postgres.stop(data_dir)
    shutil.rmtree(folder, ignore_errors=True)


def _expected(conn) -> list[dict]:
    """What psycopg2 itself returns, in UTC for timestamptz: the ground truth."""
    import psycopg2.extras

    with conn.cursor() as cur:
        psycopg2.extras.register_default_jsonb(cur, loads=lambda text: text)  # jsonb as PostgreSQL's own text
        cur.execute("SET TIME ZONE 'UTC'")
        cur.execute("SELECT * FROM sample ORDER BY id")
        names = [c.name for c in cur.description]
        rows = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    conn.rollback()
    return rows


def test_every_type_round_trips_exactly(source, tmp_path):
    written = pg_parquet.copy_to_parquet(source, "SELECT * FROM sample ORDER BY id", tmp_path / "s.parquet")
    source.rollback()
    table = pq.read_table(written.path)
    assert table.schema == pa.schema([(c, t) for c, (_, t) in COLUMNS.items()])
    assert written.rows == table.num_rows == len(ROWS)
    got, expected = table.to_pylist(), _expected(source)
    for mine, truth in zip(got, expected, strict=True):
        for column in COLUMNS:
            a, b = mine[column], truth[column]
            if column == "free" and a is not None:  # exact text of an unconstrained numeric: same digits, same scale
                assert Decimal(a).as_tuple() == b.as_tuple(), (mine["id"], column, a, b)
                continue
            if column == "ratio" and a is not None and a != a:  # NaN
                assert b != b
                continue
            if column == "at" and a is not None:
                assert a.utcoffset() == dt.timedelta(0) and a == b, (mine["id"], column, a, b)
                continue
            assert a == b and type(a) is type(b), (mine["id"], column, a, b)
    by_id = {r["id"]: r for r in got}
    assert by_id[1]["price"] == Decimal("12.50") and str(by_id[1]["price"]) == "12.50"  # the scale survives
    assert by_id[1]["at"] == dt.datetime(2026, 3, 1, 4, 30, 0, 123456, tzinfo=dt.UTC)
    assert by_id[3]["note"] == "" and by_id[2]["note"] is None and by_id[5]["note"] == "NULL"
    assert by_id[4]["note"] == 'comma, "quotes"\nnew line\ttab ünïcødé'
    assert by_id[3]["code"] == "ab " and by_id[1]["wide"] == Decimal("1234567890123456789012345678.0123456789")
    assert all(v is None for k, v in by_id[2].items() if k != "id")


def test_large_results_stream_as_many_row_groups(source, tmp_path):
    query = ("SELECT g AS id, ((g % 1000) / 100.0)::numeric(12,2) AS amount, "
             "'2026-01-01'::timestamptz + g * interval '1 second' AS at FROM generate_series(1, 200000) g")
    written = pg_parquet.copy_to_parquet(source, query, tmp_path / "big.parquet", block_bytes=256 * 1024)
    source.rollback()
    meta = pq.ParquetFile(written.path).metadata
    assert written.rows == meta.num_rows == 200_000
    assert written.row_groups == meta.num_row_groups > 10  # bounded batches, one row group each
    table = pq.read_table(written.path)
    assert table["id"].to_pylist()[-1] == 200_000 and str(table["amount"][0].as_py()) == "0.01"


def test_an_empty_result_is_an_empty_file_with_the_schema(source, tmp_path):
    written = pg_parquet.copy_to_parquet(source, "SELECT * FROM sample WHERE false", tmp_path / "e.parquet")
    source.rollback()
    table = pq.read_table(written.path)
    assert table.num_rows == 0 and written.rows == 0
    assert table.schema.field("price").type == pa.decimal128(12, 2)


def test_a_value_that_has_no_arrow_form_fails_naming_the_problem(source, tmp_path):
    with pytest.raises(pg_parquet.ExtractError, match="does not fit its column's type"):
        pg_parquet.copy_to_parquet(source, "SELECT 'infinity'::timestamptz AS at", tmp_path / "i.parquet")
    source.rollback()


def test_a_failing_query_reports_postgres_own_error(source, tmp_path):
    import psycopg2

    with pytest.raises(psycopg2.Error, match="no_such_table"):
        pg_parquet.copy_to_parquet(source, "SELECT * FROM no_such_table", tmp_path / "f.parquet")
    source.rollback()
    with pytest.raises(pg_parquet.ExtractError, match="more than once"):
        pg_parquet.copy_to_parquet(source, "SELECT 1 AS a, 2 AS a", tmp_path / "d.parquet")
    source.rollback()
