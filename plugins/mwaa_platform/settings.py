"""Per-environment settings, read from include/config/platform.yaml.

Reading is lazy and cached: DAG files may call `settings()` inside tasks or templates, never at parse time
for anything that needs the network. PLATFORM_ENV selects the environment (default `local`).
"""

from __future__ import annotations

import functools
import os
from typing import Any

from mwaa_platform.paths import include_path

CONFIG_FILE = ("config", "platform.yaml")


class SettingsError(RuntimeError):
    pass


class Settings(dict):
    """The chosen environment's settings; `settings["redshift"]["workgroup"]` or `settings.get_path("redshift.workgroup")`."""

    def __init__(self, name: str, values: dict[str, Any]):
        super().__init__(values)
        self.name = name

    def get_path(self, dotted: str) -> Any:
        value: Any = self
        for part in dotted.split("."):
            if not isinstance(value, dict) or part not in value:
                raise SettingsError(f"setting {dotted!r} is missing for environment {self.name!r} in {'/'.join(CONFIG_FILE)}")
            value = value[part]
        return value


@functools.cache
def settings(environment: str | None = None) -> Settings:
    import yaml

    name = environment or os.environ.get("PLATFORM_ENV", "local")
    path = include_path(*CONFIG_FILE)
    try:
        environments = yaml.safe_load(path.read_text())["environments"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise SettingsError(f"cannot read environments from {path}: {exc}") from exc
    if name not in environments:
        raise SettingsError(f"unknown PLATFORM_ENV {name!r}; {path} defines: {', '.join(sorted(environments))}")
    return Settings(name, environments[name])
