"""The user's inference script with the scikit-learn container's defaults (sagemaker-inference-toolkit):
model_fn(model_dir) required; input_fn(body, content_type), predict_fn(data, model), output_fn(prediction, accept)
default to JSON / CSV / NPY <-> numpy; transform_fn(model, body, content_type, accept) replaces the other three."""

from __future__ import annotations

import importlib.util
import io
import json
import os
import sys
from pathlib import Path

JSON, CSV, NPY = "application/json", "text/csv", "application/x-npy"
SUPPORTED = (JSON, CSV, NPY)


class UnsupportedContentType(Exception):
    """415: the input_fn cannot decode this content type."""


class UnsupportedAccept(Exception):
    """406: the output_fn cannot encode this accept type."""


class ModelError(Exception):
    """The user's handler raised: the message goes back to the caller (ModelError)."""


def _base(mime: str | None) -> str:
    return (mime or "").split(";")[0].strip().lower()


def default_input_fn(body: bytes, content_type: str):
    import numpy as np

    kind = _base(content_type) or JSON
    if kind == JSON:
        return np.array(json.loads(body), dtype=np.float32)
    if kind == CSV:
        text = body.decode() if isinstance(body, bytes) else body
        try:  # loadtxt is C-fast; genfromtxt (the toolkit's) also accepts missing values
            return np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float32, ndmin=2)
        except ValueError:
            return np.genfromtxt(io.StringIO(text), delimiter=",", dtype=np.float32, ndmin=2)
    if kind == NPY:
        return np.load(io.BytesIO(body), allow_pickle=False)
    raise UnsupportedContentType(f"Content type {content_type} is not supported by this framework. Supported: "
                                 f"{', '.join(SUPPORTED)}")


def default_predict_fn(data, model):
    return model.predict(data)


def default_output_fn(prediction, accept: str):
    import numpy as np

    kind = _base(accept) or JSON
    array = np.asarray(prediction)
    if kind == JSON:
        return json.dumps(array.tolist()), JSON
    if kind == CSV:
        stream = io.StringIO()
        np.savetxt(stream, array, delimiter=",", fmt="%s")
        return stream.getvalue(), CSV
    if kind == NPY:
        stream = io.BytesIO()
        np.save(stream, array)
        return stream.getvalue(), NPY
    raise UnsupportedAccept(f"Accept type {accept} is not supported by this framework. Supported: "
                            f"{', '.join(SUPPORTED)}")


def xgboost_builtin() -> dict:
    """The built-in XGBoost algorithm's serving: the xgboost-model file; CSV (features only) or libsvm in."""
    import numpy as np
    import xgboost as xgb

    def model_fn(model_dir):
        booster = xgb.Booster()
        booster.load_model(os.path.join(model_dir, "xgboost-model"))
        return booster

    def input_fn(body, content_type):
        kind = _base(content_type) or CSV
        text = body.decode() if isinstance(body, bytes) else body
        if kind == CSV:
            return xgb.DMatrix(np.loadtxt(io.StringIO(text), delimiter=",", dtype=np.float32, ndmin=2))
        if kind == "text/libsvm":
            from sklearn.datasets import load_svmlight_file

            features, _ = load_svmlight_file(io.BytesIO(text.encode()))
            return xgb.DMatrix(features)
        raise UnsupportedContentType(f"Content type {content_type} is not supported by the built-in XGBoost "
                                     "algorithm. Supported: text/csv, text/libsvm")

    def predict_fn(data, model):
        return model.predict(data)

    return {"model_fn": model_fn, "input_fn": input_fn, "predict_fn": predict_fn}


BUILT_IN = {"xgboost": xgboost_builtin}


class Handlers:
    def __init__(self, code_dir: Path, program: str | None, model_dir: Path, default_accept: str = JSON,
                 builtin: str | None = None):
        self.default_accept = default_accept
        module = _load(code_dir, program) if program else None
        if module is None and builtin in BUILT_IN:
            functions = BUILT_IN[builtin]()
            get = functions.get
        else:
            get = (lambda name: getattr(module, name, None)) if module else (lambda name: None)
        self.transform_fn = get("transform_fn")
        self.input_fn = get("input_fn") or default_input_fn
        self.predict_fn = get("predict_fn") or default_predict_fn
        self.output_fn = get("output_fn") or default_output_fn
        if self.transform_fn and any(get(name) for name in ("input_fn", "predict_fn", "output_fn")):
            raise ValueError("transform_fn cannot be combined with input_fn, predict_fn or output_fn")
        model_fn = get("model_fn")
        if model_fn is None:
            raise ValueError(f"{program or 'the inference script'} defines no model_fn(model_dir): the scikit-learn "
                             "container needs one to load the model")
        self.model = model_fn(str(model_dir))

    def accept_of(self, accept: str | None) -> str:
        return self.default_accept if not accept or _base(accept) == "*/*" else accept

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> tuple[bytes, str]:
        """(response body, its content type); raises UnsupportedContentType/UnsupportedAccept/ModelError."""
        content_type = content_type or JSON
        accept = self.accept_of(accept)
        try:
            if self.transform_fn:
                result = self.transform_fn(self.model, body, content_type, accept)
            else:
                data = self.input_fn(body, content_type)
                result = self.output_fn(self.predict_fn(data, self.model), accept)
        except (UnsupportedContentType, UnsupportedAccept):
            raise
        except Exception as exc:
            raise ModelError(f"{type(exc).__name__}: {exc}") from exc
        output, mime = result if isinstance(result, tuple) else (result, accept)
        return (output.encode() if isinstance(output, str) else bytes(output)), mime


def _load(code_dir: Path, program: str):
    path = code_dir / program
    if not path.exists():
        raise FileNotFoundError(f"inference script {program} not found in {code_dir} (SAGEMAKER_PROGRAM)")
    sys.path.insert(0, str(code_dir))
    name = Path(program).stem
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def from_environment() -> Handlers:
    """The handlers as the serving process's environment describes them (set by the local cloud)."""
    builtin = os.environ.get("SM_BUILTIN_ALGORITHM") or None
    return Handlers(Path(os.environ["SM_CODE_DIR"]), os.environ.get("SAGEMAKER_PROGRAM") or None,
                    Path(os.environ["SM_MODEL_DIR"]),
                    os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or (CSV if builtin else JSON), builtin)
