"""SageMaker scikit-learn inference handlers for the repeat-purchase model (batch transform and endpoints alike).

The model (model.joblib + feature_names.json from train_repeat_purchase.py) answers the probability that a customer
buys again. Each record carries its customer id so a batch transform's output can be joined back to the customer:

- text/csv in: one line per customer, `customer_id,<features in feature_names.json order>` (no header);
  text/csv out: `customer_id,score` lines.
- application/json in: `{"instances": [{"customer_id": 1, "recency_days": ..., ...}, ...]}` (or a bare list);
  application/json out: `{"predictions": [{"customer_id": 1, "score": 0.42}, ...]}`.

Features are read as float64 on both paths, so a batch score and an endpoint answer for the same row are equal.
"""

import io
import json
import os

import joblib
import numpy as np
import pandas as pd

CSV, JSON = "text/csv", "application/json"


def model_fn(model_dir):
    with open(os.path.join(model_dir, "feature_names.json")) as names:
        features = json.load(names)
    return {"model": joblib.load(os.path.join(model_dir, "model.joblib")), "features": features}


def _kind(mime):
    return (mime or JSON).split(";")[0].strip().lower()


def input_fn(body, content_type):
    text = body.decode() if isinstance(body, bytes) else body
    kind = _kind(content_type)
    if kind == CSV:
        rows = np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float64, ndmin=2)
        return {"ids": rows[:, 0].astype(np.int64), "rows": rows[:, 1:]}
    if kind == JSON:
        decoded = json.loads(text)
        records = decoded["instances"] if isinstance(decoded, dict) else decoded
        return {"records": records}
    raise ValueError(f"content type {content_type} is not supported: send {CSV} or {JSON}")


def predict_fn(data, model):
    features = model["features"]
    if "records" in data:
        missing = sorted({name for record in data["records"] for name in ["customer_id", *features]
                          if name not in record})
        if missing:
            raise ValueError(f"records lack {missing}; each needs customer_id and {features}")
        ids = np.array([int(r["customer_id"]) for r in data["records"]], dtype=np.int64)
        rows = np.array([[float(r[name]) for name in features] for r in data["records"]], dtype=np.float64)
    else:
        ids, rows = data["ids"], data["rows"]
        if rows.shape[1] != len(features):
            raise ValueError(f"each CSV line needs customer_id and {len(features)} features {features}, "
                             f"got {rows.shape[1]} features")
    scores = model["model"].predict_proba(pd.DataFrame(rows, columns=features))[:, 1]
    return ids, scores


def output_fn(prediction, accept):
    ids, scores = prediction
    kind = _kind(accept)
    if kind == CSV:  # no trailing newline: AssembleWith=Line adds one per response
        return "\n".join(f"{i},{s!r}" for i, s in zip(ids.tolist(), scores.tolist(), strict=True)), CSV
    if kind == JSON:
        predictions = [{"customer_id": i, "score": s} for i, s in zip(ids.tolist(), scores.tolist(), strict=True)]
        return json.dumps({"predictions": predictions}), JSON
    raise ValueError(f"accept type {accept} is not supported: ask for {CSV} or {JSON}")
