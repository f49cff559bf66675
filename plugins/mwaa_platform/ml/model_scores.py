"""Scores of a logged model over a feature frame: the probability of the positive class when the model has one
(a scikit-learn classifier behind MLflow's pyfunc), else pyfunc's prediction."""

from __future__ import annotations


def score(model_uri: str, frame, features: list[str]):
    """model_uri: anything mlflow.pyfunc.load_model takes (models:/name@alias, models:/m-..., runs:/...)."""
    import mlflow.pyfunc
    import numpy as np

    model = mlflow.pyfunc.load_model(model_uri)
    inputs = frame[features].astype("float64")
    try:
        raw = model.get_raw_model()
    except (AttributeError, NotImplementedError, ValueError):  # a flavour without a raw model
        raw = None
    if raw is not None and hasattr(raw, "predict_proba"):
        return np.asarray(raw.predict_proba(inputs)[:, 1], dtype=np.float64)
    return np.asarray(model.predict(inputs), dtype=np.float64).reshape(-1)
