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

    def fingerprint(self, *parts: str) -> str:
        """Content hash of the named parts of the tree ("dags", "include", "plugins", "requirements", "startup")
        and of the validators and pins (a changed rule or pin invalidates what was validated under the old one)."""
        trees = {"dags": self.dags, "include": self.include, "plugins": self.plugins}
        files = {"requirements": self.requirements, "startup": self.startup}
        sources: list[tuple[str, Path]] = []
        for part in parts or (*trees, *files):
            if part in trees:
                sources += sorted(bucket_sync.tree_files(trees[part], f"{part}/").items())
            elif files[part].is_file():
                sources.append((part, files[part]))
        validators = [paths.ROOT / "mwaa_local" / name for name in
                      ("dag_integrity.py", "dag_parse_worker.py", "requirements_check.py", "packaging.py")]
        sources += [(f"tool:{p.name}", p) for p in [*validators, *sorted(paths.PINS.glob("*.txt"))]]
        digest = hashlib.sha256()
        for name, path in sources:
            digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()


REPOSITORY = Tree(paths.ROOT)
