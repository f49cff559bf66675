"""S3 object bodies on disk, so the local cloud's memory does not grow with the data it stores.

moto keeps each object's body in a SpooledTemporaryFile (`FakeKey._value_buffer`), builds a completed multipart
upload in one bytearray and answers GetObject with the whole body as bytes. `install()` changes three things:
- a body up to SPOOL_LIMIT stays in memory; a bigger one is a file (in the spool dir until a snapshot hard-links it
  into the state's blob dir), opened per read so no descriptor is held per object;
- CompleteMultipartUpload concatenates the parts file to file, checksums computed chunk by chunk;
- GetObject answers with a view of the body file that the WSGI server sends chunk by chunk (ranges included);
- CopyObject hard-links the source's body file instead of reading it.
"""

from __future__ import annotations

import atexit
import binascii
import codecs
import io
import os
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

SPOOL_LIMIT = int(os.environ.get("MWAA_LOCAL_S3_SPOOL_BYTES", 1024 * 1024))
CHUNK = 8 * 1024 * 1024
_SPOOL_PREFIX = "mwaa-local-s3-"


class _Spool:
    """Where new big bodies are written: <state>/blobs/.spool (fsynced) for a persistent cloud, else a temp dir."""

    def __init__(self) -> None:
        self.dir: Path | None = None
        self.durable = False

    def configure(self, directory: Path | None, durable: bool) -> None:
        if directory is None:
            _remove_stale_temp_spools()
            directory = Path(tempfile.mkdtemp(prefix=f"{_SPOOL_PREFIX}{os.getpid()}-"))
            atexit.register(shutil.rmtree, directory, True)
        else:
            shutil.rmtree(directory, ignore_errors=True)  # bodies of writes that never reached a snapshot
            directory.mkdir(parents=True, exist_ok=True)
        self.dir, self.durable = directory, durable

    def new_file(self) -> tuple[Path, BinaryIO]:
        if self.dir is None:
            self.configure(None, durable=False)
        fd, name = tempfile.mkstemp(dir=self.dir, suffix=".body")
        return Path(name), os.fdopen(fd, "wb")


SPOOL = _Spool()


def _remove_stale_temp_spools() -> None:
    """Temp spools of ephemeral clouds that died without cleaning up (kill -9)."""
    for entry in Path(tempfile.gettempdir()).glob(f"{_SPOOL_PREFIX}*"):
        pid = entry.name.removeprefix(_SPOOL_PREFIX).partition("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(entry, ignore_errors=True)


class Body:
    """A FakeKey's `_value_buffer`: bytes in memory, or a file read on demand. Read-only: moto replaces a key's
    body by assigning `key.value`, which builds a new Body."""

    def __init__(self, data: bytes | None = None, path: Path | None = None, size: int = 0, owned: bool = False):
        self._data = data
        self.path = path  # None when in memory
        self.size = len(data) if data is not None else size
        self.owned = owned  # a spool file this body deletes when disposed; blob files belong to the state store
        self._pos = 0
        self.closed = False

    @property
    def on_disk(self) -> bool:
        return self.path is not None

    def seek(self, pos: int, whence: int = 0) -> int:
        self._pos = pos if whence == 0 else (self._pos + pos if whence == 1 else self.size + pos)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        if self._data is not None:
            end = self.size if n is None or n < 0 else self._pos + n
            chunk = self._data[self._pos:end]
        else:
            with self.open() as handle:
                handle.seek(self._pos)
                chunk = handle.read(n)
        self._pos += len(chunk)
        return chunk

    def open(self) -> BinaryIO:
        """A handle of its own on the body (an open file survives the object being overwritten or deleted)."""
        if self._data is not None:
            return io.BytesIO(self._data)
        for _ in range(3):
            path = self.path
            try:
                return open(path, "rb")  # noqa: SIM115 - the caller owns the handle
            except FileNotFoundError:
                if path == self.path:  # not a concurrent move into the blob dir
                    raise
        return open(self.path, "rb")  # noqa: SIM115

    def chunks(self, start: int = 0, length: int | None = None) -> Iterator[bytes]:
        return iter(BodyView(self, start, length))

    def clone(self) -> Body:
        """Another object's body with the same bytes (CopyObject): a hard link to the same immutable file."""
        if self._data is not None:
            return Body(data=self._data)
        if SPOOL.dir is None:
            SPOOL.configure(None, durable=False)
        target = SPOOL.dir / f"{uuid.uuid4().hex}.body"
        try:
            os.link(self.path, target)
        except OSError:  # another file system: a streamed copy
            with self.open() as reader:
                return from_file(reader)
        return Body(path=target, size=self.size, owned=True)

    def adopt(self, path: Path) -> None:
        """The body now lives at `path` (a hard link in the blob dir); the spool file goes."""
        old, self.path = self.path, path
        if self.owned and old is not None and old != path:
            old.unlink(missing_ok=True)
        self.owned = False

    def close(self) -> None:
        if self.owned and self.path is not None:
            self.path.unlink(missing_ok=True)
        self.owned, self.closed = False, True


def from_bytes(value: bytes | bytearray | memoryview | str) -> Body:
    if isinstance(value, str):
        value = value.encode("utf-8")
    if len(value) <= SPOOL_LIMIT:
        return Body(data=bytes(value))
    return from_chunks(memoryview(value)[i:i + CHUNK] for i in range(0, len(value), CHUNK))


def from_chunks(chunks: Iterable[bytes | memoryview]) -> Body:
    """A body from a stream: in memory while it stays small, spilled to a spool file past SPOOL_LIMIT."""
    pending: list[bytes] = []
    pending_size = 0
    path, handle = None, None
    try:
        for chunk in chunks:
            if handle is None:
                pending.append(bytes(chunk))
                pending_size += len(chunk)
                if pending_size <= SPOOL_LIMIT:
                    continue
                path, handle = SPOOL.new_file()
                for piece in pending:
                    handle.write(piece)
                pending = []
            else:
                handle.write(chunk)
                pending_size += len(chunk)
        if handle is None:
            return Body(data=b"".join(pending))
        handle.flush()
        if SPOOL.durable:
            os.fsync(handle.fileno())
        handle.close()
        return Body(path=path, size=pending_size, owned=True)
    except BaseException:
        if handle is not None:
            handle.close()
            path.unlink(missing_ok=True)
        raise


def from_file(source: BinaryIO) -> Body:
    return from_chunks(iter(lambda: source.read(CHUNK), b""))


class BodyView:
    """A byte range of a body that the WSGI server iterates chunk by chunk; supports len() and slicing, which is
    all moto's GetObject (and its Range handling) does with a body. The file is opened when the view is made, so
    an overwrite or delete during the download does not cut it short."""

    def __init__(self, body: Body, start: int = 0, length: int | None = None, handle: BinaryIO | None = None):
        self._handle = handle or body.open()
        self._body, self._start = body, start
        self._length = max(0, (body.size - start) if length is None else min(length, body.size - start))

    def __len__(self) -> int:
        return self._length

    def __bool__(self) -> bool:
        return self._length > 0

    def __getitem__(self, item: slice) -> BodyView:
        begin, end, step = item.indices(self._length)
        if step != 1:
            raise ValueError("a body view is sliced with step 1 only")
        return BodyView(self._body, self._start + begin, max(0, end - begin), self._handle)

    def __iter__(self) -> Iterator[bytes]:
        position, remaining = self._start, self._length
        while remaining > 0:
            if isinstance(self._handle, io.BytesIO):
                self._handle.seek(position)
                chunk = self._handle.read(min(CHUNK, remaining))
            else:
                chunk = os.pread(self._handle.fileno(), min(CHUNK, remaining), position)
            if not chunk:
                break
            position += len(chunk)
            remaining -= len(chunk)
            yield chunk

    def close(self) -> None:
        self._handle.close()


_streaming = threading.local()


def install() -> None:
    """Patches moto's S3 models once (idempotent)."""
    from moto.s3 import models, responses

    if getattr(models.FakeKey, "_mwaa_local_bodies", False):
        return
    read_value = models.FakeKey.value.fget

    def get_value(key: Any) -> Any:
        body = key._value_buffer
        if isinstance(body, Body) and body.on_disk:
            if getattr(_streaming, "active", False):
                return BodyView(body)
            if getattr(_streaming, "copying", False):
                return body.clone()
        return read_value(key)

    def set_value(key: Any, new_value: Any) -> None:
        body = new_value if isinstance(new_value, Body) else from_bytes(new_value)
        old = getattr(key, "_value_buffer", None)
        key._value_buffer = body
        key.contentsize = body.size
        if old is not None and old is not body:
            old.close()

    models.FakeKey.value = property(get_value, set_value)

    def get_object(self: Any) -> Any:
        _streaming.active = True
        try:
            return original_get_object(self)
        finally:
            _streaming.active = False

    original_get_object = responses.S3Response.get_object
    responses.S3Response.get_object = get_object

    def copy_object(self: Any, *args: Any, **kwargs: Any) -> Any:
        _streaming.copying = True
        try:
            return original_copy_object(self, *args, **kwargs)
        finally:
            _streaming.copying = False

    original_copy_object = models.S3Backend.copy_object
    models.S3Backend.copy_object = copy_object
    models.FakeMultipart.complete = _complete_multipart
    models.FakeKey._mwaa_local_bodies = True


def _complete_multipart(self: Any, body: Iterator[tuple[int, str]]) -> tuple[Body, str, tuple | None]:
    """moto's FakeMultipart.complete, file to file: same validation, ETag and checksums, no whole-object buffer."""
    from moto.s3.exceptions import EntityTooSmall, InvalidPart, MalformedXML
    from moto.s3.models import S3_UPLOAD_PART_MIN_SIZE
    from moto.s3.utils import compute_checksum
    from moto.utilities.utils import md5_hash

    algorithm = self.metadata.get("x-amz-checksum-algorithm") or "CRC64NVME"
    checksum_type = self.metadata.get("x-amz-checksum-type") or (
        "FULL_OBJECT" if algorithm == "CRC64NVME" else "COMPOSITE")
    decode_hex = codecs.getdecoder("hex_codec")
    parts, md5s, last = [], bytearray(), None
    for number, etag in body:
        part = self.parts.get(number)
        if part is None or part.etag.replace('"', "") != etag.replace('"', ""):
            raise InvalidPart()
        if last is not None and last.contentsize < S3_UPLOAD_PART_MIN_SIZE:
            raise EntityTooSmall()
        md5s.extend(decode_hex(part.etag.replace('"', ""))[0])
        parts.append(part)
        last = part
    if not parts:
        raise MalformedXML
    composite, full = bytearray(), _RunningChecksum(algorithm)

    def chunks() -> Iterator[bytes]:
        for part in parts:
            if checksum_type == "COMPOSITE":
                composite.extend(compute_checksum(part.value, algorithm, encode_base64=False))
            for chunk in part._value_buffer.chunks() if isinstance(part._value_buffer, Body) else [part.value]:
                if checksum_type != "COMPOSITE":
                    full.update(chunk)
                yield chunk

    value = from_chunks(chunks())
    for part in self.parts.values():  # the object has the bytes now; a part keeps its size and ETag only
        part._etag = part.etag.strip('"')
        released = Body(data=b"")
        old, part._value_buffer = part._value_buffer, released
        old.close()
    full_etag = md5_hash()
    full_etag.update(bytes(md5s))
    if checksum_type == "COMPOSITE":
        checksum = (checksum_type, compute_checksum(bytes(composite), algorithm).decode(), len(parts))
    else:
        checksum = (checksum_type, full.base64(), len(parts))
    return value, f"{full_etag.hexdigest()}-{len(parts)}", checksum


class _RunningChecksum:
    """moto's compute_checksum(whole body, algorithm), computed chunk by chunk."""

    def __init__(self, algorithm: str):
        import hashlib

        self.algorithm, self.value = algorithm, 0
        self._hash = hashlib.sha1() if algorithm == "SHA1" else (
            hashlib.sha256() if algorithm not in ("CRC32", "CRC32C", "CRC64NVME") else None)
        self._crc64 = None
        if algorithm == "CRC64NVME":
            try:
                from awscrt import checksums

                self._crc64 = checksums.crc64nvme
            except ImportError:  # moto falls back to CRC32 the same way
                self._crc64 = None
        self._crc32c = None
        if algorithm == "CRC32C":
            try:
                import crc32c

                self._crc32c = crc32c.crc32c
            except ImportError:
                pass

    def update(self, chunk: bytes) -> None:
        if self._hash is not None:
            self._hash.update(chunk)
        elif self._crc64 is not None:
            self.value = self._crc64(chunk, self.value)
        elif self._crc32c is not None:
            self.value = self._crc32c(chunk, self.value)
        else:
            self.value = binascii.crc32(chunk, self.value)

    def base64(self) -> str:
        import base64

        if self._hash is not None:
            digest = self._hash.digest()
        else:
            digest = self.value.to_bytes(8 if self._crc64 is not None else 4, "big")
        return base64.b64encode(digest).decode()
