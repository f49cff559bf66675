"""The SQL sandbox: Redshift SQL cannot read or write host files, reach the network or change DuckDB's settings,
and names/options from a statement cannot inject SQL into what COPY and UNLOAD generate.

Each hostile statement goes through the Data API and must end FAILED with a Redshift-style error, leak nothing it
tried to read, and leave nothing it tried to write. Then each half of the sandbox is tested alone: the statement
checks (no DuckDB involved) and the locked DuckDB connection (raw DuckDB SQL, no statement checks)."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from mwaa_local.cloud.redshift_data import dialect, engine

SECRET = "TOP-SECRET-CONTENT-7f3a"
ROLE = "IAM_ROLE 'arn:aws:iam::123456789012:role/redshift-copy'"


@pytest.fixture
def host(tmp_path: Path) -> Path:
    """A folder outside the cloud's state directory holding files a statement must not read."""
    (tmp_path / "secret.txt").write_text(f"{SECRET}\n")
    (tmp_path / "data.csv").write_text(f"a,b\n{SECRET},1\n")
    (tmp_path / "data.json").write_text(json.dumps({"a": SECRET}) + "\n")
    duckdb.connect(str(tmp_path / "other.duckdb")).execute(f"CREATE TABLE loot AS SELECT '{SECRET}' AS a").close()
    return tmp_path


# (id, statement, fragment the error must contain; "a|b": either). {host} is the folder above, {out} a path that must not appear,
# {bucket} an S3 bucket holding in/data.csv.
HOSTILE = [
    ("read_text", "SELECT content FROM read_text('{host}/secret.txt')", "function read_text does not exist"),
    ("read_blob", "SELECT content FROM read_blob('{host}/secret.txt')", "function read_blob does not exist"),
    ("read_csv", "SELECT * FROM read_csv('{host}/data.csv')", "function read_csv does not exist"),
    ("read_csv_auto", "SELECT * FROM read_csv_auto('{host}/data.csv')", "function read_csv_auto does not exist"),
    ("read_json", "SELECT * FROM read_json('{host}/data.json')", "function read_json does not exist"),
    ("read_json_auto", "SELECT * FROM read_json_auto('{host}/data.json')", "does not exist"),
    ("read_ndjson_objects", "SELECT * FROM read_ndjson_objects('{host}/data.json')", "does not exist"),
    ("read_parquet", "SELECT * FROM read_parquet('{host}/x.parquet')", "function read_parquet does not exist"),
    ("parquet_scan", "SELECT * FROM parquet_scan('{host}/x.parquet')", "function parquet_scan does not exist"),
    ("parquet_metadata", "SELECT * FROM parquet_metadata('{host}/x.parquet')", "does not exist"),
    ("read_duckdb", "SELECT * FROM read_duckdb('{host}/other.duckdb')", "does not exist"),
    ("glob", "SELECT * FROM glob('{host}/*')", "function glob does not exist|syntax error at or near"),
    ("sniff_csv", "SELECT * FROM sniff_csv('{host}/data.csv')", "function sniff_csv does not exist"),
    ("query_runs_sql_text", "SELECT * FROM query('SELECT content FROM read_text(''{host}/secret.txt'')')",
     "function query does not exist"),
    ("query_table", "SELECT * FROM query_table('loot')", "function query_table does not exist"),
    ("duckdb_settings", "SELECT * FROM duckdb_settings()", "function duckdb_settings does not exist"),
    ("scalar_position", "SELECT read_text('{host}/secret.txt')", "function read_text does not exist"),
    ("unknown_table_function", "SELECT * FROM not_a_redshift_function('{host}')", "does not exist"),
    ("string_path_as_table", "SELECT * FROM '{host}/data.csv'", "does not exist"),
    ("quoted_path_as_table", 'SELECT * FROM "{host}/secret.txt"', "does not exist"),
    ("relative_file_as_table", 'SELECT * FROM "data.csv"', "does not exist"),
    ("url_as_table", "SELECT * FROM 'https://example.com/x.parquet'", "does not exist"),
    ("in_cte", "WITH x AS (SELECT * FROM read_text('{host}/secret.txt')) SELECT * FROM x", "does not exist"),
    ("in_subquery", "SELECT 1 WHERE EXISTS (SELECT 1 FROM read_text('{host}/secret.txt'))", "does not exist"),
    ("in_join", "SELECT * FROM (SELECT 1 AS a) t JOIN '{host}/data.csv' f ON true", "does not exist"),
    ("ctas", "CREATE TABLE stolen AS SELECT * FROM read_text('{host}/secret.txt')", "does not exist"),
    ("view", "CREATE VIEW stolen AS SELECT * FROM read_csv('{host}/data.csv')", "does not exist"),
    ("attach", "ATTACH '{out}.duckdb' AS x", "syntax error at or near"),
    ("attach_existing", "ATTACH '{host}/other.duckdb' AS other", "syntax error at or near"),
    ("detach", "DETACH dev", "syntax error at or near"),
    ("load", "LOAD httpfs", 'syntax error at or near "LOAD"'),
    ("install", "INSTALL httpfs", "syntax error at or near"),
    ("force_install", "FORCE INSTALL httpfs", "syntax error at or near"),
    ("duckdb_copy_to", "COPY (SELECT 'payload') TO '{out}.csv'", "syntax error at or near"),
    ("duckdb_copy_table_to", "COPY pg_catalog.pg_class TO '{out}.csv'", "syntax error at or near"),
    ("copy_from_host_path", "COPY t FROM '{host}/data.csv' CSV", "is not valid: expected s3://"),
    ("copy_from_file_url", "COPY t FROM 'file://{host}/data.csv' CSV", "is not valid: expected s3://"),
    ("export_database", "EXPORT DATABASE '{out}'", "syntax error at or near"),
    ("import_database", "IMPORT DATABASE '{host}'", "syntax error at or near"),
    ("pragma", "PRAGMA database_list", 'syntax error at or near "PRAGMA"'),
    ("call_pragma", "CALL pragma_database_list()", 'syntax error at or near "CALL"'),
    ("checkpoint", "CHECKPOINT", "syntax error at or near"),
    ("use", "USE other", "syntax error at or near"),
    ("create_secret", "CREATE SECRET s (TYPE s3, KEY_ID 'x', SECRET 'y')", "syntax error at or near"),
    ("create_macro", "CREATE MACRO m(a) AS a", "syntax error at or near"),
    ("set_external_access", "SET enable_external_access = true",
     'unrecognized configuration parameter "enable_external_access"'),
    ("set_allowed_directories", "SET allowed_directories = ['/']",
     'unrecognized configuration parameter "allowed_directories"'),
    ("set_session_duckdb", "SET SESSION enable_external_access = true", "unrecognized configuration parameter"),
    ("set_global", "SET GLOBAL enable_external_access = true", "unrecognized configuration parameter"),
    ("set_variable", "SET VARIABLE x = 1", "unrecognized configuration parameter"),
    ("reset_duckdb", "RESET lock_configuration", 'unrecognized configuration parameter "lock_configuration"'),
    ("summarize", "SUMMARIZE SELECT 1", "syntax error at or near"),
    # Identifier injection: names and options from COPY / UNLOAD used to be pasted into DuckDB SQL.
    ("copy_table_name_injection",
     "COPY \"t; COPY (SELECT 'payload') TO '{out}.csv'; --\" FROM 's3://{bucket}/in/' CSV",
     "relation \"t; COPY"),
    ("copy_column_injection",
     "COPY t (a, \"b) SELECT 1; COPY (SELECT 'payload') TO '{out}.csv'; --\") FROM 's3://{bucket}/in/' CSV",
     "does not exist"),
    ("copy_delimiter_injection",
     "COPY t FROM 's3://{bucket}/in/' CSV DELIMITER ''', header=false); COPY (SELECT 1) TO ''{out}.csv''; --'",
     "delimiter must be a single one-byte character"),
    ("copy_quote_injection",
     "COPY t FROM 's3://{bucket}/in/' CSV QUOTE 'xx''); COPY (SELECT 1) TO ''{out}.csv''; --'",
     "quote must be a single one-byte character"),
    ("copy_ignoreheader_injection",
     "COPY t FROM 's3://{bucket}/in/' CSV IGNOREHEADER 1 MAXERROR abc", "invalid value for MAXERROR"),
    ("copy_dateformat_injection",
     "COPY t FROM 's3://{bucket}/in/' CSV DATEFORMAT 'YYYY''), b); COPY (SELECT 1) TO ''{out}.csv''; --'",
     "Load into table 't' failed"),
    ("unload_partition_by_injection",
     "UNLOAD ('SELECT 1 AS a, 2 AS b') TO 's3://{bucket}/u1/' "
     "PARTITION BY (\"a)); COPY (SELECT 'import os') TO '{out}.pth' (FORMAT csv, PARTITION_BY (a\")",
     "cannot be a path"),
    ("unload_partition_by_option_injection",
     "UNLOAD ('SELECT 1 AS a, 2 AS b') TO 's3://{bucket}/u1/' "
     "PARTITION BY (\"a), WRITE_PARTITION_COLUMNS true, PARTITION_BY (b\")",
     "column \"a), WRITE_PARTITION_COLUMNS true, PARTITION_BY (b\" does not exist"),
    ("unload_partition_by_unquoted_tokens",
     "UNLOAD ('SELECT 1 AS a, 2 AS b') TO 's3://{bucket}/u2/' PARTITION BY (a '{out}')",
     "syntax error at or near"),
    ("unload_partition_by_path_name",
     "UNLOAD ('SELECT 1 AS \"../x\", 2 AS b') TO 's3://{bucket}/u3/' PARTITION BY (\"../x\")",
     "cannot be a path"),
    ("unload_delimiter_injection",
     "UNLOAD ('SELECT 1') TO 's3://{bucket}/u4/' DELIMITER '|''); COPY (SELECT 1) TO ''{out}.csv'' (FORMAT csv'",
     "delimiter must be a single one-byte character"),
    ("unload_extension_path", "UNLOAD ('SELECT 1') TO 's3://{bucket}/u5/' EXTENSION '../../x'", "invalid EXTENSION"),
    ("unload_query_reads_file", "UNLOAD ('SELECT content FROM read_text(''{host}/secret.txt'')') TO 's3://{bucket}/u6/'",
     "function read_text does not exist"),
    ("unload_to_host_path", "UNLOAD ('SELECT 1') TO '{out}/'", "is not valid: expected s3://"),
    ("unload_to_file_url", "UNLOAD ('SELECT 1') TO 'file://{out}/'", "is not valid: expected s3://"),
    ("manifest_file_url", "COPY t FROM 's3://{bucket}/manifests/file-url' CSV MANIFEST", "is not an S3 URL"),
    ("manifest_host_path", "COPY t FROM 's3://{bucket}/manifests/host-path' CSV MANIFEST", "is not an S3 URL"),
    ("manifest_not_a_list", "COPY t FROM 's3://{bucket}/manifests/not-a-list' CSV MANIFEST", "is not valid"),
]


@pytest.fixture
def hostile_setup(rs, aws, bucket, host):
    s3 = aws("s3")
    s3.put_object(Bucket=bucket, Key="in/data.csv", Body=b"1,2024-01-02\n")
    for name, url in (("file-url", f"file://{host}/data.csv"), ("host-path", f"{host}/data.csv")):
        s3.put_object(Bucket=bucket, Key=f"manifests/{name}",
                      Body=json.dumps({"entries": [{"url": url, "mandatory": True}]}).encode())
    s3.put_object(Bucket=bucket, Key="manifests/not-a-list", Body=b'{"entries": {"url": "s3://x/y"}}')
    rs.run("CREATE TABLE t (a INT, b DATE)")
    return rs, bucket


@pytest.mark.parametrize(("sql", "fragment"), [(s, f) for _, s, f in HOSTILE], ids=[i for i, _, _ in HOSTILE])
def test_hostile_statement_fails_like_redshift_and_touches_nothing(hostile_setup, host, sql, fragment):
    rs, bucket = hostile_setup
    out = host / "written-by-sql"
    before = sorted(p.name for p in host.iterdir())
    error = rs.fail(sql.format(host=host, out=out, bucket=bucket, secret=SECRET))
    assert error.startswith("ERROR: ") and "\n" not in error, error
    assert any(f in error for f in fragment.split("|")), error
    assert SECRET not in error
    assert sorted(p.name for p in host.iterdir()) == before, "the statement wrote next to the host files"
    assert rs.scalar("SELECT count(*) FROM t") == 0  # and nothing was half-loaded


def test_hostile_statement_in_a_batch_fails_the_whole_batch(hostile_setup, host):
    rs, _ = hostile_setup
    described = rs.batch(["INSERT INTO t VALUES (1, '2024-01-01')",
                          f"CREATE TABLE stolen AS SELECT content FROM read_text('{host}/secret.txt')"])
    assert described["Status"] == "FAILED" and "read_text does not exist" in described["Error"]
    assert rs.scalar("SELECT count(*) FROM t") == 0


def test_result_sets_never_carry_host_files(hostile_setup, host):
    """The attack of the issue, end to end: read a host file, then UNLOAD it to S3. Both are refused."""
    rs, bucket = hostile_setup
    rs.fail(f"CREATE TABLE loot AS SELECT * FROM '{host}/data.csv'")
    rs.fail(f"UNLOAD ('SELECT * FROM ''{host}/data.csv''') TO 's3://{bucket}/loot/'")
    assert rs.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'loot'") == 0


def test_database_names_never_reach_outside_the_warehouse(local_cloud, redshift_client, host):
    """A database is a file named after it: '../' in a name must neither open nor delete a file elsewhere."""
    import os

    from tests.cloud.redshift_data.conftest import Redshift

    victim = host / "victim.duckdb"
    duckdb.connect(str(victim)).execute(f"CREATE TABLE loot AS SELECT '{SECRET}' AS a").close()
    warehouse = Path(local_cloud.state_dir) / "redshift" / "warehouse" / "local-wg"
    relative = os.path.relpath(host / "victim", warehouse)
    assert relative.startswith("..")
    error = Redshift(redshift_client, database=relative).fail("SELECT a FROM loot")
    assert error == f'FATAL: database "{relative.lower()}" does not exist'
    dev = Redshift(redshift_client)
    assert "does not exist" in dev.fail(f'DROP DATABASE "{relative}"')
    assert "invalid database name" in dev.fail(f'CREATE DATABASE "{relative}"')
    assert victim.exists() and duckdb.connect(str(victim)).execute("SELECT a FROM loot").fetchall() == [(SECRET,)]


def test_cluster_names_never_reach_outside_the_warehouse(local_cloud, aws, host):
    """moto's CreateCluster takes any identifier; an endpoint is a folder named after it, so '../' is refused."""
    import os

    from botocore.exceptions import ClientError

    warehouse = Path(local_cloud.state_dir) / "redshift" / "warehouse"
    identifier = os.path.relpath(host / "evil-cluster", warehouse)
    aws("redshift").create_cluster(ClusterIdentifier=identifier, NodeType="dc2.large", MasterUsername="admin",
                                   MasterUserPassword="Passw0rd!", ClusterType="single-node")
    with pytest.raises(ClientError) as caught:
        aws("redshift-data").execute_statement(ClusterIdentifier=identifier, Database="dev", Sql="SELECT 1")
    assert caught.value.response["Error"]["Code"] == "ValidationException"
    assert "Invalid ClusterIdentifier" in caught.value.response["Error"]["Message"]
    assert not (host / "evil-cluster").exists()


# ---- what still works ---------------------------------------------------------------------------------------------

def test_redshift_parameters_are_still_accepted(rs):
    for sql in ("SET search_path TO public", "SET statement_timeout = 60000", "SET query_group TO 'etl'",
                "SET SESSION timezone = 'UTC'", "SET TIME ZONE 'UTC'", "RESET ALL", "RESET search_path",
                "SET datestyle TO ISO, MDY", "SET enable_result_cache_for_session TO off"):
        rs.run(sql)


def test_copy_into_quoted_identifiers(rs, aws, bucket):
    aws("s3").put_object(Bucket=bucket, Key="quoted/rows.csv", Body=b"1,x\n2,y\n")
    rs.run('CREATE TABLE "My T" ("Col A" INT, "b c" VARCHAR(4))')
    assert rs.run(f"COPY \"My T\" FROM 's3://{bucket}/quoted/' {ROLE} CSV")["ResultRows"] == 2
    assert rs.query('SELECT "Col A", "b c" FROM public."My T" ORDER BY 1') == [[1, "x"], [2, "y"]]
    rs.run('CREATE SCHEMA "Odd ""Schema"""')
    rs.run('CREATE TABLE "Odd ""Schema"""."t""q" (n INT, s VARCHAR)')
    assert rs.run(f"COPY \"Odd \"\"Schema\"\"\".\"t\"\"q\" FROM 's3://{bucket}/quoted/' CSV")["ResultRows"] == 2
    assert rs.query('SELECT n, s FROM "Odd ""Schema"""."t""q" ORDER BY n') == [[1, "x"], [2, "y"]]


def test_copy_column_list_with_quoted_names(rs, aws, bucket):
    aws("s3").put_object(Bucket=bucket, Key="cols/rows.csv", Body=b"x,1\ny,2\n")
    rs.run('CREATE TABLE "My T" ("Col A" INT, "b c" VARCHAR(4))')
    assert rs.run(f"COPY \"My T\" (\"b c\", \"Col A\") FROM 's3://{bucket}/cols/' CSV")["ResultRows"] == 2
    assert rs.query('SELECT "Col A", "b c" FROM "My T" ORDER BY 1') == [[1, "x"], [2, "y"]]


def test_unload_partition_by_a_quoted_column_with_a_space(rs, aws, bucket):
    rs.run('CREATE TABLE sales ("sale day" DATE, amount INT)')
    rs.run("INSERT INTO sales VALUES ('2024-01-01', 1), ('2024-01-01', 2), ('2024-01-02', 3)")
    described = rs.run(f"UNLOAD ('SELECT amount, \"sale day\" FROM sales') TO 's3://{bucket}/by-day/' {ROLE} "
                       "PARTITION BY (\"sale day\") CSV")
    assert described["ResultRows"] == 3
    keys = sorted(o["Key"] for o in aws("s3").list_objects_v2(Bucket=bucket, Prefix="by-day/")["Contents"])
    # DuckDB percent-encodes partition names and values, so no name or value can add a path segment.
    assert keys == ["by-day/sale%20day=2024-01-01/0000_part_00", "by-day/sale%20day=2024-01-02/0000_part_00"]
    body = aws("s3").get_object(Bucket=bucket, Key=keys[0])["Body"].read().decode()
    assert sorted(body.split()) == ["1", "2"]


def test_options_with_quotes_are_values_not_sql(rs, aws, bucket, tmp_path):
    """NULL AS and DELIMITER values that look like SQL are just strings (Redshift accepts any NULL AS)."""
    out = tmp_path / "null-as.csv"
    rs.run("CREATE TABLE n (a INT, s VARCHAR)")
    rs.run("INSERT INTO n VALUES (1, NULL)")
    null_as = f"x''); COPY (SELECT 1) TO ''{out}''; --"
    rs.run(f"UNLOAD ('SELECT a, s FROM n') TO 's3://{bucket}/nulls/' NULL AS '{null_as}'")
    body = aws("s3").get_object(Bucket=bucket, Key="nulls/0000_part_00")["Body"].read().decode()
    assert body == "1|" + null_as.replace("''", "'") + "\n"
    rs.run(f"UNLOAD ('SELECT a, s FROM n') TO 's3://{bucket}/quote-delimited/' NULL AS 'N' DELIMITER ''''")
    assert aws("s3").get_object(Bucket=bucket, Key="quote-delimited/0000_part_00")["Body"].read() == b"1'N\n"
    assert not out.exists()


def test_quoted_identity_and_temp_table_names_cannot_inject(rs):
    """CREATE TABLE with IDENTITY makes a sequence named after the table, and temp tables are dropped by name after
    each statement: both names are quoted, so these are odd but harmless table names (nothing else is created)."""
    odd = "x_seq START 1; CREATE TABLE injected_by_identity (a INT); --"
    rs.run(f'CREATE TABLE "{odd}" (id INT IDENTITY(1,1), v INT)')
    rs.run(f'INSERT INTO "{odd}" (v) VALUES (10), (20)')
    assert rs.query(f'SELECT id, v FROM "{odd}" ORDER BY id') == [[1, 10], [2, 20]]
    rs.run('CREATE TEMP TABLE "a""; CREATE TABLE injected_by_temp (a INT); --" (x INT)')
    assert rs.query("SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'injected%'") == []


# ---- each half alone ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("sql", "fragment"), [(s, f) for _, s, f in HOSTILE if not s.startswith(("COPY", "UNLOAD"))],
                         ids=[i for i, s, _ in HOSTILE if not s.startswith(("COPY", "UNLOAD"))])
def test_statement_checks_alone_refuse_every_hostile_statement(sql, fragment):
    """No DuckDB here: the statement is refused while it is translated."""
    sql = sql.format(host="/tmp/host", out="/tmp/host/out", bucket="b", secret=SECRET)
    with pytest.raises(dialect.SqlError) as caught:
        for text, tokens in dialect.split(sql):
            dialect.classify(text, tokens)
    assert any(f in str(caught.value) for f in fragment.split("|")), caught.value


def test_legitimate_sql_passes_the_statement_checks():
    for sql in ("SELECT * FROM generate_series(1, 3)", "SELECT i FROM range(3) AS t(i)", "SELECT repeat('x', 3)",
                "SELECT current_setting('search_path')", 'SELECT * FROM public."My T"', "SELECT * FROM dev.public.t",
                "CREATE TABLE IF NOT EXISTS s.t (a INT) DISTSTYLE ALL", "DROP TABLE IF EXISTS s.t",
                "CREATE FUNCTION f_add(int, int) RETURNS int STABLE AS $$ SELECT $1 + $2 $$ LANGUAGE sql",
                "SELECT json_extract_path_text('{\"a\": 1}', 'a')", "DESCRIBE t"):
        for text, tokens in dialect.split(sql):
            assert dialect.classify(text, tokens).kind in ("sql", "noop"), sql


# Raw DuckDB SQL, straight to the connection: what the DuckDB configuration alone must stop.
RAW = [
    "SELECT content FROM read_text('{host}/secret.txt')",
    "SELECT * FROM '{host}/data.csv'",
    "SELECT * FROM read_csv('{host}/../{hostname}/data.csv')",
    "SELECT * FROM read_csv('{scratch}/../../{hostname}/data.csv')",
    "SELECT * FROM read_csv('file://{host}/data.csv')",
    "SELECT * FROM glob('{host}/*')",
    "SELECT * FROM read_parquet('https://example.com/x.parquet')",
    "COPY (SELECT 1) TO '{out}.csv'",
    "COPY (SELECT 1 AS a, 2 AS b) TO '{out}' (FORMAT csv, PARTITION_BY (a))",
    "ATTACH '{out}.duckdb' AS x",
    "ATTACH '{warehouse}/other.duckdb' AS x",
    "COPY (SELECT 1) TO '{warehouse}/next-to-the-database.csv'",
    "ATTACH '{host}/other.duckdb' AS other",
    "EXPORT DATABASE '{out}'",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET allowed_directories = ['/']",
    "SET lock_configuration = false",
    "SET temp_directory = '{out}'",
    "RESET enable_external_access",
    "SET autoload_known_extensions = true",
]


@pytest.fixture
def locked(tmp_path, host):
    scratch = tmp_path / "state" / "scratch"
    scratch.mkdir(parents=True)
    (tmp_path / "state" / "warehouse").mkdir()
    database = engine.Database(tmp_path / "state" / "warehouse" / "dev.duckdb", "dev", scratch=[scratch])
    yield database, scratch
    database.close()


@pytest.mark.parametrize("sql", RAW)
def test_duckdb_configuration_alone_refuses(locked, host, sql):
    database, scratch = locked
    out = host / "written-by-duckdb"
    before = sorted(p.name for p in host.iterdir())
    warehouse = database.path.parent
    in_warehouse = sorted(p.name for p in warehouse.iterdir())
    sql = sql.format(host=host, hostname=host.name, scratch=scratch, out=out, warehouse=warehouse)
    with pytest.raises(duckdb.Error) as caught:
        database.conn.execute(sql).fetchall()
    assert SECRET not in str(caught.value)
    assert sorted(p.name for p in host.iterdir()) == before
    assert sorted(p.name for p in warehouse.iterdir()) == in_warehouse


def test_duckdb_configuration_still_allows_the_scratch_area_and_its_own_files(locked):
    database, scratch = locked
    conn = database.conn
    conn.execute(f"COPY (SELECT 1 AS a, 'x' AS b) TO '{scratch}/staged.csv' (FORMAT csv, HEADER false)")
    assert conn.execute(f"SELECT * FROM read_csv('{scratch}/staged.csv', header=false)").fetchall() == [(1, "x")]
    conn.execute("CREATE TABLE kept AS SELECT 42 AS n")
    assert conn.execute("SELECT n FROM kept").fetchall() == [(42,)]
    assert conn.execute("SELECT current_setting('enable_external_access')").fetchone()[0] is False


def test_permission_errors_read_like_redshift(locked, host):
    from mwaa_local.cloud.redshift_data.errors import redshift_message

    database, _ = locked
    with pytest.raises(duckdb.Error) as caught:
        database.conn.execute(f"SELECT * FROM read_text('{host}/secret.txt')")
    assert redshift_message(caught.value).startswith("permission denied")
