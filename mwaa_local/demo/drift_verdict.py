"""After ml_monitor: the drift verdict as the demo prints it, from the measure_drift XCom (the summary the monitor
also logs to MLflow as drift/drift_summary.json), and the retrain it started.

The demo unpauses ml_train for the monitor's run (Airflow queues asset events only for unpaused DAGs): a drift verdict
publishes `retail_feature_drift` and the scheduler starts ml_train on it, which the demo reports (and leaves running,
as it leaves everything running); without drift ml_train is paused again."""

from __future__ import annotations

import time
import urllib.parse

from mwaa_local.demo import runs

RETRAIN_WAIT_S = 30.0  # the scheduler turns an asset event into a run within a few of its loops


def known_runs(api) -> set[str]:
    return {r["dag_run_id"] for r in runs.runs_of(api, "ml_train")}


def verdict(api, run_id: str, before: set[str], wait_s: float = RETRAIN_WAIT_S) -> dict | None:
    """{"drifted", "reasons", "quality", "champion_version", "cutoff", "report", "retrain_run"} for one ml_monitor run
    (None: it left no summary). retrain_run: the asset-triggered ml_train run not in `before` (None if none came)."""
    summary = runs.xcom(api, "ml_monitor", run_id, "measure_drift")
    if not isinstance(summary, dict) or "drifted" not in summary:
        return None
    return {"drifted": bool(summary["drifted"]), "reasons": list(summary.get("reasons") or []),
            "quality": list(summary.get("quality") or []),
            "champion_version": summary.get("champion.version"), "cutoff": summary.get("cutoff"),
            "report": summary.get("mlflow_run_url") or summary.get("mlflow_run_id") or "",
            "retrain_run": _new_asset_run(api, before, wait_s) if summary["drifted"] else None}


def _new_asset_run(api, before: set[str], wait_s: float) -> str | None:
    deadline = time.monotonic() + wait_s
    while True:
        new = [r["dag_run_id"] for r in runs.runs_of(api, "ml_train")
               if r["dag_run_id"] not in before and r.get("run_type") == "asset_triggered"]
        if new or time.monotonic() >= deadline:
            return new[0] if new else None
        time.sleep(1)


def lines(found: dict | None, api_url: str) -> list[str]:
    if found is None:
        return ["drift verdict: unknown (measure_drift left no summary; see the run's logs)"]
    head = (f"drift verdict for champion v{found['champion_version']} at {found['cutoff']}: "
            + ("DRIFT" if found["drifted"] else "no drift"))
    out = [head, *(f"  {reason}" for reason in found["reasons"])]
    out += [f"  data quality: {note}" for note in found["quality"]]
    if not found["drifted"]:
        out.append("  no asset published: ml_train is not asked to retrain")
    elif found["retrain_run"]:
        out.append(f"  retail_feature_drift published -> the scheduler started ml_train to retrain (keeps running "
                   f"after the demo): {api_url}/dags/ml_train/runs/{urllib.parse.quote(found['retrain_run'], safe='')}")
    else:
        out.append("  retail_feature_drift published, but no ml_train run followed it (is ml_train paused?)")
    if found["report"]:
        out.append(f"  report (per-feature plots): {found['report']}")
    return out
