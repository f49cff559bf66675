"""MWAA's container bootstrap in MWAA's order, reading what MWAA reads from the environment's bucket:
startup.sh (sourced, exports captured), requirements.txt (installed under the pins), plugins.zip (extracted),
dags/ (mirrored). Returns the environment every component then gets."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mwaa_local import bucket_sync
from mwaa_local.errors import UserError
from mwaa_local.runtime import plugins, requirements, settings, startup_script


class StartupScriptFailed(UserError):
    def __init__(self, result: startup_script.StartupResult):
        super().__init__(f"{result.failure}; nothing was started (report: ./mwaa-local test-startup-script)")
        self.result = result


@dataclass
class Bootstrapped:
    startup: startup_script.StartupResult | None
    requirements: requirements.RequirementsOutcome
    plugin_files: list[str]
    dags: bucket_sync.PullResult
    env: dict[str, str]


def _fetch(s3: Any, bucket: str, key: str, dest: Path) -> Path | None:
    try:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(body)
    return dest


def script_environment(layout: settings.RuntimeLayout, region: str) -> dict[str, str]:
    """What startup.sh sees: the container environment and MWAA's overridable defaults."""
    return {**settings.container_environment(layout, region), **settings.OVERRIDABLE_DEFAULTS}


def bootstrap(layout: settings.RuntimeLayout, s3: Any, bucket: str, region: str, work_dir: Path) -> Bootstrapped:
    home = layout.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    startup = None
    script = _fetch(s3, bucket, "startup.sh", work_dir / "startup.sh")
    if script:
        startup = startup_script.run(script, script_environment(layout, region), cwd=home)
        (work_dir / "startup-report.txt").write_text("\n".join(startup.report()) + "\n--- output ---\n"
                                                     + startup.output)
        if startup.failure:
            raise StartupScriptFailed(startup)
    wanted = _fetch(s3, bucket, "requirements.txt", work_dir / "requirements.txt")
    outcome = requirements.ensure(wanted) if wanted else requirements.RequirementsOutcome([], [], 0)
    zipped = _fetch(s3, bucket, "plugins.zip", work_dir / "plugins.zip")
    plugin_files = plugins.extract(zipped.read_bytes(), home / "plugins") if zipped else []
    pulled = bucket_sync.pull_dags(s3, bucket, home / "dags")
    env = settings.component_environment(layout, region, startup.exported if startup else {})
    return Bootstrapped(startup, outcome, plugin_files, pulled, env)
