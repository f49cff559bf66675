"""S3 as our services see it: read, list and write objects in moto's backend in-process (no HTTP round trip).
Writes go through the state store so they are durable, exactly like a PutObject from a client."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from mwaa_local.cloud import moto_state, s3_bodies
from mwaa_local.cloud.state import StateStore


class NoSuchKey(LookupError):
    def __init__(self, bucket: str, key: str):
        super().__init__(f"s3://{bucket}/{key} does not exist")
        self.bucket, self.key = bucket, key


class NoSuchBucket(LookupError):
    def __init__(self, bucket: str):
        super().__init__(f"bucket {bucket} does not exist")
        self.bucket = bucket


def split_uri(uri: str) -> tuple[str, str]:
    """'s3://bucket/some/key' -> ('bucket', 'some/key')."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri!r} (expected s3://bucket/key)")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


class S3Objects:
    def __init__(self, store: StateStore):
        self.store = store
        self.state = moto_state.register_moto_backend(store, "s3")

    @staticmethod
    def _backend():
        return moto_state.s3()

    def bucket_exists(self, bucket: str) -> bool:
        return bucket in self._backend().buckets

    def _bucket(self, bucket: str):
        try:
            return self._backend().buckets[bucket]
        except KeyError:
            raise NoSuchBucket(bucket) from None

    def _key(self, bucket: str, key: str):
        found = self._bucket(bucket).keys.get(key)
        if found is None or getattr(found, "is_delete_marker", False) or type(found).__name__ == "FakeDeleteMarker":
            raise NoSuchKey(bucket, key)
        return found

    def get(self, bucket: str, key: str) -> bytes:
        """The whole body in memory: for small objects (scripts, manifests); big ones use open_read."""
        return self._key(bucket, key).value

    def open_read(self, bucket: str, key: str) -> BinaryIO:
        """A binary file of the object's current body, read without loading it whole; it stays readable if the
        object is overwritten or deleted meanwhile. The caller closes it."""
        found = self._key(bucket, key)
        body = found._value_buffer
        return body.open() if isinstance(body, s3_bodies.Body) else io.BytesIO(found.value)

    def download(self, bucket: str, key: str, target: Path) -> None:
        """Copies the object into a local file, chunk by chunk."""
        with self.open_read(bucket, key) as reader, open(target, "wb") as writer:
            shutil.copyfileobj(reader, writer, s3_bodies.CHUNK)

    def exists(self, bucket: str, key: str) -> bool:
        try:
            self.get(bucket, key)
            return True
        except (NoSuchKey, NoSuchBucket):
            return False

    def list_keys(self, bucket: str, prefix: str = "") -> Iterator[tuple[str, int]]:
        """(key, size) of every current object under prefix, in key order."""
        keys = self._bucket(bucket).keys
        for name in sorted(k for k in keys.keys() if k.startswith(prefix)):
            obj = keys.get(name)
            if obj is not None and type(obj).__name__ == "FakeKey":
                yield name, obj.size

    def put(self, bucket: str, key: str, data: bytes) -> None:
        self._bucket(bucket)
        with self.store.mutation(self.state):
            self._backend().put_object(bucket, key, data)

    def put_file(self, bucket: str, key: str, path: Path) -> None:
        """Stores a local file as an object, streamed into the object store (never whole in memory)."""
        self.put_files(bucket, {key: path})

    def put_files(self, bucket: str, files: dict[str, Path | bytes]) -> None:
        """Stores several objects, each a local file (streamed) or bytes, and persists once (UNLOAD)."""
        self._bucket(bucket)
        bodies = {}
        for key, source in files.items():
            if isinstance(source, bytes):
                bodies[key] = s3_bodies.from_bytes(source)
                continue
            with open(source, "rb") as reader:
                bodies[key] = s3_bodies.from_file(reader)
        with self.store.mutation(self.state):
            for key, body in bodies.items():
                self._backend().put_object(bucket, key, body)

    def put_many(self, bucket: str, objects: dict[str, bytes]) -> None:
        """Writes several objects and persists once (UNLOAD, job outputs)."""
        self._bucket(bucket)
        with self.store.mutation(self.state):
            for key, data in objects.items():
                self._backend().put_object(bucket, key, data)

    def delete(self, bucket: str, key: str) -> None:
        with self.store.mutation(self.state):
            self._backend().delete_object(bucket, key)
