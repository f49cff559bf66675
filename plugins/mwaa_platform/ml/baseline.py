"""The training baseline ml_monitor compares against: per feature the bin edges and counts (configured bins), a sample
and quantiles of the values (for KS and the report), the missing share and range; and the distribution of the
model's scores on the validation split. Built at training time from the data the model saw, saved as JSON
(`monitoring/baseline.json`) in the training run of MLflow, so it travels with every registered version."""

from __future__ import annotations

from mwaa_platform.ml import drift

FORMAT = 1
ARTIFACT_PATH = "monitoring/baseline.json"
QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)


class BaselineError(ValueError):
    """The baseline is missing or unreadable: the champion cannot be monitored until it is retrained."""


def profile(values, bins: int, sample_size: int, seed: int = 0) -> dict:
    """One column's profile: bins from its own quantiles, counts, missing share, range, quantiles and a sample."""
    import numpy as np

    data = drift.finite(values)
    edges = drift.bin_edges(data, bins)
    return {
        "rows": int(len(values)), "missing_share": drift.missing_share(values),
        "edges": edges, "counts": drift.bin_counts(data, edges) if data.size else [],
        "min": float(data.min()) if data.size else None, "max": float(data.max()) if data.size else None,
        "mean": float(data.mean()) if data.size else None,
        "quantiles": {f"p{round(q * 100):02d}": float(np.quantile(data, q)) for q in QUANTILES} if data.size else {},
        "sample": drift.sample(data, sample_size, seed),
    }


def build(frame, features: list[str], scores, *, bins: int, sample_size: int, meta: dict) -> dict:
    """frame: the training features (pandas); scores: the model's scores on the validation split."""
    absent = [f for f in features if f not in frame.columns]
    if absent:
        raise BaselineError(f"the training data has no column(s) {', '.join(absent)}")
    return {
        "format": FORMAT, "bins": int(bins), "rows": int(len(frame)), **meta,
        "features": {name: profile(frame[name].to_numpy(dtype="float64"), bins, sample_size) for name in features},
        "score": profile(scores, bins, sample_size),
    }


def validate(baseline: dict, where: str) -> dict:
    """Checks a loaded baseline's shape; raises BaselineError naming `where` it came from."""
    if not isinstance(baseline, dict) or baseline.get("format") != FORMAT or not baseline.get("features"):
        raise BaselineError(f"{where} is not a monitoring baseline of format {FORMAT}: retrain the model with ml_train")
    for name, column in baseline["features"].items():
        if not {"edges", "counts", "sample", "missing_share"} <= set(column):
            raise BaselineError(f"{where}: feature {name!r} lacks edges/counts/sample/missing_share")
    return baseline
