"""The demo's pure parts: the seeded days (history for ml_train's label window), following a run through the REST
API (a scripted API client stands in for Airflow: the boundary), and the ML section built from the XComs."""

from __future__ import annotations

import datetime as dt

from mwaa_local.demo import history, ml_report, runs
from mwaa_local.runtime.api_client import ApiError


def test_the_seed_covers_the_label_window_and_features_before_the_cutoff():
    plan = history.seed_plan(orders=1_200, days=2, label_days=30)
    hist, days = history.history_interval(30), history.daily_intervals(2)
    assert plan.start == hist.start and hist.end == days[0].start == history.DEMO_START
    assert plan.days == hist.days + 2 and plan.interval(plan.days - 1) == days[-1].start
    # ml_train's cutoff is the latest order day minus label_days: FEATURE_DAYS of orders lie before it.
    cutoff = days[-1].start - dt.timedelta(days=30)
    assert (cutoff - plan.start).days >= history.FEATURE_DAYS
    assert [d.label for d in days] == ["2026-01-01", "2026-01-02"]
    assert hist.label == f"{hist.start} .. 2025-12-31"


class ScriptedApi:
    """Answers GETs of one run from a script of (run state, task states) snapshots."""

    base_url = "http://127.0.0.1:8080"

    def __init__(self, snapshots, xcoms=None):
        self.snapshots, self.calls, self.xcoms = list(snapshots), [], xcoms or {}

    def request(self, method, path, body=None, query=None, timeout=30):
        self.calls.append((method, path, body))
        if "/xcomEntries/" in path:
            task = path.split("/taskInstances/")[1].split("/")[0]
            if task not in self.xcoms:
                raise ApiError(404, method, path, "not found")
            return {"value": self.xcoms[task]}
        if path.endswith("/taskInstances"):
            _, tasks = self.snapshots[0]
            return {"task_instances": [{"task_id": t, "state": s} for t, s in tasks.items()]}
        state, _ = self.snapshots.pop(0) if len(self.snapshots) > 1 else self.snapshots[0]
        return {"state": state}


def test_follow_prints_each_task_once_when_done_and_returns_the_final_state(monkeypatch):
    monkeypatch.setattr(runs, "POLL_S", 0)
    api = ScriptedApi([("queued", {"a": None, "b": None}), ("running", {"a": "running", "b": None}),
                       ("running", {"a": "success", "b": "running"}), ("failed", {"a": "success", "b": "failed"})])
    said = []
    outcome = runs.follow(api, "retail_etl", "manual__1", timeout=60, say=said.append)
    assert (outcome.state, outcome.ok, outcome.failed_tasks()) == ("failed", False, ["b"])
    assert [line.split("]")[1].split()[:2] for line in said] == [["a", "success"], ["b", "failed"]]
    assert outcome.url == "http://127.0.0.1:8080/dags/retail_etl/runs/manual__1"


def test_follow_gives_up_after_the_timeout(monkeypatch):
    monkeypatch.setattr(runs, "POLL_S", 0)
    outcome = runs.follow(ScriptedApi([("running", {"a": "running"})]), "d", "r", timeout=0, say=lambda _: None)
    assert (outcome.state, outcome.ok) == ("timeout", False)


def test_the_ml_section_comes_from_the_xcoms_of_log_training_and_register_and_promote():
    config = {"mlflow": {"registered_model": "retail_repeat_purchase", "experiment": "retail"},
              "ml": {"validation_metric": "validation_auc"}}
    logged = {"run_id": "abc", "run_url": "http://127.0.0.1:5000/#/experiments/1/runs/abc",
              "metrics": {"validation_auc": 0.71}, "training_job_name": "ml-train-1"}
    decision = {"registered_model": "retail_repeat_purchase", "version": "2", "decision": "challenger",
                "reason": "0.7100 does not beat the champion's 0.7500 by 0.01", "candidate_value": "0.71",
                "champion_value": "0.75", "margin": "0.01", "champion_version": "1", "champion_changed": False}
    api = ScriptedApi([("success", {})], {"log_training": logged, "register_and_promote": decision})
    run = runs.RunOutcome("ml_train", "manual__2", "success", "url")
    section = ml_report.report(api, run, "http://127.0.0.1:5000", "admin", None, config)
    assert (section["version"], section["champion_version"], section["champion_value"]) == ("2", "1", 0.75)
    assert (section["candidate_value"], section["run_url"], section["source"]) == (0.71, logged["run_url"], "xcom")
    lines = ml_report.lines(section)
    assert lines[1] == f"MLflow run: {logged['run_url']}"
    assert lines[2] == ("this run registered version 2 (validation_auc 0.7100): challenger - 0.7100 does not beat "
                        "the champion's 0.7500 by 0.01 (margin 0.01)")
    assert lines[3] == "champion: version 1, validation_auc 0.7500"


def test_a_run_that_registered_nothing_says_so():
    config = {"mlflow": {"registered_model": "m", "experiment": "e"}, "ml": {"validation_metric": "validation_auc"}}
    run = runs.RunOutcome("ml_train", "manual__3", "failed", "url")
    section = ml_report.report(ScriptedApi([("failed", {})]), run, "http://x", "admin", None, config)
    assert (section["version"], section["champion_version"], section["source"]) == (None, None, None)
    assert ml_report.lines(section)[-1] == "champion: none (no version registered)"


class RecordingApi:
    """Records writes; answers the list of runs and the trigger (the boundary to Airflow's REST API)."""

    base_url = "http://127.0.0.1:8080"

    def __init__(self, existing_runs):
        self.existing, self.calls = existing_runs, []

    def request(self, method, path, body=None, query=None, timeout=30):
        self.calls.append((method, path.removeprefix("/api/v2/dags/"), body))
        if method == "GET" and path.endswith("/dagRuns"):
            return {"dag_runs": self.existing, "total_entries": len(self.existing)}
        if method == "POST":
            return {"dag_run_id": f"manual__{body['logical_date']}"}
        return {}


def test_queue_triggers_each_interval_while_paused_then_unpauses_and_replaces_an_earlier_demos_run():
    earlier = {"dag_run_id": "manual__old", "logical_date": "2026-01-02T00:00:00Z", "run_type": "manual",
               "state": "success"}
    api = RecordingApi([earlier])
    ids = runs.queue(api, "retail_etl", [(dt.date(2025, 11, 2), dt.date(2026, 1, 1), {}),
                                         (dt.date(2026, 1, 1), dt.date(2026, 1, 2), {})])
    assert ids == ["manual__2026-01-01T00:00:00+00:00", "manual__2026-01-02T00:00:00+00:00"]
    writes = [(m, p, b) for m, p, b in api.calls if m != "GET"]
    assert writes[0] == ("PATCH", "retail_etl", {"is_paused": True})
    assert writes[-1] == ("PATCH", "retail_etl", {"is_paused": False})
    posts = [b for m, _, b in writes if m == "POST"]
    assert [(b["data_interval_start"], b["data_interval_end"], b["logical_date"], b["run_after"]) for b in posts] == [
        ("2025-11-02T00:00:00+00:00", "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00",
         "2026-01-01T00:00:00+00:00"),
        ("2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00", "2026-01-02T00:00:00+00:00",
         "2026-01-02T00:00:00+00:00")]
    # The earlier demo's run at the second logical date is deleted before that interval is triggered again.
    order = [(m, p) for m, p, _ in writes]
    assert order.index(("DELETE", "retail_etl/dagRuns/manual__old")) < len(order) - 2
    assert [p for m, p in order if m == "DELETE"] == ["retail_etl/dagRuns/manual__old"]


def test_tidy_pauses_and_removes_only_the_unfinished_runs_the_schedule_added():
    existing = [
        {"dag_run_id": "ours", "run_type": "manual", "state": "success"},
        {"dag_run_id": "scheduled__today", "run_type": "scheduled", "state": "running"},
        {"dag_run_id": "scheduled__done", "run_type": "scheduled", "state": "success"},
        {"dag_run_id": "manual__user", "run_type": "manual", "state": "queued"},
    ]
    api = RecordingApi(existing)
    assert runs.tidy_scheduler_runs(api, "retail_etl", {"ours"}) == ["scheduled__today"]
    writes = [(m, p, b) for m, p, b in api.calls if m != "GET"]
    assert writes == [("PATCH", "retail_etl", {"is_paused": True}),
                      ("PATCH", "retail_etl/dagRuns/scheduled__today", {"state": "failed"}),
                      ("DELETE", "retail_etl/dagRuns/scheduled__today", None)]




class MonitorApi:
    """measure_drift's XCom, as Airflow's REST API answers it."""

    def __init__(self, summary):
        self.summary = summary

    def request(self, method, path, body=None, query=None, timeout=30):
        assert path.endswith("/taskInstances/measure_drift/xcomEntries/return_value"), path
        return {"value": self.summary}


SUMMARY = {"drifted": True, "reasons": ["tenure_days: PSI 1.063 > 0.2"], "quality": ["tenure_days: 34.6% outside"],
           "champion.version": "1", "cutoff": "2026-01-04T00:00:00", "mlflow_run_url": "http://127.0.0.1:5000/#/x"}


def test_the_drift_verdict_names_the_reasons_and_that_no_retrain_starts_while_ml_train_is_paused():
    from mwaa_local.demo import drift_verdict

    found = drift_verdict.verdict(MonitorApi(SUMMARY), "manual__1")
    assert found["drifted"] and found["reasons"] == SUMMARY["reasons"] and found["champion_version"] == "1"
    text = "\n".join(drift_verdict.lines(found))
    assert text.startswith("drift verdict for champion v1 at 2026-01-04T00:00:00: DRIFT")
    assert "tenure_days: PSI 1.063 > 0.2" in text and "data quality: tenure_days: 34.6% outside" in text
    assert "the demo keeps ml_train paused, so nothing starts now" in text and "http://127.0.0.1:5000/#/x" in text


def test_no_drift_says_nothing_was_requested_and_a_missing_summary_is_unknown():
    from mwaa_local.demo import drift_verdict

    calm = {**SUMMARY, "drifted": False, "reasons": [], "quality": []}
    text = "\n".join(drift_verdict.lines(drift_verdict.verdict(MonitorApi(calm), "manual__1")))
    assert ": no drift" in text and "ml_train is not asked to retrain" in text and "DRIFT" not in text
    assert drift_verdict.lines(drift_verdict.verdict(MonitorApi(None), "r"))[0].startswith("drift verdict: unknown")
