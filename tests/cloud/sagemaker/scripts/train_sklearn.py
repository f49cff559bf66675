"""A scikit-learn script-mode entry point written the way AWS documents it (SM_* variables, argparse)."""

import argparse
import json
import os

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score


def read_channel(path):
    return pd.concat([pd.read_csv(os.path.join(path, name)) for name in sorted(os.listdir(path))])


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("-C", "--C", type=float, default=1.0)  # the toolkit passes one-letter keys as -C
    parser.add_argument("--max_iter", type=int, default=100)
    parser.add_argument("--model-dir", default=os.environ["SM_MODEL_DIR"])
    parser.add_argument("--train", default=os.environ["SM_CHANNEL_TRAIN"])
    parser.add_argument("--validation", default=os.environ["SM_CHANNEL_VALIDATION"])
    args = parser.parse_args()
    if args.C <= 0:
        raise SystemExit(f"C must be positive, got {args.C}")
    train, validation = read_channel(args.train), read_channel(args.validation)
    features = [c for c in train.columns if c != "label"]
    model = LogisticRegression(C=args.C, max_iter=args.max_iter).fit(train[features], train["label"])
    auc = roc_auc_score(validation["label"], model.predict_proba(validation[features])[:, 1])
    print(f"train rows={len(train)} hps={json.loads(os.environ['SM_HPS'])}")
    print(f"validation-auc={auc:.6f};")
    joblib.dump(model, os.path.join(args.model_dir, "model.joblib"))
    np.save(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "coef.npy"), model.coef_)


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
