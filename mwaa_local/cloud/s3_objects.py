"""S3 as our services see it: read, list and write objects in moto's backend in-process (no HTTP round trip).
Writes go through the state store so they are durable, exactly like a PutObject from a client."""

from __future__ import annotations

from collections.abc import Iterator

from mwaa_local.cloud import moto_state
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

    def get(self, bucket: str, key: str) -> bytes:
        found = self._bucket(bucket).keys.get(key)
        if found is None or getattr(found, "is_delete_marker", False) or type(found).__name__ == "FakeDeleteMarker":
            raise NoSuchKey(bucket, key)
        return found.value

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

    def put_many(self, bucket: str, objects: dict[str, bytes]) -> None:
        """Writes several objects and persists once (UNLOAD, job outputs)."""
        self._bucket(bucket)
        with self.store.mutation(self.state):
            for key, data in objects.items():
                self._backend().put_object(bucket, key, data)

    def delete(self, bucket: str, key: str) -> None:
        with self.store.mutation(self.state):
            self._backend().delete_object(bucket, key)
