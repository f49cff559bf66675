"""The bootstrap's pieces on their own: requirements under MWAA's rules, plugins.zip extraction, DAG files."""

from __future__ import annotations

import io
import zipfile

import pytest
from packaging.requirements import Requirement

from mwaa_local.errors import UserError
from mwaa_local.requirements_check import CONSTRAINT_URL
from mwaa_local.runtime import plugins, readiness, requirements


def test_a_file_without_constraints_gets_airflows_with_a_warning(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("apache-airflow-providers-postgres==7.0.1\n")
    plan = requirements.plan(path)
    assert len(plan.warnings) == 1 and "names no constraints" in plan.warnings[0]
    assert "apache-airflow-providers-amazon==" in plan.constraints  # Airflow's constraints apply
    assert [str(r) for r in plan.requirements] == ["apache-airflow-providers-postgres==7.0.1"]


def test_a_commented_constraint_line_is_mwaas_opt_out(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text(f'# --constraint "{CONSTRAINT_URL}"\nboto3\n')
    plan = requirements.plan(path)
    assert plan.warnings == []
    assert "apache-airflow==3.3.1" in plan.constraints  # MWAA's essential pins still apply
    assert "apache-airflow-providers-amazon==" not in plan.constraints


def test_the_airflow_constraints_line_needs_no_warning(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text(f'--constraint "{CONSTRAINT_URL}"\nboto3\n')
    assert requirements.plan(path).warnings == []


def test_a_constraints_url_that_cannot_be_used_locally_is_refused(tmp_path):
    path = tmp_path / "requirements.txt"
    path.write_text("--constraint https://example.com/c.txt\nboto3\n")
    with pytest.raises(UserError, match="cannot be used locally"):
        requirements.plan(path)


def test_only_what_the_environment_lacks_is_to_install():
    wanted = [Requirement("pytest"), Requirement("pytest==0.0.1"), Requirement("no-such-package-mwaa-local==1.0")]
    assert [str(r) for r in requirements.unsatisfied(wanted)] == ["pytest==0.0.1", "no-such-package-mwaa-local==1.0"]


def test_a_failed_install_stops_with_pips_error(tmp_path):
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp_path / "venv")], check=True)
    with pytest.raises(UserError, match="could not be installed.*no-such-package-mwaa-local"):
        requirements.install([Requirement("no-such-package-mwaa-local==1.0")], "apache-airflow==3.3.1\n",
                             python=str(tmp_path / "venv" / "bin" / "python"))


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for name, body in entries.items():
            zf.writestr(name, body)
    return buffer.getvalue()


def test_plugins_zip_replaces_the_plugins_folder(tmp_path):
    folder = tmp_path / "plugins"
    plugins.extract(_zip({"old/__init__.py": b""}), folder)
    assert plugins.extract(_zip({"pkg/__init__.py": b"X = 1\n"}), folder) == ["pkg/__init__.py"]
    assert (folder / "pkg" / "__init__.py").read_text() == "X = 1\n" and not (folder / "old").exists()


def test_a_plugins_zip_escaping_its_folder_is_refused_and_the_old_plugins_stay(tmp_path):
    folder = tmp_path / "plugins"
    plugins.extract(_zip({"good.py": b""}), folder)
    with pytest.raises(UserError, match="outside the plugins folder"):
        plugins.extract(_zip({"../evil.py": b""}), folder)
    assert (folder / "good.py").exists() and not (tmp_path / "evil.py").exists()


def test_dag_files_are_what_airflow_would_parse(tmp_path):
    (tmp_path / "include").mkdir()
    (tmp_path / "a.py").write_text("from airflow.sdk import dag\n")
    (tmp_path / "helper.py").write_text("X = 1\n")  # safe mode: no 'airflow'/'dag', never parsed
    (tmp_path / "include" / "b.py").write_text("from airflow.sdk import dag\n")
    (tmp_path / ".airflowignore").write_text("include/\n")
    assert readiness.dag_files(tmp_path) == {"a.py"}


def test_the_bootstrap_imports_without_the_local_cloud():
    """A container that runs only Airflow (no moto) can run the same bootstrap code."""
    import subprocess
    import sys

    code = "import sys; sys.modules['moto'] = None; import mwaa_local.runtime.bootstrap"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_runtime_gives_components_the_local_clouds_client_settings():
    from mwaa_local.cloud import process
    from mwaa_local.runtime import settings

    assert settings.client_environment("http://x:1") == process.client_environment("http://x:1")
