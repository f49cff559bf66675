"""The mutation check: removing any single rule from dag_integrity.RULES makes the integrity harness fail.

The harness (test_harness_catches.py and test_dag_integrity.py) runs in a subprocess once unchanged, which must
pass, then once per rule with that rule deleted from the registry (conftest.py, DAG_INTEGRITY_WITHOUT_RULE), which
must fail with test failures (not errors). The rules are enumerated from the registry, so a new rule is covered
without touching this file. Worker runs are replayed from this session's parse cache: a mutant only re-applies
the rules, so each run takes seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from mwaa_local import dag_integrity as di
from mwaa_local import paths

from .conftest import PARSE_CACHE_ENV, REPLAY_ONLY_ENV, WITHOUT_RULE_ENV

HARNESS = ("tests/dags/test_harness_catches.py", "tests/dags/test_dag_integrity.py")
BASELINE_DEADLINE = 1800  # the baseline parses whatever this session did not (everything when run alone)
MUTANT_DEADLINE = 600


@dataclass
class HarnessRun:
    exit_code: int
    passed: list[str]
    failed: list[str]
    errors: list[str]
    output: str


def run_harness(cache: Path, report: Path, without: str | None = None, tests: tuple[str, ...] = HARNESS) -> HarnessRun:
    env = {k: v for k, v in os.environ.items() if k not in (WITHOUT_RULE_ENV, REPLAY_ONLY_ENV)}
    env[PARSE_CACHE_ENV] = str(cache)
    if without is not None:
        env.update({WITHOUT_RULE_ENV: without, REPLAY_ONLY_ENV: "1"})
    # --confcutdir: the suite-wide conftest (a local cloud) is not part of the harness and costs a second a run
    cmd = [sys.executable, "-m", "pytest", *tests, "-q", "-p", "no:cacheprovider", "--confcutdir=tests/dags",
           f"--junitxml={report}"]
    proc = subprocess.run(cmd, cwd=paths.ROOT, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL,
                          timeout=MUTANT_DEADLINE if without else BASELINE_DEADLINE)
    passed, failed, errors = [], [], []
    if report.exists():
        for case in ET.parse(report).iter("testcase"):
            name = case.get("name")
            (failed if case.find("failure") is not None else errors if case.find("error") is not None
             else passed).append(name)
    return HarnessRun(proc.returncode, passed, failed, errors, (proc.stdout + proc.stderr)[-4000:])


def killed(mutant: HarnessRun) -> bool:
    """The mutant is noticed: the harness ran and tests failed (exit code 1), and none errored (an error would be
    the mutation check's own breakage, not the harness catching anything)."""
    return mutant.exit_code == 1 and bool(mutant.failed) and not mutant.errors


def test_removing_any_rule_makes_the_harness_fail(parse_cache, tmp_path):
    baseline = run_harness(parse_cache, tmp_path / "baseline.xml")
    assert baseline.exit_code == 0 and baseline.passed and not baseline.failed and not baseline.errors, \
        f"the harness must pass before it is mutated:\n{baseline.output}"

    rules = list(di.RULES)
    with ThreadPoolExecutor(max_workers=2) as pool:
        mutants = dict(zip(rules, pool.map(lambda r: run_harness(parse_cache, tmp_path / f"{r}.xml", r), rules),
                           strict=True))

    print(f"\n{len(rules)} rules removed one at a time; harness tests that then fail:")
    for rule, run in mutants.items():
        print(f"  without {rule:32} {len(run.failed):2} failed: {', '.join(run.failed)}")
    survivors = {rule: run for rule, run in mutants.items() if not killed(run)}
    assert not survivors, "\n\n".join(
        f"without [{rule}]: exit code {run.exit_code}, {len(run.failed)} failed, errors {run.errors}\n{run.output}"
        for rule, run in survivors.items())


def test_a_harness_without_fixtures_lets_a_removed_rule_survive(parse_cache, tmp_path):
    """The check can fail: the dags/ test alone (the harness before it had one fixture per rule) passes without the
    retries rule, and the mutation check counts that as a survivor."""
    dags_test = HARNESS[1:]
    baseline = run_harness(parse_cache, tmp_path / "dags-only-baseline.xml", tests=dags_test)  # records if need be
    assert baseline.exit_code == 0, baseline.output
    mutant = run_harness(parse_cache, tmp_path / "dags-only.xml", di.RETRIES, tests=dags_test)
    assert mutant.exit_code == 0 and mutant.passed and not mutant.failed, mutant.output
    assert not killed(mutant)


def test_a_mutant_of_an_unknown_rule_is_refused(parse_cache, tmp_path):
    """A rule name that is not in the registry is refused, so a typo cannot make a mutant that mutates nothing."""
    run = run_harness(parse_cache, tmp_path / "typo.xml", without="no-such-rule")
    assert run.exit_code == 4 and not run.passed  # pytest's usage error
    assert f"{WITHOUT_RULE_ENV}=no-such-rule: no such rule in dag_integrity.RULES" in run.output
