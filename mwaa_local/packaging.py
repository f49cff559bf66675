"""Builds plugins.zip the way MWAA wants it, and proves every module in it imports from the zip alone.

MWAA unzips plugins.zip into its plugins folder, so the CONTENTS of plugins/ go at the zip root (a leading
`plugins/` would make every import path wrong). Entries are 0o755, bytecode is left out, and the archive is
byte-for-byte reproducible (sorted entries, fixed timestamps) so an unchanged plugins/ never yields a new S3 version.
The import check runs where MWAA runs the plugins: the zip extracted into a scratch $AIRFLOW_HOME/plugins/, with
dags/include/ beside the DAGs, in an environment stripped of the caller's variables.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from mwaa_local import paths
from mwaa_local.errors import UserError

PLUGINS_ZIP = paths.DIST / "plugins.zip"
FIXED_DATE = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip can hold
FILE_MODE = 0o100755  # regular file, rwxr-xr-x
DIR_MODE = 0o040755
SKIPPED_DIRS = {"__pycache__"}
SKIPPED_SUFFIXES = {".pyc", ".pyo"}
SKIPPED_NAMES = {".DS_Store"}


@dataclass(frozen=True)
class ImportFailure:
    module: str
    error: str

    def __str__(self) -> str:
        return f"{self.module}: {self.error}"


def _entries(source: Path) -> list[tuple[str, Path]]:
    """(archive name, path) for every directory and file to ship, sorted."""
    found = []
    for root, dirs, files in os.walk(source):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        base = Path(root)
        rel = base.relative_to(source).as_posix()
        if rel != ".":
            found.append((rel + "/", base))
        for name in sorted(files):
            path = base / name
            if name in SKIPPED_NAMES or path.suffix in SKIPPED_SUFFIXES:
                continue
            found.append((path.relative_to(source).as_posix(), path))
    return sorted(found)


def build(source: Path = paths.PLUGINS, dest: Path = PLUGINS_ZIP) -> Path:
    if not source.is_dir():
        raise UserError(f"{source} does not exist; nothing to package")
    entries = _entries(source)
    if not any(not name.endswith("/") for name, _ in entries):
        raise UserError(f"{source} holds no files; nothing to package")
    dest.parent.mkdir(parents=True, exist_ok=True)
    # Never leave a half-written plugins.zip behind, and never share the partial file with another build running at
    # the same time (`up` and `deploy`, or two test workers): a name of its own, then an atomic rename.
    handle, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".partial")
    os.close(handle)
    partial = Path(name)
    try:
        _write(partial, entries)
        partial.chmod(0o644)  # mkstemp's 0600 would follow the rename
        partial.replace(dest)
    finally:
        partial.unlink(missing_ok=True)
    return dest


def _write(partial: Path, entries: list[tuple[str, Path]]) -> None:
    with zipfile.ZipFile(partial, "w") as archive:
        for name, path in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.create_system = 3  # Unix, so that external_attr is read as a mode
            if name.endswith("/"):
                info.external_attr = (DIR_MODE << 16) | 0x10  # 0x10: MS-DOS directory flag
                archive.writestr(info, b"")
            else:
                info.external_attr = FILE_MODE << 16
                info.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(info, path.read_bytes(), compresslevel=9)


def modules_in(zip_path: Path) -> list[str]:
    """Importable module names in the archive (packages by their __init__)."""
    with zipfile.ZipFile(zip_path) as archive:
        names = [n for n in archive.namelist() if n.endswith(".py")]
    modules = []
    for name in names:
        parts = name[: -len(".py")].split("/")
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts and all(p.isidentifier() for p in parts):
            modules.append(".".join(parts))
    return sorted(modules)


# Runs in the fresh interpreter: the plugins folder first on sys.path, as Airflow puts it; checks each module
# really came from there, not from an installed package of the same name.
_IMPORT_ALL = """
import importlib, json, sys, traceback
plugins_dir, modules = sys.argv[1], sys.argv[2:]
sys.path.insert(0, plugins_dir)
failures = {}
for name in modules:
    try:
        module = importlib.import_module(name)
        origin = getattr(module, "__file__", None) or ""
        if not origin.startswith(plugins_dir + "/"):
            failures[name] = f"imported from {origin!r}, not from plugins.zip"
    except BaseException as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        where = f" ({frames[-1].filename}:{frames[-1].lineno})" if frames else ""
        failures[name] = f"{type(exc).__name__}: {exc}{where}"
print(json.dumps(failures))
"""

# The only variables the check inherits from the caller's shell: what finds programs, the home, the locale.
# Anything else (AIRFLOW__*, PYTHONPATH, PLATFORM_ENV, MWAA_INCLUDE_DIR, ...) would let a module pass here that
# fails on MWAA.
INHERITED_ENV = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")


def mwaa_layout(airflow_home: Path, zip_path: Path, include: Path | None) -> dict[str, Path]:
    """An MWAA-like $AIRFLOW_HOME: dags/ (with dags/include/ as deployed), plugins/ = the zip's contents."""
    layout = {"dags": airflow_home / "dags", "plugins": airflow_home / "plugins"}
    for folder in layout.values():
        folder.mkdir(parents=True, exist_ok=True)
    if include is not None and include.is_dir():
        shutil.copytree(include, layout["dags"] / "include", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(layout["plugins"])
    return layout


def clean_environment(airflow_home: Path, layout: dict[str, Path]) -> dict[str, str]:
    env = {k: os.environ[k] for k in INHERITED_ENV if k in os.environ}
    env.update({
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(layout["dags"]),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(layout["plugins"]),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
    })
    return env


def verify_imports(zip_path: Path = PLUGINS_ZIP, include: Path | None = paths.INCLUDE) -> list[ImportFailure]:
    """Imports every module of the zip in a fresh isolated interpreter (-I: no repo, no PYTHONPATH) inside an
    MWAA-like scratch $AIRFLOW_HOME (the zip extracted into plugins/, `include` copied to dags/include/), with a
    clean environment."""
    zip_path = Path(zip_path).resolve()
    modules = modules_in(zip_path)
    if not modules:
        return []
    with tempfile.TemporaryDirectory(prefix="mwaa-package-check-") as scratch:
        airflow_home = Path(scratch).resolve() / "airflow"
        layout = mwaa_layout(airflow_home, zip_path, include)
        empty_cwd = Path(scratch) / "cwd"
        empty_cwd.mkdir()
        proc = subprocess.run(
            [sys.executable, "-I", "-c", _IMPORT_ALL, str(layout["plugins"]), *modules],
            cwd=empty_cwd, env=clean_environment(airflow_home, layout), capture_output=True, text=True,
            stdin=subprocess.DEVNULL, timeout=300,
        )
    try:
        failures = json.loads(proc.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        tail = (proc.stdout + proc.stderr).strip()[-2000:]
        return [ImportFailure("<interpreter>", f"import check crashed (exit {proc.returncode}): {tail}")]
    return [ImportFailure(name, error) for name, error in sorted(failures.items())]
