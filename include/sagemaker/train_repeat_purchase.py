"""SageMaker scikit-learn script-mode entry point: will a customer buy again in the label window?

Runs unchanged on the sagemaker-scikit-learn image and in the local cloud. Reads the train/validation CSV channels
(header row; feature columns then `label`), fits gradient boosting, prints the metrics SageMaker's MetricDefinitions
pick up, saves model.joblib to SM_MODEL_DIR and the evaluation (ROC curve, feature importance plots, evaluation.json)
to SM_OUTPUT_DATA_DIR (-> output.tar.gz), which the MLflow logging task attaches to the run.

`--label-shuffle-seed N` (N >= 0) permutes the training labels: a negative control that must produce a worse model.
"""

import argparse
import json
import os

import joblib
import numpy as np
import pandas as pd
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.metrics import log_loss, roc_auc_score, roc_curve


def read_channel(path):
    files = sorted(f for f in os.listdir(path) if not f.startswith("."))
    if not files:
        raise SystemExit(f"channel {path} is empty")
    return pd.concat([pd.read_csv(os.path.join(path, f)) for f in files], ignore_index=True)


def plots(out_dir, fpr, tpr, auc, names, importances):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot(fpr, tpr, label=f"validation AUC {auc:.3f}")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey")
    ax.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC curve")
    ax.legend(loc="lower right")
    fig.savefig(os.path.join(out_dir, "roc_curve.png"), dpi=80, bbox_inches="tight")
    plt.close(fig)
    order = np.argsort(importances)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.barh([names[i] for i in order], importances[order])
    ax.set(title="feature importance", xlabel="importance")
    fig.savefig(os.path.join(out_dir, "feature_importance.png"), dpi=80, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n_estimators", type=int, default=100)
    parser.add_argument("--max_depth", type=int, default=3)
    parser.add_argument("--learning_rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--label_shuffle_seed", type=int, default=-1)
    parser.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR"))
    parser.add_argument("--output-data-dir", default=os.environ.get("SM_OUTPUT_DATA_DIR"))
    parser.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN"))
    parser.add_argument("--validation", default=os.environ.get("SM_CHANNEL_VALIDATION"))
    args = parser.parse_args()

    train, validation = read_channel(args.train), read_channel(args.validation)
    features = [c for c in train.columns if c != "label"]
    y_train = train["label"].to_numpy()
    if args.label_shuffle_seed >= 0:
        y_train = np.random.default_rng(args.label_shuffle_seed).permutation(y_train)
    if len(set(y_train)) < 2 or validation["label"].nunique() < 2:
        raise SystemExit("both label classes must occur in train and validation")
    model = GradientBoostingClassifier(n_estimators=args.n_estimators, max_depth=args.max_depth,
                                       learning_rate=args.learning_rate, random_state=args.seed)
    model.fit(train[features], y_train)
    p_train = model.predict_proba(train[features])[:, 1]
    p_valid = model.predict_proba(validation[features])[:, 1]
    auc = roc_auc_score(validation["label"], p_valid)
    print(f"train rows={len(train)} validation rows={len(validation)} features={features}")
    print(f"train-auc={roc_auc_score(y_train, p_train):.6f};")
    print(f"validation-auc={auc:.6f};")
    print(f"validation-logloss={log_loss(validation['label'], p_valid):.6f};")

    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
    with open(os.path.join(args.model_dir, "feature_names.json"), "w") as out:
        json.dump(features, out)
    fpr, tpr, _ = roc_curve(validation["label"], p_valid)
    importances = np.asarray(model.feature_importances_)
    evaluation = {"validation_auc": auc, "train_rows": len(train), "validation_rows": len(validation),
                  "validation_positive_rate": float(validation["label"].mean()),
                  "feature_importance": dict(zip(features, importances.round(6).tolist(), strict=True))}
    with open(os.path.join(args.output_data_dir, "evaluation.json"), "w") as out:
        json.dump(evaluation, out, indent=2)
    plots(args.output_data_dir, fpr, tpr, auc, features, importances)


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
