"""The serving side of train_sklearn.py, as the scikit-learn container expects it: model_fn, and a predict_fn that
returns the probability of the positive class (input_fn/output_fn are the container's defaults)."""

import os

import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))


def predict_fn(data, model):
    if data.ndim == 1:
        data = data.reshape(1, -1)
    return model.predict_proba(data)[:, 1]
