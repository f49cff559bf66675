"""Finds include/ the same way locally and on MWAA.

On MWAA, include/ is deployed beside the DAG files (s3://<bucket>/dags/include/ -> $DAGS_FOLDER/include);
in this repository it sits next to dags/. MWAA_INCLUDE_DIR overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path


def include_dir() -> Path:
    override = os.environ.get("MWAA_INCLUDE_DIR")
    if override:
        return Path(override)
    dags_folder = Path(os.environ.get("AIRFLOW__CORE__DAGS_FOLDER", Path(__file__).resolve().parents[2] / "dags"))
    for candidate in (dags_folder / "include", dags_folder.parent / "include"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"include/ not found beside {dags_folder}; deploy it to s3://<bucket>/dags/include/ or set MWAA_INCLUDE_DIR"
    )


def include_path(*parts: str) -> Path:
    return include_dir().joinpath(*parts)
