"""What every service of the local cloud shares: the state store, S3 access, and where the cloud is reachable."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mwaa_local.cloud.moto_state import ACCOUNT_ID
from mwaa_local.cloud.s3_objects import S3Objects
from mwaa_local.cloud.state import StateStore


@dataclass
class CloudContext:
    store: StateStore
    endpoint_url: str
    region: str = "us-east-1"
    account_id: str = ACCOUNT_ID
    s3: S3Objects = field(init=False)
    # Each service's backend by name, for the few in-process lookups between services (redshift-data asks
    # redshift-serverless which workgroups exist).
    registry: dict[str, Any] = field(init=False, default_factory=dict)
    _scratch: Path | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.s3 = S3Objects(self.store)

    @property
    def state_dir(self) -> Path | None:
        """Where services keep data files (DuckDB warehouses, job workspaces); None when ephemeral."""
        return self.store.root

    def data_dir(self, service: str) -> Path:
        """A service's own folder: under the state dir, or a temporary one for an ephemeral cloud."""
        if self.store.root:
            path = self.store.root / service
        else:
            if self._scratch is None:  # one folder for all services, removed when the process exits
                self._scratch = Path(tempfile.mkdtemp(prefix="localcloud-ephemeral-"))
                atexit.register(shutil.rmtree, self._scratch, ignore_errors=True)
            path = self._scratch / service
        path.mkdir(parents=True, exist_ok=True)
        return path
