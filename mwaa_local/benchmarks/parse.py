"""DagBag parse time per DAG file, in one interpreter (like a dag-processor that has already warmed up).

Pass 1 parses the files one after another; the first file is marked because it also pays for every import the
files share (Airflow's operator modules, providers). Pass 2 parses them again warm. Target: under 100 ms per
file after the first.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

from mwaa_local import arguments, paths

HELP = "DagBag parse time per DAG file (first file marked, then a warm second pass); target < 100 ms per file"
TARGET_MS = 100.0


def _prepare_environment(dags_folder: Path) -> None:
    """Must run before Airflow is imported: it reads its configuration at import time."""
    home = paths.local_state() / "bench" / "airflow-home"
    home.mkdir(parents=True, exist_ok=True)
    os.environ.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags_folder),
        "AIRFLOW__CORE__PLUGINS_FOLDER": str(paths.PLUGINS),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "CRITICAL",  # import errors are summarised below, not logged
        "_AIRFLOW_PROCESS_CONTEXT": "client",
    })


def _parse_ms(dagbag, file: str) -> tuple[float, int]:
    started = time.perf_counter()
    dags = dagbag.process_file(file, only_if_updated=False, safe_mode=False)
    return (time.perf_counter() - started) * 1000, len(dags)


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mwaa-local bench parse", description=HELP)
    parser.add_argument("--dags-folder", type=arguments.existing_directory, default=paths.DAGS)
    args = parser.parse_args(argv)
    dags_folder = args.dags_folder.resolve()
    _prepare_environment(dags_folder)
    warnings.filterwarnings("ignore", category=DeprecationWarning)

    started = time.perf_counter()
    from airflow.dag_processing.dagbag import BundleDagBag
    from airflow.dag_processing.importers import get_importer_registry

    airflow_ms = (time.perf_counter() - started) * 1000
    files = sorted(get_importer_registry().list_dag_files(str(dags_folder), safe_mode=False))
    if not files:
        print(f"no DAG files in {dags_folder}")
        return 1
    dagbag = BundleDagBag(dag_folder=str(dags_folder), bundle_path=dags_folder, bundle_name="dags-folder",
                          collect_dags=False, load_op_links=False)
    first = [_parse_ms(dagbag, f) for f in files]
    warm = [_parse_ms(dagbag, f) for f in files]

    print(f"Airflow import (once per interpreter): {airflow_ms:.0f} ms")
    width = max(len(os.path.relpath(f, dags_folder)) for f in files)
    print(f"{'file':<{width}}  {'pass 1 ms':>9}  {'warm ms':>8}  dags  {'':<6}")
    for index, file in enumerate(files):
        (cold_ms, dag_count), (warm_ms, _) = first[index], warm[index]
        after_first = cold_ms if index else warm_ms  # the first file's pass-1 time is mostly shared imports
        verdict = "ok" if after_first < TARGET_MS else f"SLOW (> {TARGET_MS:.0f} ms)"
        mark = " (first: pays shared imports)" if index == 0 else ""
        print(f"{os.path.relpath(file, dags_folder):<{width}}  {cold_ms:>9.1f}  {warm_ms:>8.1f}  {dag_count:>4}  "
              f"{verdict}{mark}")
    total_first, total_warm = sum(t for t, _ in first), sum(t for t, _ in warm)
    print(f"{'total':<{width}}  {total_first:>9.1f}  {total_warm:>8.1f}  {sum(n for _, n in first):>4}")
    for file, error in sorted(dagbag.import_errors.items()):
        print(f"import error: {file}: {error.strip().splitlines()[-1]}")
    if dagbag.import_errors:
        return 1
    return 0
