"""The deployable tree of a checkout: dags/, include/, plugins/, requirements.txt, startup.sh under one root."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from mwaa_local import bucket_sync, paths
from mwaa_local.errors import UserError


@dataclass(frozen=True)
class Tree:
    root: Path

    @property
    def dags(self) -> Path:
        return self.root / "dags"

    @property
    def include(self) -> Path:
        return self.root / "include"

    @property
    def plugins(self) -> Path:
        return self.root / "plugins"

    @property
    def requirements(self) -> Path:
        return self.root / "requirements.txt"

    @property
    def startup(self) -> Path:
        return self.root / "startup.sh"

    def check(self) -> Tree:
        if not self.dags.is_dir():
            raise UserError(f"{self.root} has no dags/ folder; pass the root of a checkout of this repository")
        return self

    def dag_files(self, prefix: str) -> dict[str, Path]:
        """Bucket key -> file for dags/** and include/** (include/ goes inside the DAG folder, as on MWAA)."""
        files = bucket_sync.tree_files(self.dags, prefix)
        if self.include.is_dir():
            files.update(bucket_sync.tree_files(self.include, prefix + "include/"))
        return files

    def fingerprint(self) -> str:
        """Content hash of everything validation looks at, and of the validators themselves (a changed rule
        or pin invalidates what was validated under the old one)."""
        digest = hashlib.sha256()
        validators = [paths.ROOT / "mwaa_local" / name for name in
                      ("dag_integrity.py", "dag_parse_worker.py", "requirements_check.py", "packaging.py")]
        sources = [*sorted(bucket_sync.tree_files(self.root / "dags", "dags/").items()),
                   *sorted(bucket_sync.tree_files(self.include, "include/").items()),
                   *sorted(bucket_sync.tree_files(self.plugins, "plugins/").items()),
                   *[(p.name, p) for p in (self.requirements, self.startup) if p.is_file()],
                   *[(f"tool:{p.name}", p) for p in [*validators, *sorted(paths.PINS.glob("*.txt"))]]]
        for name, path in sources:
            digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()


REPOSITORY = Tree(paths.ROOT)
