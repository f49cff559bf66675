"""`bench etl`'s bookkeeping (no pipeline run): the targets per size, stage times from dag.test's log, memory per
stage and process group, and the argument rules of --scale."""

import datetime as dt

import pytest

from mwaa_local.benchmarks import etl

LOG = """\
2026-01-02T10:00:01.000000Z INFO [DAG TEST] starting task_id=extract_orders map_index=-1
2026-01-02T10:00:03.000000Z INFO [DAG TEST] end task task_id=extract_orders map_index=-1
2026-01-02T10:00:03.500000Z INFO [DAG TEST] starting task_id=extract_order_items map_index=-1
2026-01-02T10:00:06.000000Z INFO [DAG TEST] end task task_id=extract_order_items map_index=-1
2026-01-02T10:00:07.000000Z INFO [DAG TEST] starting task_id=curate map_index=-1
2026-01-02T10:00:10.000000Z INFO [DAG TEST] end task task_id=curate map_index=-1
"""


def test_the_in_process_api_start_up_is_the_first_tasks_wait_for_its_task_started_line():
    log = ("2026-01-02T10:00:00.500000Z INFO Task started  (an earlier line of another kind)\n"
           "2026-01-02T10:00:01.000000Z INFO [DAG TEST] running task <TaskInstance: retail_etl.extract_orders>\n"
           "2026-01-02T10:00:05.250000Z INFO Task started [airflow.api_fastapi.execution_api.routes.task_instances]\n"
           "2026-01-02T10:00:06.000000Z INFO [DAG TEST] running task <TaskInstance: retail_etl.extract_x>\n"
           "2026-01-02T10:00:06.100000Z INFO Task started [airflow.api_fastapi.execution_api.routes.task_instances]\n")
    assert etl.api_startup(log) == 4.25
    assert etl.api_startup(LOG) != etl.api_startup(LOG)  # NaN: no such lines


def test_targets_are_issue_17s():
    assert etl.targets(1_000_000) == (25.0, 1_500_000_000)
    assert etl.targets(30_000) == (25.0, 1_500_000_000)
    assert etl.targets(3_000_000) == (120.0, 3_000_000_000)
    assert etl.targets(10_000_000) == (120.0, 3_000_000_000)


def test_stage_times_and_memory_per_stage_and_group():
    stages, tasks = etl.stage_times(LOG)
    assert stages == {"extract": 5.0, "curate": 3.0}
    at = lambda s: dt.datetime(2026, 1, 2, 10, 0, s)  # noqa: E731
    timeline = [(at(2), {etl.CLOUD: 100, etl.AIRFLOW: 300, etl.GLUE: 0, etl.POSTGRES: 50}),
                (at(8), {etl.CLOUD: 120, etl.AIRFLOW: 200, etl.GLUE: 400, etl.POSTGRES: 900}),
                (at(9), {etl.CLOUD: 130, etl.AIRFLOW: 210, etl.GLUE: 350, etl.POSTGRES: 10})]
    peaks = etl.stage_memory(timeline, tasks)
    assert peaks["extract"] == {etl.CLOUD: 100, etl.AIRFLOW: 300, etl.GLUE: 0, etl.POSTGRES: 50, "total": 400}
    # the total is the pipeline's sum at ONE instant (postgres apart), not the sum of the groups' peaks
    assert peaks["curate"][etl.GLUE] == 400 and peaks["curate"]["total"] == 720
    assert "gate" not in peaks


def test_measurement_meets_targets_only_on_success_within_both():
    ok = etl.Measurement(1_000_000, state="success", wall=20.0, peak=1_000_000_000)
    assert ok.ok
    assert not etl.Measurement(1_000_000, state="success", wall=26.0, peak=1).ok
    assert not etl.Measurement(10_000_000, state="success", wall=100.0, peak=3_100_000_000).ok
    assert not etl.Measurement(1_000_000, state="failed", wall=1.0, peak=1).ok


def test_scale_and_order_lines_together_are_refused(capsys):
    with pytest.raises(SystemExit) as exc:
        etl.run(["--scale", "--order-lines", "5"])
    assert exc.value.code == 2 and "--scale runs its own sizes" in capsys.readouterr().err
