"""What one ml_train run decided, for the demo's ML section: the MLflow run URL, the registered version, the champion
with its validation metric, and why the version was or was not promoted. From the run's XComs (log_training,
register_and_promote); when those are missing (the run failed before registering), from the MLflow registry's
champion alias and its version tags, which register_and_promote writes (promotion.*)."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.parse
import urllib.request

from mwaa_local.demo import runs


def _mlflow_get(url: str, user: str, password: str, path: str, query: dict) -> dict | None:
    request = urllib.request.Request(f"{url}{path}?{urllib.parse.urlencode(query)}")
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def champion_from_registry(mlflow_url: str, user: str, password: str, model: str) -> dict:
    """The champion alias's version and its promotion.* tags ({} when there is no champion or MLflow is down)."""
    answer = _mlflow_get(mlflow_url, user, password, "/api/2.0/mlflow/registered-models/alias",
                         {"name": model, "alias": "champion"})
    version = (answer or {}).get("model_version")
    if not version:
        return {}
    tags = {t["key"]: t["value"] for t in version.get("tags", [])}
    return {"champion_version": str(version["version"]), "champion_value": tags.get("promotion.candidate_value"),
            "champion_run_id": version.get("run_id"), "champion_reason": tags.get("promotion.reason")}


def report(api, run: runs.RunOutcome, mlflow_url: str, mlflow_user: str, mlflow_password: str | None,
           config: dict) -> dict:
    """The `ml` section of the summary JSON."""
    model, metric = config["mlflow"]["registered_model"], config["ml"]["validation_metric"]
    logged = runs.xcom(api, run.dag_id, run.run_id, "log_training") or {}
    decision = runs.xcom(api, run.dag_id, run.run_id, "register_and_promote") or {}
    section = {
        "dag_run": run.as_json(), "mlflow_url": mlflow_url, "experiment": config["mlflow"]["experiment"],
        "registered_model": model, "metric": metric, "margin": decision.get("margin"),
        "run_url": logged.get("run_url"), "mlflow_run_id": logged.get("run_id"),
        "training_job": logged.get("training_job_name"),
        "candidate_value": _num((logged.get("metrics") or {}).get(metric, decision.get("candidate_value"))),
        "version": decision.get("version"), "decision": decision.get("decision"), "reason": decision.get("reason"),
        "champion_version": decision.get("champion_version"), "champion_changed": decision.get("champion_changed"),
        "source": "xcom" if decision else None,
    }
    if decision:
        # The champion's metric: the candidate's when it was promoted, else the champion it was compared with.
        section["champion_value"] = _num(decision.get("candidate_value") if decision.get("champion_changed")
                                         else decision.get("champion_value"))
    elif mlflow_password:
        registry = champion_from_registry(mlflow_url, mlflow_user, mlflow_password, model)
        section.update(champion_version=registry.get("champion_version"),
                       champion_value=_num(registry.get("champion_value")),
                       source="mlflow" if registry else None)
    return section


def _num(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def lines(section: dict) -> list[str]:
    """The ML section as printed."""
    out = [f"MLflow UI: {section['mlflow_url']} (experiment {section['experiment']}, model {section['registered_model']})"]
    if section.get("run_url"):
        out.append(f"MLflow run: {section['run_url']}")
    metric = section["metric"]
    if section.get("version"):
        value = section.get("candidate_value")
        out.append(f"this run registered version {section['version']}"
                   + (f" ({metric} {value:.4f})" if value is not None else "")
                   + f": {section.get('decision') or '?'} - {section.get('reason') or 'no reason recorded'}"
                   + (f" (margin {section['margin']})" if section.get("margin") else ""))
    if section.get("champion_version"):
        value = section.get("champion_value")
        out.append(f"champion: version {section['champion_version']}"
                   + (f", {metric} {value:.4f}" if value is not None else "")
                   + (" (promoted by this run)" if section.get("champion_changed") else ""))
    else:
        out.append("champion: none (no version registered)")
    return out
