"""The post-deploy self-check: is this environment able to run the pipelines?

Every check runs, and all failures are reported together in one error, so a platform engineer fixes
everything in one pass instead of one failure per deploy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str

    def __str__(self) -> str:
        return f"[{'ok' if self.ok else 'FAILED'}] {self.name}: {self.detail}"


class EnvironmentCheckFailed(RuntimeError):
    def __init__(self, results: list[CheckResult]):
        failed = [r for r in results if not r.ok]
        lines = [f"{len(failed)} of {len(results)} environment checks failed:"]
        lines += [f"  - {r.name}: {r.detail}" for r in failed]
        super().__init__("\n".join(lines))
        self.results = results


def _check(name: str, probe: Callable[[], str]) -> CheckResult:
    try:
        return CheckResult(name, True, probe())
    except Exception as exc:  # every failure is a finding, not a crash
        return CheckResult(name, False, f"{type(exc).__name__}: {exc}")


def run_checks(
    settings: dict[str, Any],
    sts: Any,
    s3: Any,
    get_connection: Callable[[str], Any],
    get_variable: Callable[[str], Any],
) -> list[CheckResult]:
    def identity() -> str:
        return sts.get_caller_identity()["Arn"]

    def bucket_readable(bucket: str) -> Callable[[], str]:
        def probe() -> str:
            s3.head_bucket(Bucket=bucket)
            listed = s3.list_objects_v2(Bucket=bucket, MaxKeys=1)
            return f"s3://{bucket} readable ({'not empty' if listed.get('KeyCount') else 'empty'})"
        return probe

    def connection(conn_id: str) -> Callable[[str], str]:
        def probe() -> str:
            conn = get_connection(conn_id)
            return f"resolves ({conn.conn_type})"
        return probe

    def variable(key: str) -> Callable[[], str]:
        def probe() -> str:
            get_variable(key)
            return "resolves"
        return probe

    results = [_check("AWS identity", identity)]
    for setting in ("mwaa_bucket", "data_lake_bucket"):
        results.append(_check(f"bucket {setting} (s3://{settings[setting]})", bucket_readable(settings[setting])))
    results += [_check(f"connection {c}", connection(c)) for c in settings.get("required_connections", [])]
    results += [_check(f"variable {v}", variable(v)) for v in settings.get("required_variables", [])]
    return results


def check_environment() -> list[str]:
    """Runs every check inside an Airflow task (Task SDK lookups go through the secrets backend)."""
    import boto3
    from airflow.sdk import Connection, Variable

    from mwaa_platform.settings import settings

    config = settings()
    session = boto3.session.Session(region_name=config["aws_region"])
    results = run_checks(config, session.client("sts"), session.client("s3"), Connection.get, Variable.get)
    for result in results:
        print(result)
    if not all(r.ok for r in results):
        raise EnvironmentCheckFailed(results)
    return [str(r) for r in results]
