"""A batch transform job's worker: runs the handlers over every staged input file and writes `<file>.out`.

argv: <input dir> <output dir>; settings in the environment (set by the local cloud): TRANSFORM_SPLIT_TYPE
(None|Line), TRANSFORM_BATCH_STRATEGY (MultiRecord|SingleRecord), TRANSFORM_MAX_PAYLOAD_BYTES, TRANSFORM_CONTENT_TYPE,
TRANSFORM_ACCEPT, TRANSFORM_ASSEMBLE_WITH (None|Line). A failing object stops the job with a line naming it on
stderr ("object <relative path>: <error>") and exit code 1; outputs are only uploaded when every object succeeded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import handlers  # noqa: E402 - this folder is put on the path first


def batches(body: bytes, split: str, strategy: str, max_payload: int):
    """The request bodies for one object: the whole object, one record each, or records packed up to the limit."""
    if split != "Line":
        yield body
        return
    records = [line + b"\n" for line in body.splitlines() if line.strip()]
    if strategy == "SingleRecord":
        yield from records
        return
    batch, size = [], 0
    for record in records:
        if batch and size + len(record) > max_payload:
            yield b"".join(batch)
            batch, size = [], 0
        batch.append(record)
        size += len(record)
    if batch:
        yield b"".join(batch)


def main(input_dir: Path, output_dir: Path) -> int:
    env = os.environ
    split, strategy = env.get("TRANSFORM_SPLIT_TYPE", "None"), env.get("TRANSFORM_BATCH_STRATEGY", "MultiRecord")
    max_payload = int(env.get("TRANSFORM_MAX_PAYLOAD_BYTES", str(6 * 1024 * 1024)))
    content_type, accept = env.get("TRANSFORM_CONTENT_TYPE") or None, env.get("TRANSFORM_ACCEPT") or None
    assemble_line = env.get("TRANSFORM_ASSEMBLE_WITH", "None") == "Line"
    model = handlers.from_environment()
    files = sorted(p for p in input_dir.rglob("*") if p.is_file())
    for path in files:
        relative = path.relative_to(input_dir)
        parts = []
        try:
            for body in batches(path.read_bytes(), split, strategy, max_payload):
                if len(body) > max_payload:
                    raise ValueError(f"a record of {len(body)} bytes exceeds MaxPayloadInMB")
                output, _ = model.invoke(body, content_type, accept)
                parts.append(output + (b"\n" if assemble_line and not output.endswith(b"\n") else b""))
        except Exception as exc:
            print(f"object {relative}: {type(exc).__name__}: {exc}", file=sys.stderr, flush=True)
            return 1
        target = output_dir / f"{relative}.out"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"".join(parts))
        print(f"transformed {relative}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
