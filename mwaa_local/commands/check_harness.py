"""`./mwaa-local check-harness`: the DAG-integrity mutation check on its own. Runs the harness once unchanged, then
once per rule of mwaa_local/dag_integrity.py with that rule removed, and prints which harness tests then fail;
exits non-zero if the harness fails unchanged or still passes without some rule."""

from __future__ import annotations

import argparse

NAME = "check-harness"
HELP = ("Prove the DAG-integrity harness: remove each rule of mwaa_local/dag_integrity.py in turn and show the "
        "harness tests then fail.")
MUTATION_TEST = "tests/dags/test_harness_mutation.py::test_removing_any_rule_makes_the_harness_fail"


def add_arguments(parser):
    pass


def run(args) -> int:
    from mwaa_local.commands import test

    return test.run(argparse.Namespace(extra=[MUTATION_TEST, "-q", "-s", "-p", "no:cacheprovider"]))
