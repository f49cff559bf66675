"""In-process access to moto's backends: our services read and write S3, the Glue catalog and CloudWatch Logs
directly instead of over HTTP, under the state store's mutation lock so every change is persisted."""

from __future__ import annotations

from typing import Any

from moto.backends import get_backend
from moto.core import DEFAULT_ACCOUNT_ID

from mwaa_local.cloud.state import StateStore

ACCOUNT_ID = DEFAULT_ACCOUNT_ID


def snapshot_name(backend: str) -> str:
    return f"moto.{backend}"


def register_moto_backend(store: StateStore, backend: str) -> str:
    """Persists moto's `backend` through the store (once; later calls are no-ops); returns its snapshot name.
    Every writer of a moto backend, over HTTP or in-process, goes through this before its first mutation."""
    name = snapshot_name(backend)
    if store.is_registered(name):
        return name
    live = get_backend(backend)

    def restore(saved: dict) -> None:
        live.clear()
        live.update(saved)

    store.register(name, lambda: dict(live), restore)
    return name


def backend(name: str, region: str = "us-east-1", account_id: str = ACCOUNT_ID) -> Any:
    backends = get_backend(name)[account_id]
    return backends["aws"] if name in ("s3", "iam", "sts") and "aws" in backends else backends[region]


def s3() -> Any:
    return get_backend("s3")[ACCOUNT_ID]["aws"]


def _rebuild_versioned_keys(lists: dict[str, list]) -> Any:
    from moto.s3.utils import _VersionedKeyStore

    store = _VersionedKeyStore()
    for name, versions in lists.items():
        store.setlist(name, versions)
    return store


def _reduce_versioned_keys(store: Any) -> tuple:
    # moto's bucket.keys is a dict whose items() yields only each key's latest version, which is all that
    # pickle's default for a dict subclass would save: every version is kept here (dict(store) has the lists).
    return _rebuild_versioned_keys, (dict(store),)


def _keep_every_s3_version() -> None:
    import copyreg

    from moto.s3.utils import _VersionedKeyStore

    copyreg.pickle(_VersionedKeyStore, _reduce_versioned_keys)


_keep_every_s3_version()
