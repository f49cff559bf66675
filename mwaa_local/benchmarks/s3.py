"""S3 in the local cloud: its memory must not grow with the data it stores.

Starts its own persistent local cloud on a fresh state dir, measures its RSS empty, stores N GB of objects (big
objects as boto3 multipart uploads from a generated stream, plus 1,000 small objects), restarts it, reads
everything back, and prints the RSS after each step. Target: every RSS within 200 MB of the empty cloud's.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import tempfile
import time
from pathlib import Path

from mwaa_local import arguments
from mwaa_local.errors import UserError

HELP = "the local cloud's RSS storing 5 GB of objects, after a restart and reading them back (within 200 MB of empty)"
TARGET_MB = 200
MB = 1024 * 1024
BUCKET = "bench-s3"


class _Generated(io.RawIOBase):
    """`size` bytes of a pseudo-random pattern, made as they are read (the benchmark itself holds none of it)."""

    def __init__(self, size: int, block: bytes, seed: int):
        self.size, self.block, self.position, self.seed = size, block, 0, seed

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        count = min(len(buffer), self.size - self.position)
        view, done = memoryview(buffer), 0
        while done < count:
            offset = (self.position + self.seed * 7919) % len(self.block)
            piece = self.block[offset:offset + count - done]
            view[done:done + len(piece)] = piece
            done += len(piece)
            self.position += len(piece)
        return count


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise UserError(f"cannot read the RSS of pid {pid} from /proc")


def _check_room(directory: Path, needed: int) -> None:
    free = shutil.disk_usage(directory).free
    if free < needed:
        raise UserError(f"not enough free disk for the benchmark in {directory}: it needs {needed / 2**30:.1f} GB "
                        f"(the objects and 1 GB to spare), {free / 2**30:.1f} GB are free; "
                        "pass a smaller --gb or --state-dir on a bigger disk")


def run(argv: list[str]) -> int:
    from boto3.s3.transfer import TransferConfig

    from mwaa_local import paths
    from mwaa_local.cloud import process

    parser = argparse.ArgumentParser(prog="mwaa-local bench s3", description=HELP)
    parser.add_argument("--gb", type=float, default=5.0, help="GB of big objects to store (default 5)")
    parser.add_argument("--object-mb", type=arguments.positive, default=100,
                        help="size of each big object in MB, uploaded multipart (default 100)")
    parser.add_argument("--small", type=int, default=1000, help="small objects (10 KB) to store too (default 1000)")
    parser.add_argument("--state-dir", type=arguments.directory, default=None,
                        help="where the benchmark's cloud keeps its state (default: a temp dir under .local, removed "
                             "afterwards)")
    args = parser.parse_args(argv)
    if args.gb <= 0 or args.small < 0:
        raise UserError("--gb must be above 0 and --small at least 0")
    big_count = max(1, round(args.gb * 1024 / args.object_mb))
    big_size = args.object_mb * MB
    parent = args.state_dir or paths.local_state()
    parent.mkdir(parents=True, exist_ok=True)
    _check_room(parent, big_count * big_size + args.small * 10_000 + 2**30)
    state = Path(tempfile.mkdtemp(prefix="bench-s3-", dir=parent))
    log_file = state.parent / f"{state.name}.log"
    config = TransferConfig(multipart_threshold=8 * MB, multipart_chunksize=8 * MB)
    block = os.urandom(4 * MB)
    rows: list[tuple[str, float, float]] = []
    try:
        cloud = process.start(state_dir=state, log_file=log_file)
        try:
            s3 = process.clients(cloud.endpoint_url)("s3")
            s3.create_bucket(Bucket=BUCKET)
            s3.put_object(Bucket=BUCKET, Key="warm-up", Body=block[:2 * MB])  # first-request imports
            s3.get_object(Bucket=BUCKET, Key="warm-up")["Body"].read()
            empty = _rss_mb(cloud.process.pid)
            rows.append(("empty", empty, 0.0))
            started = time.perf_counter()
            for n in range(big_count):
                s3.upload_fileobj(_Generated(big_size, block, n), BUCKET, f"big/{n:05d}", Config=config)
            for n in range(args.small):
                s3.put_object(Bucket=BUCKET, Key=f"small/{n:05d}", Body=block[n:n + 10_000])
            rows.append((f"after storing {big_count} x {args.object_mb} MB + {args.small} small",
                         _rss_mb(cloud.process.pid), time.perf_counter() - started))
        finally:
            cloud.stop()
        started = time.perf_counter()
        cloud = process.start(state_dir=state, log_file=log_file, timeout=120)
        try:
            rows.append(("after a restart", _rss_mb(cloud.process.pid), time.perf_counter() - started))
            s3 = process.clients(cloud.endpoint_url)("s3")
            started, total = time.perf_counter(), 0
            for n in range(big_count):
                body = s3.get_object(Bucket=BUCKET, Key=f"big/{n:05d}")["Body"]
                size = sum(len(chunk) for chunk in iter(lambda body=body: body.read(8 * MB), b""))
                if size != big_size:
                    raise UserError(f"big/{n:05d} read back {size} bytes, stored {big_size}")
                total += size
            for n in range(args.small):
                if s3.get_object(Bucket=BUCKET, Key=f"small/{n:05d}")["Body"].read() != block[n:n + 10_000]:
                    raise UserError(f"small/{n:05d} read back different bytes")
            rows.append((f"after reading {total / 2**30:.2f} GB back", _rss_mb(cloud.process.pid),
                         time.perf_counter() - started))
        finally:
            cloud.stop()
    finally:
        if args.state_dir is None:
            shutil.rmtree(state, ignore_errors=True)
            log_file.unlink(missing_ok=True)
    stored_gb = big_count * big_size / 2**30
    print(f"local cloud RSS with {stored_gb:.2f} GB stored ({big_count} multipart objects of {args.object_mb} MB, "
          f"{args.small} small objects), state on disk in {parent}:")
    for label, rss, seconds in rows:
        print(f"  {label:<48} {rss:8.0f} MB  ({rss - empty:+.0f} MB){f'  {seconds:.1f} s' if seconds else ''}")
    worst = max(rss for _, rss, _ in rows) - empty
    ok = worst <= TARGET_MB
    print(f"s3 benchmark: {'within' if ok else 'OUTSIDE'} target (largest growth {worst:+.0f} MB, target "
          f"+{TARGET_MB} MB over empty)")
    return 0 if ok else 1
