"""Every bad value a user can type gets a one-line error under that subcommand's usage and a non-zero exit, through
the real `./mwaa-local` entry: no traceback, and nothing started (the local-state folder stays empty)."""

from __future__ import annotations

import socket

import pytest

from mwaa_local.cloud import process
from tests.cli.conftest import assert_one_line_error

BAD_VALUES = [
    (["cloud", "--port", "-1"], "argument --port: -1 is not a TCP port (1-65535)"),
    (["cloud", "--port", "99999"], "argument --port: 99999 is not a TCP port (1-65535)"),
    (["cloud", "--port", "0"], "argument --port: 0 is not a TCP port (1-65535)"),
    (["cloud", "--port", "http"], "argument --port: 'http' is not a whole number"),
    (["cloud", "--ephemeral", "--state-dir", "x"], "argument --state-dir: not allowed with argument --ephemeral"),
    (["demo", "--port", "99999"], "argument --port: 99999 is not a TCP port (1-65535)"),
    (["demo", "--days", "0"], "argument --days: 0 must be at least 1"),
    (["demo", "--orders", "-5"], "argument --orders: -5 must be at least 1"),
    (["demo", "--summary-json", "/"], "argument --summary-json: / is a directory; give a file path"),
    (["seed-data", "--seed", "-1"], "argument --seed: -1 is not a seed (0-4294967295)"),
    (["seed-data", "--seed", str(2**32)], f"argument --seed: {2**32} is not a seed (0-4294967295)"),
    (["seed-data", "--start", "2024-13-01"], "argument --start: '2024-13-01' is not a date like 2024-01-31"),
    (["seed-data", "--dirt-day", "yesterday"], "argument --dirt-day: 'yesterday' is not a date like 2024-01-31"),
    (["seed-data", "--days", "0"], "argument --days: 0 must be at least 1"),
    (["seed-data", "--dirt-rows", "0"], "argument --dirt-rows: 0 must be at least 1"),
    (["seed-data", "--history-days", "-1"], "argument --history-days: -1 is not a number of days (0-3650)"),
    (["seed-data", "--customers", "0"], "argument --customers: 0 must be at least 1"),
    (["seed-data", "--database", "Retail-DB"], "argument --database: database name 'Retail-DB' must be lower-case"),
    (["sql", "--port", "65536", "SELECT 1"], "argument --port: 65536 is not a TCP port (1-65535)"),
    (["sql", "--max-rows", "0", "SELECT 1"], "argument --max-rows: 0 must be at least 1"),
    (["sql", "-f", "no/such/file.sql"], "argument -f/--file: no/such/file.sql: no such file"),
    (["sql"], "one of the arguments statement -f/--file is required"),
    (["aws", "--port", "-3", "s3", "list-buckets"], "argument --port: -3 is not a TCP port (1-65535)"),
    (["test-requirements", "--requirements", "nope.txt"], "argument --requirements: nope.txt: no such file"),
    (["bench", "parse", "--dags-folder", "no/such/dir"], "argument --dags-folder: no/such/dir: no such directory"),
    (["bench", "etl", "--seed", "-1"], "argument --seed: -1 is not a seed (0-4294967295)"),
    (["bench", "etl", "--order-lines", "0"], "argument --order-lines: 0 must be at least 1"),
    (["bench", "ml", "--customers", "0"], "argument --customers: 0 must be at least 1"),
    (["bench", "glue", "--runs", "0"], "argument --runs: 0 must be at least 1"),
    (["bench", "redshift", "--requests", "-1"], "argument --requests: -1 must be at least 1"),
]


def _prog(argv: list[str]) -> str:
    """A benchmark parses its own arguments under `mwaa-local bench <name>`."""
    return "mwaa-local " + " ".join(argv[:2] if argv[0] == "bench" else argv[:1])


@pytest.mark.parametrize(("argv", "message"), BAD_VALUES, ids=[" ".join(a) for a, _ in BAD_VALUES])
def test_a_bad_value_is_refused_under_the_subcommand_usage_before_anything_starts(cli, argv, message):
    done = cli.run(*argv, timeout=120)
    line = assert_one_line_error(done, 2, message)
    assert line.startswith(f"{_prog(argv)}: error: "), done.stderr
    assert done.stderr.startswith(f"usage: {_prog(argv)} "), done.stderr  # its own usage, not the top level
    assert list(cli.state.iterdir()) == [], "a refused command must start and write nothing"


@pytest.mark.parametrize("argv", [["stop"], ["demo"], ["seed-data"], ["cloud"], ["sql", "SELECT 1"]], ids=str)
def test_an_unknown_flag_prints_that_subcommands_usage(cli, argv):
    command = argv[0]
    done = cli.run(*argv, "--no-such-flag", timeout=120)
    assert_one_line_error(done, 2, f"mwaa-local {command}: error: unrecognized arguments: --no-such-flag")
    assert done.stderr.startswith(f"usage: mwaa-local {command} "), done.stderr
    assert list(cli.state.iterdir()) == []


def test_seed_dates_past_the_calendar_are_refused_before_postgres_starts(cli):
    done = cli.run("seed-data", "--start", "9999-12-30", "--days", "5", timeout=120)
    assert_one_line_error(done, 1, "error: --start 9999-12-30 plus --days 5 runs past the year 9999")
    assert list(cli.state.iterdir()) == []


def test_a_cloud_on_a_port_in_use_says_so_in_one_line(cli):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = cli.run("cloud", "--ephemeral", "--port", str(port), timeout=120)
    assert_one_line_error(done, 1, f"error: cannot listen on 127.0.0.1:{port}: it is already in use; pick another --port")


def test_a_state_dir_that_is_a_file_is_refused(cli):
    a_file = cli.state / "not-a-dir"
    a_file.write_text("")
    done = cli.run("cloud", "--state-dir", str(a_file), timeout=120)
    assert_one_line_error(done, 2, f"argument --state-dir: {a_file} is a file, not a directory")


@pytest.mark.parametrize("argv", [["sql", "SELECT 1"], ["aws", "s3", "list-buckets"]])
def test_commands_that_need_the_cloud_say_how_to_start_it_and_start_nothing(cli, argv):
    port = str(process.free_port())  # nothing listens there
    done = cli.run(argv[0], "--port", port, *argv[1:], timeout=120)
    assert_one_line_error(done, 1, f"error: no local cloud answers on http://127.0.0.1:{port}",
                          f"`./mwaa-local demo --port {port}`", f"`./mwaa-local cloud --port {port}`")
    assert list(cli.state.iterdir()) == []


@pytest.mark.parametrize(("argv", "message"), [
    (["aws", "redshiftdata", "list-statements"], "error: unknown service 'redshiftdata'; did you mean redshift-data"),
    (["aws", "s3", "list-objectz"], "error: s3 has no operation 'list-objectz'; did you mean list-objects"),
    (["aws", "s3", "list-objects-v2", "--bukket", "b"], "error: unknown parameter '--bukket'; this operation takes:"),
    (["aws", "s3", "list-objects-v2", "--bucket", "b", "--max-keys", "ten"],
     "error: --max-keys takes an integer, not 'ten'"),
    (["aws", "glue", "create-partition", "--partition-input", "Values=1"],
     "error: --partition-input takes a structure as JSON, not 'Values=1'"),
])
def test_a_bad_aws_call_is_named_before_the_cloud_is_needed(cli, argv, message):
    done = cli.run(*argv, timeout=120)  # no cloud runs: the call itself is what is wrong
    assert_one_line_error(done, 1, message)


def test_a_state_dir_that_cannot_be_created_is_one_line(cli):
    done = cli.run("cloud", "--state-dir", "/proc/no-such-state-dir", "--port", str(process.free_port()), timeout=120)
    assert_one_line_error(done, 1, "error: cannot use /proc/no-such-state-dir as the state dir: ")
