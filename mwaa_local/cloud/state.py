"""Durable state of the local cloud.

Every service's state (moto's backends and our own services) is snapshotted with pickle after each mutation and
written atomically (temp file, fsync, rename), so a crash mid-write leaves the previous snapshot intact.
S3 objects are stored once each as content-addressed blobs, so a snapshot after a PutObject rewrites the bucket
index, not every object's bytes. A big object's body (see s3_bodies) is a file of its own next to its blob, hard-linked
from the spool file it was written to: a snapshot never copies or reads it, and a restore leaves it on disk, read
when a client asks for it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import pickle
import shutil
import threading
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from mwaa_local.cloud import s3_bodies
from mwaa_local.errors import UserError

log = logging.getLogger(__name__)


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
    with open(tmp, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _link_or_copy(source: Path, target: Path) -> None:
    """A hard link (the spool file was fsynced when written); a streamed copy across file systems."""
    try:
        os.link(source, target)
    except OSError:
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(source, "rb") as reader, open(tmp, "wb") as writer:
            shutil.copyfileobj(reader, writer, s3_bodies.CHUNK)
            writer.flush()
            os.fsync(writer.fileno())
        os.replace(tmp, target)


class _BlobPickler(pickle.Pickler):
    """Pickles S3 objects (moto FakeKey) into separate blob files written once per distinct content+metadata."""

    def __init__(self, file: io.BytesIO, store: StateStore):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.store = store
        self.referenced: set[str] = set()

    def persistent_id(self, obj: Any) -> str | None:
        if type(obj).__name__ == "FakeKey" and type(obj).__module__ == "moto.s3.models":
            blob_id = self.store._blob_for_key(obj)
            self.referenced.add(blob_id)
            return blob_id
        return None


class _BlobUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BytesIO, store: StateStore, loaded: dict[str, Any]):
        super().__init__(file)
        self.store = store
        self.loaded = loaded  # one object per blob id keeps shared references shared
        self.referenced: set[str] = set()

    def persistent_load(self, pid: str) -> Any:
        self.referenced.add(pid)
        if pid not in self.loaded:
            key = _load_key(pickle.loads((self.store.blob_dir / pid).read_bytes()), self.store.blob_dir / _body_name(pid))
            self.loaded[pid] = key
            body = key._value_buffer
            if not (isinstance(body, s3_bodies.Body) and body.owned):  # an older blob with a big body inline is
                self.store._key_blob_ids[key] = (pid, body)  # rewritten at the next snapshot: body on disk
        return self.loaded[pid]


_KEY_FORMAT = "s3key/2"  # (format, FakeKey state without its body); the body is the file named by _body_name


def _body_name(blob_id: str) -> str:
    return blob_id.replace("s3key-", "s3body-", 1)


def _load_key(saved: Any, body_path: Path) -> Any:
    """A FakeKey from its blob: a pickled FakeKey (small body inline), or its state with the body left on disk."""
    if not (isinstance(saved, tuple) and saved and saved[0] == _KEY_FORMAT):
        return saved
    from moto.s3.models import FakeKey

    state = saved[1]
    key = FakeKey.__new__(FakeKey)
    key.__dict__.update(state)
    key._value_buffer = s3_bodies.Body(path=body_path, size=state["contentsize"])
    key.lock = threading.Lock()
    return key


class StateStore:
    """Snapshots named state providers under `root` (None = ephemeral: nothing is written)."""

    def __init__(self, root: Path | None):
        self.root = root
        self.blob_dir = root / "blobs" if root else Path("/nonexistent")
        self._providers: dict[str, tuple[Callable[[], Any], Callable[[Any], None]]] = {}
        self._recoveries: dict[str, Callable[[], bool]] = {}
        self._lock = threading.RLock()
        self._key_blob_ids: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # FakeKey -> (blob id, body)
        self._referenced: dict[str, set[str]] = {}  # snapshot name -> blob ids its file on disk refers to
        self._deleted: set[str] = set()
        if root:
            (root / "snapshots").mkdir(parents=True, exist_ok=True)
            self.blob_dir.mkdir(parents=True, exist_ok=True)
        # big bodies are written under the blob dir (same file system: a snapshot hard-links them in)
        s3_bodies.install()
        s3_bodies.SPOOL.configure(self.blob_dir / ".spool" if root else None, durable=bool(root))

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
        previous process died (statements, job runs: FAILED, see jobs.restart_error), when the store is persistent.
        It runs after all restores so it may use other services' state (e.g. write to CloudWatch Logs); returning
        True saves `name` at once, so the verdict survives another crash."""
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
                pickler = _BlobPickler(buffer, self)
                pickler.dump(snapshot())
                break
            except RuntimeError as exc:  # a concurrent read grew a dict mid-pickle; try again
                if attempt == 2:
                    raise
                log.debug("retrying snapshot of %s: %s", name, exc)
            except (pickle.PicklingError, TypeError, AttributeError) as exc:
                log.warning("state of %s cannot be persisted: %s", name, exc)
                return
        _atomic_write(self.root / "snapshots" / f"{name}.pkl", buffer.getvalue())
        previous, self._referenced[name] = self._referenced.get(name, set()), pickler.referenced
        self._remove_blobs(previous - pickler.referenced)

    def _remove_blobs(self, candidates: set[str]) -> None:
        """Blobs no snapshot on disk refers to any more (an overwritten or deleted object, a completed upload's
        parts), removed once the snapshot that dropped them is durable: disk use follows the data stored."""
        still_used = set().union(*self._referenced.values()) if candidates else set()
        for blob_id in candidates - still_used:
            self._deleted.add(blob_id)
            (self.blob_dir / blob_id).unlink(missing_ok=True)
            (self.blob_dir / _body_name(blob_id)).unlink(missing_ok=True)

    def _blob_for_key(self, key: Any) -> str:
        # moto replaces an object's FakeKey on every write, so an object already written keeps its blob: a
        # snapshot after one PutObject costs a lookup per other object, not a re-pickle. The few requests that
        # change a FakeKey in place (ACL, retention, legal hold, restore) call forget_s3_objects() first.
        body = key._value_buffer
        cached = self._key_blob_ids.get(key)
        if cached and cached[1] is body and cached[0] not in self._deleted:
            return cached[0]
        on_disk = isinstance(body, s3_bodies.Body) and body.on_disk
        key.etag  # noqa: B018 - computed (streamed) now so it is part of the fingerprint
        metadata = {k: v for k, v in key.__dict__.items() if k not in ("_value_buffer", "lock")}
        pickled = pickle.dumps(metadata, protocol=pickle.HIGHEST_PROTOCOL)
        fingerprint = hashlib.sha256(pickled + (b"body-on-disk" if on_disk else b"")).hexdigest()
        blob_id = f"s3key-{fingerprint}"
        path = self.blob_dir / blob_id
        if on_disk:
            body_path = self.blob_dir / _body_name(blob_id)
            if body.path != body_path:
                if not body_path.exists():
                    _link_or_copy(body.path, body_path)
                body.adopt(body_path)
            if not path.exists():
                _atomic_write(path, pickle.dumps((_KEY_FORMAT, metadata), protocol=pickle.HIGHEST_PROTOCOL))
        elif not path.exists():
            _atomic_write(path, pickle.dumps(key, protocol=pickle.HIGHEST_PROTOCOL))
        self._key_blob_ids[key] = (blob_id, body)
        self._deleted.discard(blob_id)
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
                unpickler = _BlobUnpickler(io.BytesIO(path.read_bytes()), self, loaded_blobs)
                restore(unpickler.load())
                self._referenced[name] = unpickler.referenced
                restored.append(name)
            except Exception as exc:  # a snapshot from an incompatible version must not stop the cloud
                log.error("could not restore %s from %s (%s); starting it empty", name, path, exc)
        self._collect_garbage(set(loaded_blobs))
        self._recover()
        return restored

    def _recover(self) -> None:
        for name, recover in self._recoveries.items():  # also without a snapshot: a service may keep its own records
            try:
                if recover():
                    self.save(name)
            except Exception:  # a failed recovery must not stop the cloud; the state stays as it was loaded
                log.exception("could not recover the in-flight work of %s", name)

    def _collect_garbage(self, referenced: set[str]) -> None:
        referenced = referenced | {_body_name(blob_id) for blob_id in referenced}
        for blob in self.blob_dir.iterdir():
            if blob.name not in referenced and not blob.name.startswith("."):
                blob.unlink(missing_ok=True)


LOCK_FILE = "cloud.lock"


class StateDirBusy(UserError):
    """Another local cloud holds the state directory (two writers would overwrite each other's snapshots)."""

    def __init__(self, state_dir: Path, holder: dict):
        self.state_dir, self.holder = state_dir, holder
        pid, port = holder.get("pid", "?"), holder.get("port", "?")
        super().__init__(f"state dir {state_dir} is in use by the local cloud with pid {pid} on port {port}; "
                         f"use that cloud (--port {port}), stop it (`./mwaa-local stop`, or Ctrl-C where it runs) "
                         "or pick another --state-dir")


class StateDirLock:
    """An exclusive OS lock (flock) on <state dir>/cloud.lock, held for the life of the cloud process: the kernel
    releases it when the process exits, even on kill -9, so a crash never leaves a stale lock behind. The file
    records who holds it (pid, port), for the error a second cloud prints."""

    def __init__(self, state_dir: Path):
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / LOCK_FILE
        self._fd: int | None = None

    def acquire(self, **holder: Any) -> StateDirLock:
        import fcntl
        import json
        import time

        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)  # not truncated: the holder's record stays readable
        except OSError as exc:
            raise UserError(f"cannot use {self.state_dir} as the state dir: {exc.strerror or exc}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StateDirBusy(self.state_dir, read_holder(self.state_dir)) from None
        record = json.dumps({"pid": os.getpid(), "started": time.time(), **holder}).encode()
        os.ftruncate(fd, 0)
        os.pwrite(fd, record, 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor drops the flock
            self._fd = None


def read_holder(state_dir: Path) -> dict:
    """Who holds (or last held) the state dir's lock: {"pid", "port", ...}, or {} if unknown."""
    import json

    try:
        return json.loads((Path(state_dir) / LOCK_FILE).read_text() or "{}")
    except (OSError, ValueError):
        return {}


def lock_holder(state_dir: Path) -> dict | None:
    """The holder's record if a running cloud holds the state dir's lock, else None (checked without taking it
    for longer than the check)."""
    import fcntl

    path = Path(state_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return read_holder(state_dir) or {"pid": "?", "port": "?"}
    finally:
        os.close(fd)
    return None
