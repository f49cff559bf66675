"""Record-and-replay of dag_integrity's parse worker, so the mutation check can run the harness once per rule
without parsing every fixture again (a parse is a full Airflow import in a fresh interpreter, seconds each).

A run is keyed by everything it depends on that can change within a test session: the worker's source, the
arguments, and the files of the DAGs folder (a DAG file may import its siblings, and .airflowignore decides the
listing). The folder's own path is stored as a placeholder, so the same files in another temporary folder replay.
Rules are applied in the parent from the worker's findings, so replaying a run changes nothing a rule sees.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path

from mwaa_local import dag_integrity as di

FOLDER = "{{DAGS_FOLDER}}"


class CacheMiss(RuntimeError):
    pass


class ParseCache:
    def __init__(self, directory: Path, run_worker: Callable[..., di.WorkerRun], replay_only: bool = False):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.run_worker = run_worker
        self.replay_only = replay_only

    def __call__(self, dags_folder: Path, args: list[str], preimport: tuple[str, ...] = ()) -> di.WorkerRun:
        folder = str(Path(dags_folder).resolve())
        entry = self.directory / f"{self.key(folder, args, preimport)}.json"
        if entry.exists():
            return di.WorkerRun(**json.loads(entry.read_text().replace(FOLDER, folder)))
        if self.replay_only:
            raise CacheMiss(f"no recorded parse for {args} in {folder} (replay only: the baseline run records)")
        run = self.run_worker(dags_folder, args, preimport)
        scratch = entry.with_suffix(f".{os.getpid()}.tmp")
        scratch.write_text(json.dumps(dataclasses.asdict(run)).replace(folder, FOLDER))
        scratch.replace(entry)  # atomic: the harness parses two files at a time
        return run

    @staticmethod
    def key(folder: str, args: list[str], preimport: tuple[str, ...]) -> str:
        digest = hashlib.sha256(di.WORKER.read_bytes())
        digest.update(json.dumps([[a.replace(folder, FOLDER) for a in args], list(preimport)]).encode())
        for path in sorted(Path(folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
        return digest.hexdigest()
