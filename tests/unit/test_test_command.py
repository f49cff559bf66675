"""`./mwaa-local test` runs the suite or folders of it on xdist workers, and a file or single test in one process."""

from __future__ import annotations

import pytest

from mwaa_local.commands.test import parallel_arguments

PARALLEL = ["-n", "3", "--dist", "loadgroup", "--no-loadscope-reorder"]


@pytest.mark.parametrize("extra", [[], ["-q"], ["tests/cloud"], ["tests/e2e", "tests/cli/test_demo.py"],
                                   ["-k", "not e2e", "-x"], ["-m", "e2e"]])
def test_the_suite_and_folders_run_on_workers(extra):
    assert parallel_arguments(extra, 3) == PARALLEL


@pytest.mark.parametrize("extra", [["tests/cloud/test_jobs.py"], ["tests/cloud/test_jobs.py", "-q"],
                                   ["tests/cloud/test_jobs.py::test_stop_after_the_end_is_harmless"],
                                   ["tests/unit/test_cli.py", "tests/cloud/test_jobs.py"]])
def test_files_and_single_tests_run_in_one_process(extra):
    assert parallel_arguments(extra, 3) == []


@pytest.mark.parametrize("extra", [["-n", "2"], ["-n2"], ["-n", "0"], ["--numprocesses=4"], ["-p", "no:xdist"],
                                   ["--dist", "load"], ["--pdb"], ["--collect-only"], ["-s"]])
def test_arguments_that_choose_the_distribution_are_left_alone(extra):
    assert parallel_arguments(extra, 3) == []


def test_one_core_runs_in_one_process():
    assert parallel_arguments([], 1) == []


def test_a_parallel_run_lists_its_slowest_tests_unless_asked_otherwise():
    from mwaa_local.commands.test import slowest_arguments

    assert slowest_arguments([], PARALLEL) == ["--durations=15", "--durations-min=60"]
    assert slowest_arguments(["--durations=5"], PARALLEL) == []
    assert slowest_arguments(["tests/unit/test_cli.py"], []) == []  # one file, one process: no list
