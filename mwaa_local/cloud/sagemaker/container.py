"""The training container's contract (see sagemaker-training-toolkit): the /opt/ml layout under a job folder,
hyperparameters decoded and turned into `--key value` arguments, and the SM_* environment. Pure functions."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

RESERVED_PREFIX = "sagemaker_"
TUNING_OBJECTIVE = "_tuning_objective_metric"
CURRENT_HOST = "algo-1"


@dataclass(frozen=True)
class Layout:
    """/opt/ml as a folder of the job's workspace."""

    root: Path

    @property
    def input(self) -> Path:
        return self.root / "input"

    @property
    def config(self) -> Path:
        return self.input / "config"

    @property
    def data(self) -> Path:
        return self.input / "data"

    @property
    def model(self) -> Path:
        return self.root / "model"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def output_data(self) -> Path:
        return self.output / "data"

    @property
    def intermediate(self) -> Path:
        return self.output / "intermediate"

    @property
    def code(self) -> Path:
        return self.root / "code"

    def channel(self, name: str) -> Path:
        return self.data / name

    def create(self) -> None:
        for path in (self.config, self.data, self.model, self.output_data, self.intermediate, self.code):
            path.mkdir(parents=True, exist_ok=True)


def decode_hyperparameters(raw: dict[str, str]) -> dict[str, object]:
    """Values are JSON-decoded when they parse (the SDK JSON-encodes every value), else kept as strings."""
    decoded = {}
    for key, value in raw.items():
        try:
            decoded[key] = json.loads(value)
        except (TypeError, ValueError):
            decoded[key] = value
    return decoded


def user_hyperparameters(decoded: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in decoded.items() if not k.startswith(RESERVED_PREFIX) and k != TUNING_OBJECTIVE}


def user_args(decoded: dict[str, object]) -> list[str]:
    """Sorted `--key value` pairs (`-k value` for one-letter keys); value is str() of the decoded value."""
    args = []
    for key, value in sorted(user_hyperparameters(decoded).items()):
        args += [f"-{key}" if len(key) == 1 else f"--{key}", str(value)]
    return args


def _env_value(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True, separators=(",", ":"))


def environment(layout: Layout, job_name: str, decoded: dict[str, object], channels: dict[str, dict],
                entry_point: str, instance_type: str, job_environment: dict[str, str]) -> dict[str, str]:
    """The SM_* variables a framework container sets, then the job's own Environment on top."""
    user_hps = user_hyperparameters(decoded)
    channel_names = sorted(channels)
    module_name = entry_point[:-3] if entry_point.endswith(".py") else entry_point
    resource = {"current_host": CURRENT_HOST, "hosts": [CURRENT_HOST], "current_instance_type": instance_type,
                "network_interface_name": "eth0"}
    framework_params = {k: v for k, v in decoded.items() if k.startswith(RESERVED_PREFIX)}
    training_env = {
        "channel_input_dirs": {name: str(layout.channel(name)) for name in channel_names},
        "current_host": CURRENT_HOST, "current_instance_type": instance_type, "hosts": [CURRENT_HOST],
        "framework_module": None, "hyperparameters": user_hps, "input_config_dir": str(layout.config),
        "input_data_config": channels, "input_dir": str(layout.input), "job_name": job_name,
        "log_level": 20, "model_dir": str(layout.model), "module_dir": str(layout.code), "module_name": module_name,
        "network_interface_name": "eth0", "num_cpus": os.cpu_count() or 1, "num_gpus": 0,
        "output_data_dir": str(layout.output_data), "output_dir": str(layout.output),
        "output_intermediate_dir": str(layout.intermediate), "resource_config": resource,
        "user_entry_point": entry_point, "additional_framework_parameters": framework_params,
    }
    env = {
        "SM_MODEL_DIR": str(layout.model), "SM_CHANNELS": _env_value(channel_names),
        "SM_HPS": _env_value(user_hps), "SM_OUTPUT_DATA_DIR": str(layout.output_data),
        "SM_OUTPUT_DIR": str(layout.output), "SM_OUTPUT_INTERMEDIATE_DIR": str(layout.intermediate),
        "SM_INPUT_DIR": str(layout.input), "SM_INPUT_CONFIG_DIR": str(layout.config),
        "SM_INPUT_DATA_CONFIG": _env_value(channels), "SM_RESOURCE_CONFIG": _env_value(resource),
        "SM_HOSTS": _env_value([CURRENT_HOST]), "SM_CURRENT_HOST": CURRENT_HOST,
        "SM_CURRENT_INSTANCE_TYPE": instance_type, "SM_NUM_CPUS": str(os.cpu_count() or 1), "SM_NUM_GPUS": "0",
        "SM_USER_ENTRY_POINT": entry_point, "SM_USER_ARGS": _env_value(user_args(decoded)),
        "SM_MODULE_NAME": module_name, "SM_MODULE_DIR": str(layout.code),
        "SM_FRAMEWORK_PARAMS": _env_value(framework_params), "SM_LOG_LEVEL": "20",
        "SM_TRAINING_ENV": _env_value(training_env), "TRAINING_JOB_NAME": job_name,
    }
    for name in channel_names:
        env[f"SM_CHANNEL_{name.upper()}"] = str(layout.channel(name))
    for key, value in user_hps.items():
        env[f"SM_HP_{key.upper()}"] = _env_value(value)
    env.update(job_environment)
    return env


def write_config(layout: Layout, raw_hyperparameters: dict[str, str], channels: dict[str, dict],
                 instance_type: str) -> None:
    (layout.config / "hyperparameters.json").write_text(json.dumps(raw_hyperparameters))
    (layout.config / "inputdataconfig.json").write_text(json.dumps(channels))
    (layout.config / "resourceconfig.json").write_text(json.dumps(
        {"current_host": CURRENT_HOST, "hosts": [CURRENT_HOST], "current_instance_type": instance_type,
         "network_interface_name": "eth0"}))


def failure_message(layout: Layout) -> str | None:
    """What the script wrote to output/failure, if anything."""
    path = layout.output / "failure"
    if path.exists():
        return path.read_text(errors="replace").strip() or None
    return None
