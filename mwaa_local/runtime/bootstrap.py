"""MWAA's container bootstrap in MWAA's order, reading what MWAA reads from the environment's bucket:
startup.sh (sourced, exports captured), requirements.txt (installed under the pins), plugins.zip (extracted),
dags/ (mirrored). Returns the environment every component then gets.

Two phases, so an UpdateEnvironment can fail without touching what runs: `prepare` (fetch the objects at the
versions asked for, source startup.sh, install requirements) changes nothing of $AIRFLOW_HOME; `apply` (plugins,
dags, the environment) does, and runs only once `prepare` succeeded."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mwaa_local import bucket_sync
from mwaa_local.errors import UserError
from mwaa_local.runtime import plugins, requirements, settings, startup_script

# role -> the key MWAA reads it from in the bucket (the local environment's paths: include/config/deploy.yaml)
DEFAULT_KEYS = {"startup": "startup.sh", "requirements": "requirements.txt", "plugins": "plugins.zip"}


class StartupScriptFailed(UserError):
    def __init__(self, result: startup_script.StartupResult):
        super().__init__(f"{result.failure}; nothing was started (report: ./mwaa-local test-startup-script)")
        self.result = result


@dataclass
class Wanted:
    """Which object of the bucket each role reads: its key and version (None: the latest)."""
    bucket: str
    keys: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_KEYS))
    versions: dict[str, str | None] = field(default_factory=dict)


@dataclass
class Prepared:
    wanted: Wanted
    startup: startup_script.StartupResult | None
    requirements: requirements.RequirementsOutcome
    plugins_zip: Path | None
    versions: dict[str, str]  # role -> the version id actually read (what now runs, once applied)


@dataclass
class Bootstrapped:
    startup: startup_script.StartupResult | None
    requirements: requirements.RequirementsOutcome
    plugin_files: list[str]
    dags: bucket_sync.PullResult
    env: dict[str, str]
    versions: dict[str, str] = field(default_factory=dict)


def _fetch(s3: Any, bucket: str, key: str, version: str | None, dest: Path) -> tuple[Path, str] | None:
    """(file, version id) of the object, or None when there is no such key (at that version)."""
    try:
        answer = s3.get_object(Bucket=bucket, Key=key, **({"VersionId": version} if version else {}))
    except s3.exceptions.NoSuchKey:
        return None
    except s3.exceptions.ClientError as exc:
        if version and exc.response["Error"]["Code"] in ("NoSuchVersion", "InvalidArgument", "404"):
            raise UserError(f"s3://{bucket}/{key} has no version {version}") from None
        raise
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(answer["Body"].read())
    return dest, answer.get("VersionId") or ""


def script_environment(layout: settings.RuntimeLayout, region: str) -> dict[str, str]:
    """What startup.sh sees: the container environment and MWAA's overridable defaults."""
    return {**settings.container_environment(layout, region), **settings.OVERRIDABLE_DEFAULTS}


def prepare(layout: settings.RuntimeLayout, s3: Any, wanted: Wanted, region: str, work_dir: Path,
            destinations: dict[str, Path] | None = None) -> Prepared:
    """startup.sh sourced, requirements.txt installed: StartupScriptFailed / InstallFailed (UserError) on failure,
    with $AIRFLOW_HOME's dags/ and plugins/ untouched. Each file lands in work_dir, or where `destinations` puts
    its role (the compose services use MWAA's paths)."""
    home = layout.airflow_home
    home.mkdir(parents=True, exist_ok=True)
    fetched: dict[str, tuple[Path, str]] = {}
    for role, key in wanted.keys.items():
        dest = (destinations or {}).get(role) or work_dir / Path(key).name
        got = _fetch(s3, wanted.bucket, key, wanted.versions.get(role), dest)
        if got:
            fetched[role] = got
    startup = None
    if "startup" in fetched:
        startup = startup_script.run(fetched["startup"][0], script_environment(layout, region), cwd=home)
        (work_dir / "startup-report.txt").write_text("\n".join(startup.report()) + "\n--- output ---\n"
                                                     + startup.output)
        if startup.failure:
            raise StartupScriptFailed(startup)
    outcome = requirements.ensure(fetched["requirements"][0]) if "requirements" in fetched \
        else requirements.RequirementsOutcome([], [], 0)
    return Prepared(wanted, startup, outcome, fetched["plugins"][0] if "plugins" in fetched else None,
                    {role: version for role, (_, version) in fetched.items()})


def apply(prepared: Prepared, layout: settings.RuntimeLayout, s3: Any, region: str) -> Bootstrapped:
    home = layout.airflow_home
    plugin_files = plugins.extract(prepared.plugins_zip.read_bytes(), home / "plugins") if prepared.plugins_zip \
        else []
    pulled = bucket_sync.pull_dags(s3, prepared.wanted.bucket, home / "dags")
    env = settings.component_environment(layout, region, prepared.startup.exported if prepared.startup else {})
    return Bootstrapped(prepared.startup, prepared.requirements, plugin_files, pulled, env, prepared.versions)


def bootstrap(layout: settings.RuntimeLayout, s3: Any, bucket: str, region: str, work_dir: Path,
              wanted: Wanted | None = None, destinations: dict[str, Path] | None = None) -> Bootstrapped:
    """Both phases: the latest objects of `bucket` unless `wanted` names versions."""
    return apply(prepare(layout, s3, wanted or Wanted(bucket), region, work_dir, destinations), layout, s3, region)
