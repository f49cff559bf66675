"""SageMaker's built-in algorithms the local cloud can run (as job processes; their scripts import nothing from
mwaa_local), and what the control plane needs to know about them."""

from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).resolve().parent
# framework of the image -> the script that runs its built-in algorithm (the image without an entry point)
BUILT_IN = {"xgboost": str(HERE / "xgboost_builtin.py")}
_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def xgboost_eval_metrics(hyperparameters: dict) -> list[str]:
    """eval_metric as given, else XGBoost's default for the objective."""
    given = hyperparameters.get("eval_metric")
    if given:
        return [m.strip() for m in str(given).split(",") if m.strip()]
    objective = str(hyperparameters.get("objective", "reg:squarederror"))
    if objective.startswith("binary:"):
        return ["logloss"]
    if objective.startswith("multi:"):
        return ["mlogloss"]
    return ["rmse"]


def default_metric_definitions(hyperparameters: dict) -> list[dict]:
    """What SageMaker defines for the built-in XGBoost: train:<metric> and validation:<metric> from the log."""
    return [{"Name": f"{channel}:{metric}", "Regex": rf".*\[[0-9]+\].*#011{channel}-{metric}:{_NUMBER}.*"}
            for channel in ("train", "validation") for metric in xgboost_eval_metrics(hyperparameters)]
