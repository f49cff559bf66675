"""plugins.zip extracted into $AIRFLOW_HOME/plugins, as MWAA does (Airflow puts that folder on sys.path)."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path, PurePosixPath

from mwaa_local.errors import UserError


def extract(archive: bytes, plugins_dir: Path) -> list[str]:
    """Replaces plugins_dir with the archive's contents; refuses entries that would land outside it.
    Extracts into a sibling folder first, so a bad archive leaves the previous plugins in place."""
    with zipfile.ZipFile(io.BytesIO(archive)) as zf:
        names = zf.namelist()
        for name in names:
            parts = PurePosixPath(name).parts
            if name.startswith("/") or ".." in parts:
                raise UserError(f"plugins.zip entry {name!r} points outside the plugins folder")
        staging = plugins_dir.with_name(plugins_dir.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        zf.extractall(staging)
    old = plugins_dir.with_name(plugins_dir.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if plugins_dir.exists():
        plugins_dir.rename(old)
    staging.rename(plugins_dir)
    shutil.rmtree(old, ignore_errors=True)
    return [n for n in names if not n.endswith("/")]
