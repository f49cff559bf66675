"""Durable state of the local cloud.

Every service's state (moto's backends and our own services) is snapshotted with pickle after each mutation and
written atomically (temp file, fsync, rename), so a crash mid-write leaves the previous snapshot intact.
S3 objects are stored once each as content-addressed blobs, so a snapshot after a PutObject rewrites the bucket
index, not every object's bytes.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class _BlobPickler(pickle.Pickler):
    """Pickles S3 objects (moto FakeKey) into separate blob files written once per distinct content+metadata."""

    def __init__(self, file: io.BytesIO, store: StateStore):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.store = store

    def persistent_id(self, obj: Any) -> str | None:
        if type(obj).__name__ == "FakeKey" and type(obj).__module__ == "moto.s3.models":
            return self.store._blob_for_key(obj)
        return None


class _BlobUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, store: StateStore, loaded: dict[str, Any]):
        super().__init__(file)
        self.store = store
        self.loaded = loaded  # one object per blob id keeps shared references shared

    def persistent_load(self, pid: str) -> Any:
        if pid not in self.loaded:
            self.loaded[pid] = pickle.loads((self.store.blob_dir / pid).read_bytes())
            self.store._key_blob_ids[self.loaded[pid]] = pid
        return self.loaded[pid]


class StateStore:
    """Snapshots named state providers under `root` (None = ephemeral: nothing is written)."""

    def __init__(self, root: Path | None):
        self.root = root
        self.blob_dir = root / "blobs" if root else Path("/nonexistent")
        self._providers: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {}
        self._recoveries: dict[str, Callable[[], bool]] = {}
        self._lock = threading.RLock()
        self._key_blob_ids: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        if root:
            (root / "snapshots").mkdir(parents=True, exist_ok=True)
            self.blob_dir.mkdir(parents=True, exist_ok=True)

    @property
    def persistent(self) -> bool:
        return self.root is not None

    def is_registered(self, name: str) -> bool:
        return name in self._providers

    def register(self, name: str, snapshot: Callable[[], Any], restore: Callable[[Any], None]) -> None:
        """`snapshot()` returns a picklable object; `restore(obj)` puts it back after a restart."""
        self._providers[name] = (snapshot, restore)

    def register_recovery(self, name: str, recover: Callable[[], bool]) -> None:
        """`recover()` runs once after every snapshot is restored, to settle the work that was in flight when the
        previous process died (statements, job runs: FAILED, see jobs.restart_error). It runs after all restores so
        it may use other services' state (e.g. write to CloudWatch Logs); returning True saves `name` at once, so
        the verdict survives another crash."""
        self._recoveries[name] = recover

    @contextmanager
    def mutation(self, *names: str) -> Iterator[None]:
        """Serialises a change to the named states and makes it durable before returning."""
        with self._lock:
            yield
            self.save(*names)

    def save(self, *names: str) -> None:
        if not self.root:
            return
        with self._lock:
            for name in names:
                if name in self._providers:
                    self._save_one(name)

    def _save_one(self, name: str) -> None:
        snapshot, _ = self._providers[name]
        for attempt in range(3):
            buffer = io.BytesIO()
            try:
                _BlobPickler(buffer, self).dump(snapshot())
                break
            except RuntimeError as exc:  # a concurrent read grew a dict mid-pickle; try again
                if attempt == 2:
                    raise
                log.debug("retrying snapshot of %s: %s", name, exc)
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                log.warning("state of %s cannot be persisted: %s", name, exc)
                return
        _atomic_write(self.root / "snapshots" / f"{name}.pkl", buffer.getvalue())

    def _blob_for_key(self, key: Any) -> str:
        # moto replaces an object's FakeKey on every write, so an object already written keeps its blob: a
        # snapshot after one PutObject costs a lookup per other object, not a re-pickle. The few requests that
        # change a FakeKey in place (ACL, retention, legal hold, restore) call forget_s3_objects() first.
        cached = self._key_blob_ids.get(key)
        if cached:
            return cached
        metadata = {k: v for k, v in key.__dict__.items() if k not in ("_value_buffer", "lock")}
        fingerprint = hashlib.sha256(pickle.dumps(metadata, protocol=pickle.HIGHEST_PROTOCOL)).hexdigest()
        blob_id = f"s3key-{fingerprint}"
        path = self.blob_dir / blob_id
        if not path.exists():
            _atomic_write(path, pickle.dumps(key, protocol=pickle.HIGHEST_PROTOCOL))
        self._key_blob_ids[key] = blob_id
        return blob_id

    def forget_s3_objects(self) -> None:
        """Re-fingerprint every S3 object at the next snapshot (after a request that mutates one in place)."""
        self._key_blob_ids = weakref.WeakKeyDictionary()

    def restore_all(self) -> list[str]:
        """Loads every snapshot found; returns the names restored. Unreferenced blobs are removed."""
        if not self.root:
            return []
        restored, loaded_blobs = [], {}
        for name, (_, restore) in self._providers.items():
            path = self.root / "snapshots" / f"{name}.pkl"
            if not path.exists():
                continue
            try:
                restore(_BlobUnpickler(io.BytesIO(path.read_bytes()), self, loaded_blobs).load())
                restored.append(name)
            except Exception as exc:  # a snapshot from an incompatible version must not stop the cloud
                log.error("could not restore %s from %s (%s); starting it empty", name, path, exc)
        self._collect_garbage(set(loaded_blobs))
        self._recover(restored)
        return restored

    def _recover(self, restored: list[str]) -> None:
        for name in restored:
            recover = self._recoveries.get(name)
            try:
                if recover is not None and recover():
                    self.save(name)
            except Exception:  # a failed recovery must not stop the cloud; the state stays as it was loaded
                log.exception("could not recover the in-flight work of %s", name)

    def _collect_garbage(self, referenced: set[str]) -> None:
        for blob in self.blob_dir.iterdir():
            if blob.name not in referenced and not blob.name.startswith("."):
                blob.unlink(missing_ok=True)
