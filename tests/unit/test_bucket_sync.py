"""The deploy sync (mwaa_local/bucket_sync.py) against the local cloud's S3: unchanged files are skipped (no new
object version), changed ones uploaded, removed ones deleted under dags/ only, other prefixes never touched; and the
pull an MWAA worker does (bucket -> dags folder + unzipped plugins)."""

from __future__ import annotations

import uuid
import zipfile
from pathlib import Path

import pytest

from mwaa_local import bucket_sync
from mwaa_local.errors import UserError

PLANNED_OUTSIDE_DAGS = {"plugins.zip", "requirements.txt", "startup.sh"}


@pytest.fixture
def bucket(aws):
    name = f"sync-{uuid.uuid4().hex[:10]}"
    s3 = aws("s3")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    return name


@pytest.fixture
def tree(tmp_path) -> tuple[Path, Path]:
    dags, include = tmp_path / "dags", tmp_path / "include"
    for path, text in {dags / "a.py": "A = 1\n", dags / "sub" / "b.py": "B = 1\n", dags / ".airflowignore": "x\n",
                       dags / "__pycache__" / "a.cpython-311.pyc": "bytecode", dags / "c.pyc": "bytecode",
                       include / "config" / "x.yaml": "x: 1\n", include / "glue" / "job.py": "print(1)\n"}.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return dags, include


def _keys(s3, bucket: str) -> set[str]:
    return {o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])}


def _versions(s3, bucket: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in s3.list_object_versions(Bucket=bucket).get("Versions", []):
        counts[v["Key"]] = counts.get(v["Key"], 0) + 1
    return counts


def test_sync_uploads_skips_unchanged_and_deletes_only_removed_dag_files(aws, bucket, tree):
    s3 = aws("s3")
    dags, include = tree
    outside = {"notes/readme.txt": b"ops notes", "dags-archive/old.py": b"OLD = 1", "requirements-old.txt": b"x"}
    for key, body in outside.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)

    first = bucket_sync.sync(s3, bucket, dags=dags, include=include)
    expected = {"dags/a.py", "dags/sub/b.py", "dags/.airflowignore", "dags/include/config/x.yaml",
                "dags/include/glue/job.py"} | PLANNED_OUTSIDE_DAGS
    assert set(first.uploaded) == expected, "bytecode and __pycache__ must not ship"
    assert first.unchanged == [] and first.deleted == []
    assert set(first.versions) == expected, "a versioned bucket's new VersionIds are reported (MWAA pins them)"
    versions = _versions(s3, bucket)

    again = bucket_sync.sync(s3, bucket, dags=dags, include=include)
    assert again.uploaded == [] and again.deleted == [] and set(again.unchanged) == expected
    assert _versions(s3, bucket) == versions, "an unchanged re-sync created object versions"

    (dags / "a.py").write_text("A = 2\n")
    (dags / "sub" / "b.py").unlink()
    (include / "glue" / "job.py").unlink()
    (dags / "new.py").write_text("N = 1\n")
    third = bucket_sync.sync(s3, bucket, dags=dags, include=include)
    assert sorted(third.uploaded) == ["dags/a.py", "dags/new.py"]
    assert sorted(third.deleted) == ["dags/include/glue/job.py", "dags/sub/b.py"]
    assert s3.get_object(Bucket=bucket, Key="dags/a.py")["Body"].read() == b"A = 2\n"
    assert _versions(s3, bucket)["dags/a.py"] == 2 and _versions(s3, bucket)["dags/.airflowignore"] == 1
    assert _keys(s3, bucket) == (expected - {"dags/sub/b.py", "dags/include/glue/job.py"}) | {"dags/new.py"} | set(outside)
    for key, body in outside.items():
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body, f"{key} outside dags/ was touched"


def test_sync_without_delete_keeps_removed_files(aws, bucket, tree):
    s3 = aws("s3")
    dags, include = tree
    bucket_sync.sync(s3, bucket, dags=dags, include=include)
    (dags / "a.py").unlink()
    result = bucket_sync.sync(s3, bucket, delete=False, dags=dags, include=include)
    assert result.deleted == [] and "dags/a.py" in _keys(s3, bucket)


def test_the_repository_plan_ships_dags_include_and_the_mwaa_files():
    planned = bucket_sync.planned_objects(Path("plugins.zip"))
    assert {"dags/retail_etl.py", "dags/platform_self_check.py", "dags/.airflowignore",
            "dags/include/config/platform.yaml"} <= set(planned)
    assert PLANNED_OUTSIDE_DAGS <= set(planned)
    assert all(k.startswith("dags/") or k in PLANNED_OUTSIDE_DAGS for k in planned), sorted(planned)
    assert not [k for k in planned if "__pycache__" in k or k.endswith(".pyc")]


def test_pull_mirrors_dags_and_unzips_plugins_like_an_mwaa_worker(aws, bucket, tree, tmp_path):
    s3 = aws("s3")
    dags, include = tree
    bucket_sync.sync(s3, bucket, dags=dags, include=include)
    deployed = bucket_sync.pull(s3, bucket, tmp_path / "deployed")

    files = {p.relative_to(deployed.dags).as_posix() for p in deployed.dags.rglob("*") if p.is_file()}
    assert files == {"a.py", "sub/b.py", ".airflowignore", "include/config/x.yaml", "include/glue/job.py"}
    assert deployed.include == deployed.dags / "include"
    assert (deployed.plugins / "mwaa_platform" / "__init__.py").is_file(), "plugins.zip not unzipped"
    assert not (tmp_path / "deployed" / "plugins.zip").exists()

    unchanged_inode = (deployed.dags / "sub" / "b.py").stat().st_ino
    s3.put_object(Bucket=bucket, Key="dags/a.py", Body=b"A = 'from the bucket'\n")
    s3.delete_object(Bucket=bucket, Key="dags/include/glue/job.py")
    (deployed.dags / "__pycache__").mkdir()
    (deployed.dags / "__pycache__" / "a.pyc").write_text("bytecode Airflow wrote")
    # a new plugins.zip (one module) replaces the unzipped tree entirely
    archive = tmp_path / "other.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("only_module.py", "X = 1\n")
    s3.put_object(Bucket=bucket, Key="plugins.zip", Body=archive.read_bytes())

    deployed = bucket_sync.pull(s3, bucket, tmp_path / "deployed")
    assert (deployed.dags / "a.py").read_text() == "A = 'from the bucket'\n"
    assert not (deployed.dags / "include" / "glue").exists(), "a file gone from the bucket stayed (with its folder)"
    assert (deployed.dags / "sub" / "b.py").stat().st_ino == unchanged_inode, "an unchanged file was rewritten"
    assert sorted(p.name for p in deployed.plugins.iterdir()) == ["only_module.py"]


def test_pull_refuses_a_key_that_escapes_the_dags_folder(aws, bucket, tmp_path):
    s3 = aws("s3")
    s3.put_object(Bucket=bucket, Key="dags/../escape.py", Body=b"x")
    with pytest.raises(UserError, match="refusing a key that would land outside"):
        bucket_sync.pull(s3, bucket, tmp_path / "deployed")
    assert not (tmp_path / "deployed" / "escape.py").exists()
