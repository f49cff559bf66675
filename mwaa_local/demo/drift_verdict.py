"""After ml_monitor: the drift verdict as the demo prints it, from the measure_drift XCom (the summary the monitor
also logs to MLflow as drift/drift_summary.json).

The demo keeps ml_train paused after its own run, like every DAG it runs: a retrain started by the drift asset would
outlive the demo and collide with the next one (which empties the warehouse under it), and slow `down`. Airflow
queues asset events only for unpaused DAGs, so a drift verdict here starts nothing; the loop itself (drift asset ->
ml_train scheduled) is what tests/ml/test_monitor_e2e.py checks."""

from __future__ import annotations

from mwaa_local.demo import runs


def verdict(api, run_id: str) -> dict | None:
    """{"drifted", "reasons", "quality", "champion_version", "cutoff", "report"} of one ml_monitor run (None: it left
    no summary)."""
    summary = runs.xcom(api, "ml_monitor", run_id, "measure_drift")
    if not isinstance(summary, dict) or "drifted" not in summary:
        return None
    return {"drifted": bool(summary["drifted"]), "reasons": list(summary.get("reasons") or []),
            "quality": list(summary.get("quality") or []),
            "champion_version": summary.get("champion.version"), "cutoff": summary.get("cutoff"),
            "report": summary.get("mlflow_run_url") or summary.get("mlflow_run_id") or ""}


def lines(found: dict | None) -> list[str]:
    if found is None:
        return ["drift verdict: unknown (measure_drift left no summary; see the run's logs)"]
    head = (f"drift verdict for champion v{found['champion_version']} at {found['cutoff']}: "
            + ("DRIFT" if found["drifted"] else "no drift"))
    out = [head, *(f"  {reason}" for reason in found["reasons"])]
    out += [f"  data quality: {note}" for note in found["quality"]]
    if found["drifted"]:
        out.append("  retail_feature_drift published: an unpaused ml_train retrains on it; the demo keeps ml_train "
                   "paused, so nothing starts now (unpause it in the UI and the next drift or warehouse load retrains)")
    else:
        out.append("  no asset published: ml_train is not asked to retrain")
    if found["report"]:
        out.append(f"  report (per-feature plots): {found['report']}")
    return out
