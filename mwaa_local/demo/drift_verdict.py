"""After ml_monitor: the drift verdict as the demo prints it, from the measure_drift XCom (the summary the monitor
also logs to MLflow as drift/drift_summary.json), and whether the retraining request is waiting for ml_train.

The demo keeps ml_train paused after its own run, so a drift verdict leaves its request queued (the asset event of
`retail_feature_drift`, shown in the UI) instead of starting a retrain behind the demo's back."""

from __future__ import annotations

from mwaa_local.demo import runs


def _asset() -> str:
    from mwaa_platform.ml.assets import FEATURE_DRIFT  # airflow.sdk: imported only when a verdict is asked for

    return FEATURE_DRIFT.name


def verdict(api, run_id: str) -> dict | None:
    """{"drifted", "reasons", "quality", "report", "retrain_queued"} for one ml_monitor run (None: no summary)."""
    summary = runs.xcom(api, "ml_monitor", run_id, "measure_drift")
    if not isinstance(summary, dict) or "drifted" not in summary:
        return None
    queued = runs.queued_asset_events(api, "ml_train") if summary["drifted"] else []
    return {"drifted": bool(summary["drifted"]), "reasons": list(summary.get("reasons") or []),
            "quality": list(summary.get("quality") or []),
            "champion_version": summary.get("champion.version"), "cutoff": summary.get("cutoff"),
            "report": summary.get("mlflow_run_url") or summary.get("mlflow_run_id") or "",
            "retrain_queued": any(e["asset_name"] == _asset() for e in queued)}


def lines(found: dict | None) -> list[str]:
    if found is None:
        return ["drift verdict: unknown (measure_drift left no summary; see the run's logs)"]
    head = (f"drift verdict for champion v{found['champion_version']} at {found['cutoff']}: "
            + ("DRIFT" if found["drifted"] else "no drift"))
    out = [head, *(f"  {reason}" for reason in found["reasons"])]
    out += [f"  data quality: {note}" for note in found["quality"]]
    if found["drifted"]:
        out.append(f"  {_asset()} published: ml_train retrains on it; "
                   + ("the request is queued while the demo keeps ml_train paused (unpause it in the UI to retrain)"
                      if found["retrain_queued"] else "no queued request found for ml_train (is it unpaused?)"))
    else:
        out.append("  no asset published: ml_train is not asked to retrain")
    if found["report"]:
        out.append(f"  report (per-feature plots): {found['report']}")
    return out
