"""The SageMaker built-in XGBoost algorithm (the `sagemaker-xgboost` image without an entry point), run with the
local xgboost package under the training container's contract.

Channels `train` (required) and `validation` (optional) hold CSV (label in the first column, no header) or libsvm
(ContentType text/libsvm); hyperparameters are the algorithm's (num_round required; objective, eval_metric, eta,
max_depth, ...). The model is saved as /opt/ml/model/xgboost-model and every round is logged as the algorithm does
in CloudWatch: `[N]#011train-<metric>:<value>#011validation-<metric>:<value>`.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

# Hyperparameters that are the algorithm's own, not XGBoost training parameters.
NOT_PARAMS = {"num_round", "csv_weights", "early_stopping_rounds", "_kfold", "_num_cv_round", "_tuning_objective_metric"}
INT_PARAMS = {"max_depth", "num_class", "max_leaves", "max_bin", "num_parallel_tree", "seed", "verbosity",
              "nthread", "num_round", "early_stopping_rounds"}


def _value(key: str, raw: str):
    if key in INT_PARAMS:
        return int(float(raw))
    try:
        return float(raw)
    except ValueError:
        return raw


def _fail(message: str) -> int:
    (Path(os.environ["SM_OUTPUT_DIR"]) / "failure").write_text(message)
    print(message, file=sys.stderr, flush=True)
    return 1


def _load(xgb, folder: Path, content_type: str):
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    if not files:
        raise ValueError(f"channel folder {folder.name} is empty")
    if "libsvm" in content_type:
        return xgb.DMatrix(f"{files[0]}?format=libsvm") if len(files) == 1 else _concat_libsvm(xgb, files)
    import numpy as np

    blocks = [np.loadtxt(p, delimiter=",", ndmin=2) for p in files]
    data = np.vstack(blocks)
    return xgb.DMatrix(data[:, 1:], label=data[:, 0])


def _concat_libsvm(xgb, files):
    from sklearn.datasets import load_svmlight_files

    parts = load_svmlight_files([str(p) for p in files])
    import scipy.sparse

    features = scipy.sparse.vstack(parts[0::2])
    import numpy as np

    return xgb.DMatrix(features, label=np.concatenate(parts[1::2]))


def main() -> int:
    import xgboost as xgb

    config = Path(os.environ["SM_INPUT_CONFIG_DIR"])
    hyperparameters = json.loads((config / "hyperparameters.json").read_text())
    channels = json.loads((config / "inputdataconfig.json").read_text())
    hps = {k: v for k, v in hyperparameters.items() if not k.startswith("sagemaker_")}
    if "num_round" not in hps:
        return _fail("ClientError: Missing required hyperparameter: num_round")
    if "train" not in channels:
        return _fail("ClientError: Channel 'train' is required for the built-in XGBoost algorithm")
    try:
        num_round = _value("num_round", str(hps["num_round"]))
        params = {k: _value(k, str(v)) for k, v in hps.items() if k not in NOT_PARAMS}
    except ValueError as exc:
        return _fail(f"ClientError: Hyperparameter value is invalid: {exc}")
    data = Path(os.environ["SM_INPUT_DIR"]) / "data"
    try:
        dtrain = _load(xgb, data / "train", channels["train"].get("ContentType", "text/csv"))
        evals = [(dtrain, "train")]
        if "validation" in channels:
            evals.append((_load(xgb, data / "validation", channels["validation"].get("ContentType", "text/csv")),
                          "validation"))
    except ValueError as exc:
        return _fail(f"ClientError: Unable to read the training data: {exc}")

    class Log(xgb.callback.TrainingCallback):
        def after_iteration(self, model, epoch, evals_log) -> bool:
            scores = [f"{name}-{metric}:{values[-1]:.5f}" for name, metrics in evals_log.items()
                      for metric, values in metrics.items()]
            print(f"[{epoch}]#011" + "#011".join(scores), flush=True)
            return False

    try:
        booster = xgb.train(params, dtrain, num_boost_round=num_round, evals=evals, verbose_eval=False,
                            callbacks=[Log()], early_stopping_rounds=hps.get("early_stopping_rounds") and
                            int(float(hps["early_stopping_rounds"])))
    except xgb.core.XGBoostError as exc:
        return _fail(f"ClientError: XGBoost could not train: {str(exc).splitlines()[0]}")
    booster.save_model(str(Path(os.environ["SM_MODEL_DIR"]) / "xgboost-model"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
