"""The integrity harness catches what it should: each bad file in fixtures/ breaks exactly one rule and gets
exactly the expected violations (rule and message), the good ones none; an empty folder, a file without a DAG and
a blind heavy-import check are reported too. test_harness_mutation.py proves these tests fail when any rule is
removed from dag_integrity.RULES."""

from __future__ import annotations

import re

import pytest

from mwaa_local import dag_integrity as di

from .conftest import FIXTURES
from .test_dag_integrity import EXPECTED_DAG_IDS, integrity_failures

HERE = "tests/dags/fixtures"
N = r"\d+"  # a line number inside a library: it moves with the library's version, the user's line must not


def pattern(text: str) -> re.Pattern:
    """A message with library line numbers left open: write it literally, with {N} where a number may vary."""
    return re.compile(re.escape(text).replace(re.escape("{N}"), N))


# file -> the exact violations, as (rule, message or fullmatch pattern). One rule per bad file.
EXPECTED: dict[str, list[tuple[str, str | re.Pattern]]] = {
    "good_dag.py": [],
    "catchup_allowlisted.py": [],
    "parser_exit.py": [(di.WORKER_FAILED, "the parse process exited with code 3 before writing its result")],
    "parser_segfault.py": [(di.WORKER_FAILED, f"the parse process was killed by SIGSEGV at {HERE}/parser_segfault.py:5"
                                              " while importing the file")],
    "syntax_error.py": [(di.IMPORT, f"does not import: SyntaxError: '(' was never closed (at {HERE}/syntax_error.py:5)")],
    "cycle.py": [(di.CYCLE, "AirflowDagCycleException: Cycle detected in Dag: fixture_cycle. Faulty task: second")],
    "not_serializable.py": [(di.SERIALIZABLE, "DAG 'fixture_not_serializable' does not serialize, so the scheduler "
                                              "would never see it: TimetableNotRegistered: Timetable class "
                                              "'not_serializable.WeekdayMornings' is not registered or you have a top "
                                              "level database access that disrupted the session. Please check the "
                                              "airflow best practices documentation.")],
    "no_dag.py": [(di.DEFINES_DAG, "defines no DAG: keep only DAG files in the DAGs folder (helpers belong in plugins/,"
                                   " or list the file in .airflowignore)")],
    "socket_at_parse.py": [(di.NETWORK, pattern(f"network call while parsing: socket.getaddrinfo '192.0.2.10' at "
                                                f"{HERE}/socket_at_parse.py:10 (via stdlib/socket.py:{{N}})"))],
    "variable_at_parse.py": [(di.DATABASE, pattern(
        f"metadata database access while parsing: GetVariable(key='data_bucket') at {HERE}/variable_at_parse.py:8 "
        "(via site-packages/airflow/sdk/execution_time/secrets/execution_api.py:{N})"))],
    "orm_at_parse.py": [(di.DATABASE, pattern(
        f"metadata database access while parsing: SQLAlchemy connect (postgresql) at {HERE}/orm_at_parse.py:12 "
        "(via site-packages/sqlalchemy/engine/create.py:{N})"))],
    "aws_client_at_parse.py": [(di.AWS_CLIENTS, pattern(
        f"creates an AWS s3 client at {HERE}/aws_client_at_parse.py:8 (via site-packages/boto3/session.py:{{N}}) "
        "while parsing; create it inside the task"))],
    "process_at_parse.py": [(di.PROCESSES, pattern(
        f"starts a process while parsing: subprocess.Popen ['git', 'rev-parse', 'HEAD'] at {HERE}/process_at_parse.py:12 "
        "(via stdlib/subprocess.py:{N}); run it inside a task"))],
    "heavy_import.py": [
        (di.HEAVY, pattern(f"imports numpy at parse time ({HERE}/heavy_import.py:5 "
                           "(via site-packages/pandas/__init__.py:{N})); import it inside the task instead")),
        (di.HEAVY, f"imports pandas at parse time ({HERE}/heavy_import.py:5); import it inside the task instead"),
    ],
    "duplicate_id_a.py": [(di.UNIQUE, "dag_id 'fixture_duplicate' is also declared in: duplicate_id_b.py")],
    "duplicate_id_b.py": [(di.UNIQUE, "dag_id 'fixture_duplicate' is also declared in: duplicate_id_a.py")],
    "duplicate_id_in_file.py": [(di.UNIQUE, "dag_id 'fixture_duplicate_in_file' is declared 2 times in this file; "
                                            "Airflow silently keeps only the last one")],
    "no_tags.py": [(di.TAGS, "DAG 'fixture_no_tags' has no tags")],
    "no_owner.py": [(di.OWNER, "DAG 'fixture_no_owner' default_args owner is None; name the owning team")],
    "owner_airflow.py": [(di.OWNER, "DAG 'fixture_owner_airflow' default_args owner is 'airflow'; name the owning team")],
    "low_retries.py": [(di.RETRIES, "DAG 'fixture_low_retries' default_args retries is 1; need >= 2")],
    "no_retry_delay.py": [(di.RETRY_DELAY, "DAG 'fixture_no_retry_delay' default_args has no retry_delay")],
    "task_retries_zero.py": [(di.TASK_RETRIES, "DAG 'fixture_task_retries_zero' has tasks with retries < 2: fragile")],
    "catchup_true.py": [(di.CATCHUP, "DAG 'fixture_catchup_true' has catchup=True but is not in catchup_allowlist.txt")],
    "no_description.py": [(di.DESCRIPTION, "DAG 'fixture_no_description' has neither description nor doc_md")],
    "no_schedule.py": [(di.SCHEDULE, "DAG 'fixture_no_schedule' leaves schedule to the default; state it "
                                     "(schedule=None if manual only)")],
    "decorator_no_schedule.py": [(di.SCHEDULE, "DAG 'fixture_decorator_no_schedule' leaves schedule to the default; "
                                               "state it (schedule=None if manual only)")],
}
# Rules no single fixture file can break: each has its own test below.
SHOWN_BY_TESTS = {
    di.BASELINE: "test_heavy_import_check_knows_when_it_is_blind",
    di.NOT_EMPTY: "test_an_empty_dags_folder_fails_the_check",
}
BLIND = di.Violation(di.AIRFLOW_BASELINE, di.BASELINE,
                     "numpy already imported before any DAG file; the heavy-import check is blind")
EMPTY = di.Violation(di.FOLDER, di.NOT_EMPTY, "no DAG files in dags/: nothing would be deployed")


def _matches(expected: tuple[str, str | re.Pattern], violation: di.Violation) -> bool:
    rule, message = expected
    if isinstance(message, re.Pattern):
        return violation.rule == rule and message.fullmatch(violation.message) is not None
    return violation.rule == rule and violation.message == message


def test_every_fixture_has_an_expectation():
    on_disk = {p.name for p in FIXTURES.glob("*.py")} - {"ignored_by_airflowignore.py"}
    assert on_disk == set(EXPECTED)


def test_every_bad_fixture_breaks_exactly_one_rule():
    assert [name for name, expected in EXPECTED.items() if len({rule for rule, _ in expected}) > 1] == []


def test_every_rule_is_shown_firing():
    shown = {rule for expected in EXPECTED.values() for rule, _ in expected} | set(SHOWN_BY_TESTS)
    assert set(di.RULES) - shown == set(), "a rule without a fixture or test that shows it firing"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_gets_exactly_its_violations(fixtures_report, name):
    actual = fixtures_report.by_file(name)
    unmatched = list(actual)
    for want in EXPECTED[name]:
        got = next((v for v in unmatched if _matches(want, v)), None)
        if got is not None:
            unmatched.remove(got)
    shown = "\n".join(["got:", *map(str, actual), "expected:", *(f"[{r}] {m}" for r, m in EXPECTED[name])])
    assert len(actual) == len(EXPECTED[name]) and not unmatched, shown


def test_airflowignore_is_honoured(fixtures_report):
    assert {f.file for f in fixtures_report.files} == set(EXPECTED)


def test_heavy_import_check_knows_when_it_is_blind():
    """If Airflow (the baseline) already imported a heavy package, every file would look clean: report that."""
    report = di.check_folder(FIXTURES, files=["good_dag.py"], preimport=("numpy",))
    assert report.files[0].raw["baseline_heavy"] == ["numpy"]
    assert report.violations == [BLIND]


def test_an_empty_dags_folder_fails_the_check(tmp_path):
    empty = tmp_path / "dags"
    empty.mkdir()
    report = di.check_folder(empty)
    assert report.violations == [EMPTY]
    assert integrity_failures(report, EXPECTED_DAG_IDS) == [
        str(EMPTY), f"DAG ids per file: expected {EXPECTED_DAG_IDS}, found {{}}"]


def test_a_file_without_a_dag_fails_the_check_even_when_declared(fixtures_report):
    """Declaring no_dag.py as a file with no DAG ids does not make it pass: the defines-a-dag rule still fails."""
    report = di.check_folder(FIXTURES, files=["good_dag.py", "no_dag.py"])
    [no_dag] = EXPECTED["no_dag.py"]
    assert integrity_failures(report, {"good_dag.py": ["fixture_good"], "no_dag.py": []}) == [
        str(di.Violation("no_dag.py", *no_dag))]


def test_the_dags_check_fails_on_a_lost_dag(dags_report):
    """The declared DAG ids are compared, not just counted."""
    renamed = {**EXPECTED_DAG_IDS, "retail_etl.py": ["retail_etl_v2"]}
    assert integrity_failures(dags_report, renamed) == [
        f"DAG ids per file: expected {renamed}, found {EXPECTED_DAG_IDS}"]


def test_crash_output_is_kept_for_the_developer(fixtures_report):
    [segfault] = fixtures_report.by_file("parser_segfault.py")
    assert segfault.detail.startswith("Fatal Python error: Segmentation fault")
    assert f'File "{HERE}/parser_segfault.py", line 5 in <module>' in segfault.detail


def test_parse_times_are_measured(fixtures_report):
    parsed = [f for f in fixtures_report.files if f.parse_seconds is not None]
    assert {f.file for f in parsed} == set(EXPECTED) - {"parser_exit.py", "parser_segfault.py"}
    assert "good_dag.py" in fixtures_report.timing_table()


def test_catchup_allowlist_file_format(tmp_path):
    allowlist = tmp_path / "catchup_allowlist.txt"
    allowlist.write_text("# header\nrebuild_partitions  # needs every interval\n\n  other_dag\n")
    assert di.load_catchup_allowlist(allowlist) == {"rebuild_partitions", "other_dag"}
    assert di.load_catchup_allowlist(tmp_path / "missing.txt") == frozenset()
