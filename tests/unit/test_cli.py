"""The ./mwaa-local command line: discovery of subcommands and one-line errors for bad input."""

from __future__ import annotations

import pytest

from mwaa_local.cli import build_parser, main


def test_every_documented_command_is_registered():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {"demo", "test", "lint", "test-requirements", "package", "cloud", "bench", "lock", "seed-data",
            "stop"} <= set(sub.choices)


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 2
    assert "usage: mwaa-local" in capsys.readouterr().out


def test_unknown_arguments_are_refused():
    with pytest.raises(SystemExit) as exit_info:
        main(["lock", "--no-such-flag"])
    assert exit_info.value.code == 2


def test_demo_rejects_empty_sizes_before_starting_anything(capsys):
    assert main(["demo", "--days", "0"]) == 1
    assert "error: --days and --orders must be at least 1" in capsys.readouterr().err
