"""Bad input gets the answer AWS gives (an error response or a FAILED statement), and the emulator keeps serving."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.cloud.redshift_data.conftest import Redshift


def test_malformed_sql_fails_with_a_syntax_error(rs):
    error = rs.fail("SELEC * FROM nowhere")
    assert error.startswith('ERROR: syntax error at or near "')
    assert rs.scalar("SELECT 1") == 1


def test_unknown_column_and_relation_read_like_redshift(rs):
    rs.run("CREATE TABLE known (a INT)")
    assert rs.fail("SELECT * FROM unknown_table") == 'ERROR: relation "unknown_table" does not exist'
    assert 'column "b" does not exist' in rs.fail("SELECT b FROM known")
    assert 'invalid input syntax for type' in rs.fail("INSERT INTO known VALUES ('abc')")


@pytest.mark.parametrize("divide", ["1 / 0", "7 / (2 - 2)", "1.50 / 0", "1.5::float8 / 0", "10 % 0"])
def test_division_by_zero_fails_as_on_redshift(rs, divide):
    """Not inf, not NULL: Redshift fails the statement (and rolls back its batch) on any division by zero."""
    assert rs.fail(f"SELECT {divide}") == "ERROR: division by zero"


@pytest.mark.parametrize("target", [{"WorkgroupName": "no-such-wg"}, {"ClusterIdentifier": "no-such-cluster"}, {},
                                    {"WorkgroupName": "local-wg", "ClusterIdentifier": "local-cluster"}])
def test_unknown_or_missing_endpoint_is_a_validation_error(redshift_client, target):
    with pytest.raises(ClientError) as raised:
        redshift_client.execute_statement(Sql="SELECT 1", Database="dev", **target)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_unknown_database_fails_the_statement(redshift_client):
    error = Redshift(redshift_client, database="nodb").fail("SELECT 1")
    assert error == 'FATAL: database "nodb" does not exist'
    with pytest.raises(ClientError, match='database "nodb" does not exist'):
        redshift_client.list_tables(Database="nodb", WorkgroupName="local-wg")


def test_missing_database_and_empty_sql_are_rejected(redshift_client):
    with pytest.raises(ClientError, match="Database"):
        redshift_client.execute_statement(Sql="SELECT 1", WorkgroupName="local-wg")
    with pytest.raises(ClientError, match="Sql"):
        redshift_client.execute_statement(Sql="   ", Database="dev", WorkgroupName="local-wg")
    with pytest.raises(ClientError, match="100kB"):
        redshift_client.execute_statement(Sql="SELECT '" + "x" * 110_000 + "'", Database="dev",
                                          WorkgroupName="local-wg")


def test_unknown_statement_id(redshift_client):
    for call in (redshift_client.describe_statement, redshift_client.get_statement_result,
                 redshift_client.cancel_statement):
        with pytest.raises(ClientError) as raised:
            call(Id="00000000-0000-0000-0000-000000000000")
        assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_result_of_a_statement_without_one(rs):
    done = rs.run("CREATE TABLE noresult (a INT)")
    with pytest.raises(ClientError, match="Query does not have result"):
        rs.client.get_statement_result(Id=done["Id"])
    failed = rs.wait(rs.submit("SELECT * FROM nope"))
    with pytest.raises(ClientError, match="Query does not have result"):
        rs.client.get_statement_result(Id=failed["Id"])


def test_a_result_over_the_data_api_limit_fails_cleanly(rs):
    # ~1 GB of JSON if it were returned: AWS refuses results over 100 MB; the statement fails, nothing is kept
    error = rs.fail("SELECT i, repeat('x', 1000) AS pad FROM range(1000000) t(i)")
    assert "exceeded size limit" in error and "UNLOAD" in error
    assert rs.scalar("SELECT count(*) FROM range(1000000)") == 1000000


def test_unload_to_an_existing_prefix_fails_and_keeps_the_objects(rs, aws, bucket):
    aws("s3").put_object(Bucket=bucket, Key="taken/0000_part_00", Body=b"old")
    error = rs.fail(f"UNLOAD ('SELECT 1') TO 's3://{bucket}/taken/' IAM_ROLE default")
    assert "Specified unload destination on S3 is not empty" in error
    assert aws("s3").get_object(Bucket=bucket, Key="taken/0000_part_00")["Body"].read() == b"old"


def test_bad_copy_and_unload_syntax(rs, bucket):
    rs.run("CREATE TABLE c (a INT)")
    assert "syntax error" in rs.fail(f"COPY c FROM 's3://{bucket}/x' BOGUSOPTION")
    assert "syntax error" in rs.fail("COPY c 's3://x/y'")
    assert "UNLOAD" in rs.fail("UNLOAD SELECT 1 TO 's3://x/'")
    assert "SELECT" in rs.fail(f"UNLOAD ('DELETE FROM c') TO 's3://{bucket}/d/' IAM_ROLE default")


def test_bad_parameters(rs):
    assert "not used" in rs.fail("SELECT 1", Parameters=[{"name": "unused", "value": "1"}])
    assert "no value" in rs.fail("SELECT :a", Parameters=[{"name": "b", "value": "1"}])
    assert rs.scalar("SELECT 1") == 1


def test_one_failure_does_not_break_the_others(rs):
    failing = [rs.submit("SELECT * FROM missing_everywhere") for _ in range(3)]
    working = [rs.submit(f"SELECT {n}") for n in range(3)]
    assert all(rs.wait(i)["Status"] == "FAILED" for i in failing)
    assert [rs.records(i)[0][0] for i in working if rs.wait(i)["Status"] == "FINISHED"] == [0, 1, 2]
