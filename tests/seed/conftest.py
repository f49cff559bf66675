import shutil
import tempfile
from pathlib import Path

import pytest

from mwaa_local import postgres


@pytest.fixture
def pg_tmp():
    """A scratch folder for a PostgreSQL data dir. Not under pytest's tmp_path: as root the server runs as the
    `pgserver` user, and every pytest session resets /tmp/pytest-of-<user> to 0700, locking that user out."""
    folder = Path(tempfile.mkdtemp(prefix="mwaa-pg-test-"))
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_server():
    """A real embedded PostgreSQL for the seed tests, on a free port, stopped at the end."""
    folder = Path(tempfile.mkdtemp(prefix="mwaa-pg-test-"))
    data_dir = folder / "data"
    dsn = postgres.ensure_server(data_dir, port=0)
    yield data_dir, dsn
    postgres.stop(data_dir)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def fresh_db(pg_server, request):
    """An empty database per test (named after the test)."""
    import psycopg2

    _, dsn = pg_server
    name = "t_" + request.node.name.lower().replace("[", "_").replace("]", "").replace("-", "_")[:50]
    conn = psycopg2.connect(dsn)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
    conn.close()
    return postgres.create_database(name, dsn)
