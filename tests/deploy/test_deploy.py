"""`./mwaa-local deploy --env local` as a user runs it (a subprocess from an environment stripped to PATH, HOME,
LANG and MWAA_LOCAL_STATE), against a local cloud of its own, on a copy of the repository's tree that the tests
change: what is uploaded is decided by content, UpdateEnvironment gets exactly the changed object versions, and
failures leave the environment on its previous version."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from mwaa_local import paths
from mwaa_local.cloud import process

pytestmark = pytest.mark.e2e

ENTRY = paths.ROOT / "mwaa-local"
BUCKET, ENVIRONMENT = "mwaa-local-dags", "mwaa-local"
# The machine's TLS trust and proxy settings stay: test-requirements asks PyPI, as on a user's machine.
NETWORK = ("SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY",
           "https_proxy", "http_proxy", "no_proxy")
SHIPPED = ("dags", "include", "plugins", "requirements.txt", "startup.sh")


@dataclass
class Deployed:
    proc: subprocess.CompletedProcess
    summary: dict

    @property
    def output(self) -> str:
        return self.proc.stdout + self.proc.stderr


class Bench:
    """A local cloud, a state dir and a tree of our own; `deploy(...)` runs the CLI against them."""

    def __init__(self, root: Path):
        self.root = root
        self.state = root / "state"
        self.tree = root / "tree"
        for name in SHIPPED:
            source, dest = paths.ROOT / name, self.tree / name
            if source.is_dir():
                shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(source, dest)
        self.cloud = process.start(state_dir=root / "cloud", log_file=root / "cloud.log")
        self.port = int(self.cloud.endpoint_url.rsplit(":", 1)[1])
        client = process.clients(self.cloud.endpoint_url)
        self.s3, self.mwaa = client("s3"), client("mwaa")
        self.runs = 0

    def env(self) -> dict[str, str]:
        env = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", *NETWORK) if k in os.environ}
        return {**env, "MWAA_LOCAL_STATE": str(self.state)}

    def run(self, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([str(ENTRY), *args], cwd=paths.ROOT, env=self.env(), capture_output=True, text=True,
                              timeout=900, stdin=subprocess.DEVNULL)

    def deploy(self, *args: str) -> Deployed:
        self.runs += 1
        summary = self.root / f"summary-{self.runs}.json"
        proc = self.run("deploy", "--env", "local", "--port", str(self.port), "--source", str(self.tree),
                        "--summary-json", str(summary), *args)
        return Deployed(proc, json.loads(summary.read_text()) if summary.exists() else {})

    def environment(self) -> dict:
        return self.mwaa.get_environment(Name=ENVIRONMENT)["Environment"]

    def versions(self) -> list[tuple[str, str]]:
        """Every object version in the bucket: a deploy that uploads nothing adds none."""
        found = []
        for page in self.s3.get_paginator("list_object_versions").paginate(Bucket=BUCKET):
            found += [(v["Key"], v["VersionId"]) for v in page.get("Versions", [])]
            found += [(m["Key"], m["VersionId"]) for m in page.get("DeleteMarkers", [])]
        return sorted(found)

    def latest_version(self, key: str) -> str:
        return self.s3.head_object(Bucket=BUCKET, Key=key)["VersionId"]


@pytest.fixture(scope="module")
def bench():
    root = Path(tempfile.mkdtemp(prefix="deploy-test-"))
    bench = Bench(root)
    first = bench.deploy()
    assert first.proc.returncode == 0, first.output
    bench.first = first
    yield bench
    bench.cloud.stop()
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def tree(bench):
    """The bench's tree; whatever a test changes is put back, and deployed back, afterwards."""
    saved = bench.root / "saved-tree"
    shutil.rmtree(saved, ignore_errors=True)
    shutil.copytree(bench.tree, saved)
    yield bench.tree
    shutil.rmtree(bench.tree)
    shutil.copytree(saved, bench.tree)
    restored = bench.deploy("--prune")
    assert restored.proc.returncode == 0, restored.output


def test_first_deploy_uploads_the_tree_and_pins_every_version(bench):
    summary = bench.first.summary
    assert {"plugins.zip", "requirements.txt", "startup.sh", "dags/retail_etl.py",
            "dags/include/config/platform.yaml"} <= set(summary["uploaded"])
    env = bench.environment()
    assert env["Status"] == "AVAILABLE"
    for key, member in (("plugins.zip", "PluginsS3ObjectVersion"), ("requirements.txt", "RequirementsS3ObjectVersion"),
                        ("startup.sh", "StartupScriptS3ObjectVersion")):
        assert summary["update"][member] == env[member] == bench.latest_version(key)


def test_second_deploy_uploads_nothing_and_calls_no_update(bench):
    before_versions, before_update = bench.versions(), bench.environment()["LastUpdate"]
    again = bench.deploy()
    assert again.proc.returncode == 0, again.output
    assert (again.summary["uploaded"], again.summary["update"], again.summary["validation"]) == ([], {}, "cached")
    assert bench.versions() == before_versions
    assert bench.environment()["LastUpdate"] == before_update  # no UpdateEnvironment call
    assert "no UpdateEnvironment" in again.output


def test_one_changed_dag_uploads_one_object_and_no_update(bench, tree):
    before_update = bench.environment()["LastUpdate"]
    dag = tree / "dags" / "platform_self_check.py"
    dag.write_text(dag.read_text() + "\n# changed by the deploy test\n")
    changed = bench.deploy()
    assert changed.proc.returncode == 0, changed.output
    assert changed.summary["uploaded"] == ["dags/platform_self_check.py"] and changed.summary["update"] == {}
    assert "DAG integrity: ok" in changed.output and "test-requirements" not in changed.output  # only what changed
    body = bench.s3.get_object(Bucket=BUCKET, Key="dags/platform_self_check.py")["Body"].read()
    assert body == dag.read_bytes()
    assert bench.environment()["LastUpdate"] == before_update


def test_changed_plugins_pass_their_new_version(bench, tree):
    previous = bench.environment()["PluginsS3ObjectVersion"]
    marker = tree / "plugins" / "mwaa_platform" / "deploy_marker.py"
    marker.write_text('"""Added by the deploy test."""\n')
    changed = bench.deploy()
    assert changed.proc.returncode == 0, changed.output
    assert changed.summary["uploaded"] == ["plugins.zip"]
    new = bench.latest_version("plugins.zip")
    assert new != previous
    assert changed.summary["update"] == {"PluginsS3Path": "plugins.zip", "PluginsS3ObjectVersion": new}
    env = bench.environment()
    assert (env["Status"], env["PluginsS3ObjectVersion"]) == ("AVAILABLE", new)
    assert "UPDATING" in changed.output and "AVAILABLE" in changed.output  # progress shown
    archive = zipfile.ZipFile(io.BytesIO(bench.s3.get_object(Bucket=BUCKET, Key="plugins.zip",
                                                             VersionId=new)["Body"].read()))
    names = archive.namelist()
    assert "mwaa_platform/deploy_marker.py" in names
    assert not any(name.startswith("plugins/") for name in names)  # contents at the root, never the folder


def test_broken_dag_is_refused_and_nothing_is_uploaded(bench, tree):
    before = bench.versions()
    (tree / "dags" / "broken_dag.py").write_text("from airflow.sdk import DAG\nraise ValueError('broken on purpose')\n")
    refused = bench.deploy()
    assert refused.proc.returncode == 1
    assert "deploy refused" in refused.proc.stderr and "broken_dag.py" in refused.proc.stderr
    assert "Traceback" not in refused.proc.stderr
    assert refused.summary["validation"] == "failed" and refused.summary["uploaded"] == []
    assert bench.versions() == before


def test_unresolvable_requirements(bench, tree):
    env = bench.environment()
    previous = env["RequirementsS3ObjectVersion"]
    before = bench.versions()
    requirements = tree / "requirements.txt"
    requirements.write_text(requirements.read_text() + "boto3==1.20.0\n")  # MWAA pins boto3: cannot resolve
    refused = bench.deploy()
    assert refused.proc.returncode == 1 and "boto3" in refused.proc.stderr
    assert bench.versions() == before  # validation refused it: nothing uploaded
    # Past validation (--no-validate), MWAA itself fails the update and keeps the previous version.
    failed = bench.deploy("--no-validate")
    assert failed.proc.returncode == 1, failed.output
    assert failed.summary["uploaded"] == ["requirements.txt"]
    assert failed.summary["update"]["RequirementsS3ObjectVersion"] == bench.latest_version("requirements.txt")
    assert "UPDATE_FAILED" in failed.output and "boto3" in failed.output and "Traceback" not in failed.output
    env = bench.environment()
    assert (env["Status"], env["LastUpdate"]["Status"]) == ("UPDATE_FAILED", "FAILED")
    assert env["RequirementsS3ObjectVersion"] == previous


def test_removed_files_are_deleted_only_with_prune_and_other_prefixes_never(bench, tree):
    bench.s3.put_object(Bucket=BUCKET, Key="other/keep.txt", Body=b"not ours")
    (tree / "dags" / "platform_self_check.py").rename(tree / "platform_self_check.py.moved")
    kept = bench.deploy()
    assert kept.proc.returncode == 0, kept.output
    assert kept.summary["kept_removed"] == ["dags/platform_self_check.py"] and kept.summary["deleted"] == []
    assert "--prune" in kept.output
    pruned = bench.deploy("--prune")
    assert pruned.proc.returncode == 0, pruned.output
    assert pruned.summary["deleted"] == ["dags/platform_self_check.py"]
    keys = {o["Key"] for o in bench.s3.list_objects_v2(Bucket=BUCKET)["Contents"]}
    assert "dags/platform_self_check.py" not in keys
    assert {"other/keep.txt", "plugins.zip", "requirements.txt", "startup.sh"} <= keys
    (tree / "platform_self_check.py.moved").unlink()


def test_dry_run_prints_the_plan_and_changes_nothing(bench, tree):
    before = bench.versions()
    dag = tree / "dags" / "retail_etl.py"
    dag.write_text(dag.read_text() + "\n# dry run\n")
    planned = bench.deploy("--dry-run")
    assert planned.proc.returncode == 0, planned.output
    assert "would upload s3://mwaa-local-dags/dags/retail_etl.py (changed)" in planned.output
    assert "no UpdateEnvironment" in planned.output
    assert bench.versions() == before


def test_bucket_without_versioning_or_public_access_block_is_refused(bench):
    config = bench.root / "deploy-plain.yaml"
    config.write_text("environments:\n  plain:\n    local_cloud: true\n    region: us-east-1\n"
                      "    environment: mwaa-local\n    bucket: plain-mwaa-bucket\n    dag_s3_path: dags\n")
    bench.s3.create_bucket(Bucket="plain-mwaa-bucket")

    def deploy_plain():
        return bench.run("deploy", "--env", "plain", "--config", str(config), "--port", str(bench.port),
                         "--source", str(bench.tree))

    unversioned = deploy_plain()
    assert unversioned.returncode == 1
    assert "put-bucket-versioning --bucket plain-mwaa-bucket" in unversioned.stderr
    bench.s3.put_bucket_versioning(Bucket="plain-mwaa-bucket", VersioningConfiguration={"Status": "Enabled"})
    public = deploy_plain()
    assert public.returncode == 1 and "put-public-access-block --bucket plain-mwaa-bucket" in public.stderr
    assert "Traceback" not in unversioned.stderr + public.stderr
    assert "Contents" not in bench.s3.list_objects_v2(Bucket="plain-mwaa-bucket")


def test_unknown_environment_is_a_one_line_error(bench):
    proc = bench.run("deploy", "--env", "nowhere", "--port", str(bench.port))
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"error: no environment 'nowhere' in {paths.INCLUDE / 'config' / 'deploy.yaml'}; it has: local, production"]


def test_login_url_and_trigger_without_a_local_airflow(bench):
    url = bench.run("login-url", "--env", "local", "--port", str(bench.port))
    assert url.returncode == 0, url.stderr
    assert url.stdout.splitlines()[0] == "http://127.0.0.1:8080/"
