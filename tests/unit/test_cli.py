"""The ./mwaa-local command line: discovery of subcommands and one-line errors for bad input."""

from __future__ import annotations

import os

import pytest

from mwaa_local.cli import build_parser, main


def test_every_documented_command_is_registered():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {"demo", "test", "lint", "test-requirements", "package", "cloud", "bench", "lock", "seed-data",
            "stop", "sql", "aws"} <= set(sub.choices)


def test_the_readme_commands_table_lists_exactly_the_registered_commands():
    import re

    from mwaa_local import paths

    documented = set(re.findall(r"^\| `\./mwaa-local ([a-z-]+)", (paths.ROOT / "README.md").read_text(), re.M))
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert documented == set(sub.choices)


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: mwaa-local" in capsys.readouterr().out


def test_unknown_arguments_are_refused():
    with pytest.raises(SystemExit) as exit_info:
        main(["lock", "--no-such-flag"])
    assert exit_info.value.code == 2


def test_demo_rejects_empty_sizes_before_starting_anything(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["demo", "--days", "0"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: mwaa-local demo ") and "argument --days: 0 must be at least 1" in err


def test_a_bad_flag_prints_the_subcommands_usage_not_the_top_level(capsys):
    with pytest.raises(SystemExit):
        main(["stop", "--all"])
    err = capsys.readouterr().err
    assert err.startswith("usage: mwaa-local stop ") and err.strip().endswith("unrecognized arguments: --all")


# ---- aws: --param value pairs typed by the operation's input shape ------------------------------------------

def _input_shape(service: str, operation: str):
    import botocore.session

    return botocore.session.get_session().get_service_model(service).operation_model(operation).input_shape


def test_aws_params_are_typed_by_the_input_shape():
    from mwaa_local.commands.aws import parse_params

    params = parse_params(_input_shape("s3", "ListObjectsV2"),
                          ["--bucket", "lake", "--max-keys", "7", "--fetch-owner", "--prefix", "raw/"])
    assert params == {"Bucket": "lake", "MaxKeys": 7, "FetchOwner": True, "Prefix": "raw/"}
    params = parse_params(_input_shape("glue", "CreatePartition"),
                          ["--database-name", "db", "--table-name", "t", "--partition-input", '{"Values": ["1"]}'])
    assert params == {"DatabaseName": "db", "TableName": "t", "PartitionInput": {"Values": ["1"]}}
    assert parse_params(_input_shape("glue", "BatchDeleteTable"), ["--database-name", "db", "--tables-to-delete", "a"]) \
        == {"DatabaseName": "db", "TablesToDelete": ["a"]}  # one string for a list of strings


@pytest.mark.parametrize(("tokens", "message"), [
    (["--bucket", "b", "--max-keys", "many"], "--max-keys takes an integer, not 'many'"),
    (["--bucket"], "--bucket needs a value"),
    (["--bukket", "b"], "unknown parameter '--bukket'; this operation takes: --bucket,"),
    (["--bucket", "b", "--fetch-owner", "maybe"], "--fetch-owner takes a boolean, not 'maybe'"),
])
def test_aws_bad_params_are_one_line_errors(tokens, message):
    from mwaa_local.commands.aws import parse_params
    from mwaa_local.errors import UserError

    with pytest.raises(UserError) as error:
        parse_params(_input_shape("s3", "ListObjectsV2"), tokens)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_aws_structure_params_must_be_json():
    from mwaa_local.commands.aws import parse_params
    from mwaa_local.errors import UserError

    with pytest.raises(UserError, match="--partition-input takes a structure as JSON, not 'Values=1'"):
        parse_params(_input_shape("glue", "CreatePartition"), ["--partition-input", "Values=1"])


# ---- sql: the printed table ------------------------------------------------------------------------------------

def test_sql_table_shows_types_right_aligns_numbers_and_prints_null():
    from mwaa_local.commands.sql import render

    columns = [{"name": "id", "typeName": "int8"}, {"name": "name", "typeName": "varchar"},
               {"name": "amount", "typeName": "numeric"}, {"name": "ok", "typeName": "bool"}]
    assert render(columns, [[1, "ann", "12.50", True], [100, None, None, False]]).splitlines() == [
        "  id | name    |  amount | ok",
        "int8 | varchar | numeric | bool",
        "-----+---------+---------+------",
        "   1 | ann     |   12.50 | true",
        " 100 | NULL    |    NULL | false",
    ]


# ---- the state-dir lock and pid records ---------------------------------------------------------------------

def test_the_state_dir_lock_refuses_a_second_holder_naming_the_first_until_released(tmp_path):
    from mwaa_local.cloud.state import StateDirBusy, StateDirLock, lock_holder

    assert lock_holder(tmp_path) is None
    first = StateDirLock(tmp_path).acquire(port=4566)
    try:
        assert lock_holder(tmp_path)["pid"] == os.getpid()
        with pytest.raises(StateDirBusy) as busy:  # flock conflicts between two open files, even in one process
            StateDirLock(tmp_path).acquire(port=4567)
        assert f"in use by the local cloud with pid {os.getpid()} on port 4566" in str(busy.value)
    finally:
        first.release()
    assert lock_holder(tmp_path) is None
    second = StateDirLock(tmp_path).acquire(port=4567)
    assert lock_holder(tmp_path)["port"] == 4567
    second.release()


def test_unreadable_pid_records_are_dropped(tmp_path, monkeypatch):
    from mwaa_local import pid_records

    monkeypatch.setenv("MWAA_LOCAL_STATE", str(tmp_path))
    pid_records.run_dir().mkdir(parents=True)
    (pid_records.run_dir() / "half-written.json").write_text('{"service": "cloud-4566", "pid"')
    written = pid_records.write("cloud-4567", os.getpid(), 4567, tmp_path, ["python"])
    assert [r.service for r in pid_records.read_all()] == ["cloud-4567"]
    assert written.process() is not None  # this very process, start time matching
    assert not (pid_records.run_dir() / "half-written.json").exists()
