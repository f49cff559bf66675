"""The deploy targets: include/config/deploy.yaml, one block per MWAA environment."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mwaa_local import paths
from mwaa_local.errors import UserError

CONFIG_FILE = paths.INCLUDE / "config" / "deploy.yaml"
REQUIRED = ("region", "environment", "bucket", "dag_s3_path")


@dataclass(frozen=True)
class Target:
    name: str
    region: str
    environment: str
    bucket: str
    dag_s3_path: str
    plugins_s3_path: str | None = None
    requirements_s3_path: str | None = None
    startup_script_s3_path: str | None = None
    local_cloud: bool = False
    provision: bool = False
    execution_role_arn: str | None = None

    @property
    def dag_prefix(self) -> str:
        return self.dag_s3_path.strip("/") + "/"

    def files(self) -> dict[str, str]:
        """Key in the bucket of each versioned file the environment runs, by its role."""
        keys = {"plugins": self.plugins_s3_path, "requirements": self.requirements_s3_path,
                "startup": self.startup_script_s3_path}
        return {role: key for role, key in keys.items() if key}


def load(name: str, config_file: Path = CONFIG_FILE) -> Target:
    import yaml

    try:
        document = yaml.safe_load(Path(config_file).read_text()) or {}
    except OSError as exc:
        raise UserError(f"cannot read the deploy configuration {config_file}: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise UserError(f"{config_file} is not valid YAML: {str(exc).splitlines()[0]}") from None
    environments = document.get("environments") if isinstance(document, dict) else None
    if not isinstance(environments, dict) or not environments:
        raise UserError(f"{config_file} has no `environments:` mapping")
    block = environments.get(name)
    if not isinstance(block, dict):
        raise UserError(f"no environment {name!r} in {config_file}; it has: {', '.join(sorted(environments))}")
    missing = [key for key in REQUIRED if not block.get(key)]
    if missing:
        raise UserError(f"environment {name!r} in {config_file} lacks {', '.join(missing)}")
    unknown = set(block) - set(Target.__dataclass_fields__)
    if unknown:
        raise UserError(f"environment {name!r} in {config_file}: unknown key(s) {', '.join(sorted(unknown))}")
    placeholders = [key for key, value in block.items() if isinstance(value, str) and "CHANGE-ME" in value]
    if placeholders:
        raise UserError(f"environment {name!r} in {config_file} still has CHANGE-ME in {', '.join(placeholders)}; "
                        "fill in your bucket and environment")
    return Target(name=name, **block)
