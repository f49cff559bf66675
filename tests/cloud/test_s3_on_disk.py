"""S3 object bodies live on disk: big objects survive kill -9 with every version, reads stream the same bytes, a
restart loads no body, unreferenced bodies are collected, and the cloud's memory does not grow with what it stores."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import signal

import pytest
from boto3.s3.transfer import TransferConfig

from mwaa_local.cloud import process, s3_bodies

MB = 1024 * 1024
PARTS = TransferConfig(multipart_threshold=8 * MB, multipart_chunksize=8 * MB)


def _rss_mb(pid: int) -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for pid {pid}")


def _read(s3, key: str, **kwargs) -> bytes:
    return s3.get_object(Bucket="disk", Key=key, **kwargs)["Body"].read()


def test_big_objects_and_their_versions_survive_kill_9(tmp_path):
    state = tmp_path / "state"
    first, second = os.urandom(21 * MB), os.urandom(19 * MB)
    cloud = process.start(state_dir=state, log_file=tmp_path / "cloud.log")
    try:
        s3 = process.clients(cloud.endpoint_url)("s3")
        s3.create_bucket(Bucket="disk")
        s3.put_bucket_versioning(Bucket="disk", VersioningConfiguration={"Status": "Enabled"})
        s3.upload_fileobj(io.BytesIO(first), "disk", "big", Config=PARTS)  # multipart: 3 parts
        v1 = s3.head_object(Bucket="disk", Key="big")["VersionId"]
        v2 = s3.put_object(Bucket="disk", Key="big", Body=second)["VersionId"]  # one PutObject
        s3.put_object(Bucket="disk", Key="small", Body=b"kept in memory")
        s3.put_object(Bucket="disk", Key="doomed", Body=os.urandom(2 * MB))
        s3.delete_object(Bucket="disk", Key="doomed", VersionId=s3.head_object(Bucket="disk", Key="doomed")[
            "VersionId"])
    finally:
        cloud.stop(signal.SIGKILL)
    assert not list((state / "blobs" / ".spool").iterdir())  # every body was moved into the blob dir

    cloud = process.start(state_dir=state, log_file=tmp_path / "cloud.log")
    try:
        s3 = process.clients(cloud.endpoint_url)("s3")
        versions = s3.list_object_versions(Bucket="disk", Prefix="big")["Versions"]
        assert sorted((v["VersionId"], v["Size"], v["IsLatest"]) for v in versions) == sorted(
            [(v1, len(first), False), (v2, len(second), True)])
        assert _read(s3, "big") == second
        assert _read(s3, "big", VersionId=v1) == first
        assert _read(s3, "small") == b"kept in memory"
        assert s3.list_objects_v2(Bucket="disk", Prefix="doomed")["KeyCount"] == 0
        bodies = {p.name for p in (state / "blobs").iterdir() if p.name.startswith("s3body-")}
        sizes = sorted((state / "blobs" / name).stat().st_size for name in bodies)
        assert len(first) in sizes and len(second) in sizes and 2 * MB not in sizes  # the deleted one collected

        s3.put_object(Bucket="disk", Key="big", Body=b"third")  # a later write does not touch older bodies
        assert {p.name for p in (state / "blobs").iterdir() if p.name.startswith("s3body-")} == bodies
    finally:
        cloud.stop()


def test_streamed_reads_and_ranges_give_the_same_bytes(tmp_path):
    data = os.urandom(18 * MB + 123)
    cloud = process.start(ephemeral=True, log_file=tmp_path / "cloud.log")
    try:
        s3 = process.clients(cloud.endpoint_url)("s3")
        s3.create_bucket(Bucket="disk")
        s3.upload_fileobj(io.BytesIO(data), "disk", "obj", Config=PARTS)
        assert hashlib.sha256(_read(s3, "obj")).digest() == hashlib.sha256(data).digest()
        assert _read(s3, "obj", Range="bytes=100-8388708") == data[100:8388709]
        assert _read(s3, "obj", Range="bytes=-1000") == data[-1000:]
        assert _read(s3, "obj", Range=f"bytes={len(data) - 5}-") == data[-5:]
        response = s3.get_object(Bucket="disk", Key="obj", Range="bytes=0-0")
        assert (response["ContentRange"], response["Body"].read()) == (f"bytes 0-0/{len(data)}", data[:1])
        with pytest.raises(s3.exceptions.ClientError, match="InvalidRange"):
            s3.get_object(Bucket="disk", Key="obj", Range=f"bytes={len(data)}-")

        downloaded = io.BytesIO()
        s3.download_fileobj("disk", "obj", downloaded, Config=PARTS)  # ranged GETs in parallel
        assert downloaded.getvalue() == data
    finally:
        cloud.stop()


def test_memory_stays_flat_while_300_mb_are_stored_and_read(tmp_path):
    chunk = os.urandom(MB)
    cloud = process.start(state_dir=tmp_path / "state", log_file=tmp_path / "cloud.log")
    try:
        s3 = process.clients(cloud.endpoint_url)("s3")
        s3.create_bucket(Bucket="disk")
        s3.put_object(Bucket="disk", Key="warm-up", Body=chunk * 9)  # the first request's one-off imports
        _read(s3, "warm-up")
        empty = _rss_mb(cloud.process.pid)
        for n in range(10):  # 300 MB: 10 x 30 MB, multipart and single PutObject alike
            body = bytes([n]) + chunk * 30
            if n % 2:
                s3.put_object(Bucket="disk", Key=f"obj-{n}", Body=body[:30 * MB])
            else:
                s3.upload_fileobj(io.BytesIO(body[:30 * MB]), "disk", f"obj-{n}", Config=PARTS)
        stored = _rss_mb(cloud.process.pid)
        for n in range(10):
            response = s3.get_object(Bucket="disk", Key=f"obj-{n}")["Body"]
            assert sum(len(piece) for piece in iter(lambda response=response: response.read(MB), b"")) == 30 * MB
        read = _rss_mb(cloud.process.pid)
        assert stored - empty < 100, f"RSS {empty:.0f} MB empty, {stored:.0f} MB after storing 300 MB"
        assert read - empty < 100, f"RSS {empty:.0f} MB empty, {read:.0f} MB after reading 300 MB back"
    finally:
        cloud.stop()


@pytest.mark.parametrize("algorithm", ["CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"])
def test_running_checksum_equals_moto_on_the_whole_body(algorithm):
    from moto.s3.utils import compute_checksum

    data = os.urandom(3 * MB + 7)
    running = s3_bodies._RunningChecksum(algorithm)
    for start in range(0, len(data), MB):
        running.update(data[start:start + MB])
    assert running.base64() == compute_checksum(data, algorithm).decode()
    assert base64.b64decode(running.base64())


def test_bodies_spill_to_disk_past_the_spool_limit(tmp_path):
    s3_bodies.SPOOL.configure(tmp_path / "spool", durable=False)
    small = s3_bodies.from_bytes(b"x" * 10)
    big = s3_bodies.from_chunks(iter([b"a" * s3_bodies.SPOOL_LIMIT, b"b" * 5]))
    assert (small.on_disk, big.on_disk, big.size) == (False, True, s3_bodies.SPOOL_LIMIT + 5)
    view = s3_bodies.BodyView(big)
    assert len(view) == big.size and b"".join(view[s3_bodies.SPOOL_LIMIT - 2:]) == b"aabbbbb"
    view.close()
    big.close()  # an owned spool file goes with its object
    assert list((tmp_path / "spool").iterdir()) == []


def test_copy_object_of_a_big_object_keeps_both_intact(tmp_path):
    data = os.urandom(3 * MB)
    cloud = process.start(ephemeral=True, log_file=tmp_path / "cloud.log")
    try:
        s3 = process.clients(cloud.endpoint_url)("s3")
        s3.create_bucket(Bucket="disk")
        s3.put_object(Bucket="disk", Key="source", Body=data)
        s3.copy_object(Bucket="disk", Key="copy", CopySource={"Bucket": "disk", "Key": "source"})
        s3.delete_object(Bucket="disk", Key="source")
        assert _read(s3, "copy") == data
        s3.copy_object(Bucket="disk", Key="copy", CopySource={"Bucket": "disk", "Key": "copy"},
                       MetadataDirective="REPLACE", Metadata={"note": "in place"})
        assert _read(s3, "copy") == data
        assert s3.head_object(Bucket="disk", Key="copy")["Metadata"] == {"note": "in place"}
    finally:
        cloud.stop()


def test_disk_use_follows_the_objects_stored(tmp_path):
    """A completed upload's parts and an overwritten object's body leave the disk once the snapshot that dropped
    them is written, without waiting for a restart."""
    state = tmp_path / "state"
    cloud = process.start(state_dir=state, log_file=tmp_path / "cloud.log")
    try:
        s3 = process.clients(cloud.endpoint_url)("s3")
        s3.create_bucket(Bucket="disk")

        def body_sizes() -> list[int]:
            return sorted(p.stat().st_size for p in (state / "blobs").iterdir() if p.name.startswith("s3body-"))

        s3.upload_fileobj(io.BytesIO(os.urandom(20 * MB)), "disk", "obj", Config=PARTS)  # 3 parts
        assert body_sizes() == [20 * MB]
        s3.put_object(Bucket="disk", Key="obj", Body=os.urandom(3 * MB))
        assert body_sizes() == [3 * MB]
        s3.delete_object(Bucket="disk", Key="obj")
        assert body_sizes() == []
    finally:
        cloud.stop()
