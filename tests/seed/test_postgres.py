import psycopg2
import pytest

from mwaa_local import postgres
from mwaa_local.errors import UserError


def test_ensure_server_is_idempotent_and_serves_tcp(pg_server):
    data_dir, dsn = pg_server
    assert postgres.ensure_server(data_dir) == dsn  # already running: same server, no second start
    assert dsn.startswith("postgresql://postgres@127.0.0.1:")
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("SHOW server_version_num")
        assert int(cur.fetchone()[0]) >= 160000


def test_create_database_returns_a_working_dsn_and_is_repeatable(pg_server):
    _, dsn = pg_server
    first = postgres.create_database("mlflow_test", dsn)
    assert first == postgres.create_database("mlflow_test", dsn)
    assert first.endswith("/mlflow_test")
    with psycopg2.connect(first) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_database()")
        assert cur.fetchone()[0] == "mlflow_test"


@pytest.mark.parametrize("name", ["Bad-Name", "x; DROP DATABASE postgres", "", "1abc"])
def test_create_database_rejects_unsafe_names(pg_server, name):
    with pytest.raises(UserError, match="database name"):
        postgres.create_database(name, pg_server[1])


def test_user_dsn_overrides_the_embedded_server(monkeypatch):
    monkeypatch.setenv(postgres.DSN_ENV, "postgresql://me@db.example:5432/airflow")
    assert postgres.ensure_server() == "postgresql://me@db.example:5432/airflow"
    assert postgres.with_database(postgres.ensure_server(), "retail") == "postgresql://me@db.example:5432/retail"


def test_taken_port_gets_an_actionable_error(pg_tmp):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        with pytest.raises(UserError, match=postgres.PORT_ENV):
            postgres.ensure_server(pg_tmp / "data", port=sock.getsockname()[1])


def test_stop_and_restart_keep_the_data(pg_tmp):
    data_dir = pg_tmp / "data"
    dsn = postgres.create_database("keep", postgres.ensure_server(data_dir, port=0))
    with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
        cur.execute("CREATE TABLE t AS SELECT 42 AS answer")
    conn.close()
    assert postgres.stop(data_dir) is True
    assert postgres.stop(data_dir) is False
    dsn = postgres.with_database(postgres.ensure_server(data_dir, port=0), "keep")
    try:
        with psycopg2.connect(dsn) as conn, conn.cursor() as cur:
            cur.execute("SELECT answer FROM t")
            assert cur.fetchone() == (42,)
        conn.close()
    finally:
        postgres.stop(data_dir)
