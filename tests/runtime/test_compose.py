"""docker-compose.yaml, checked statically (this machine has no Docker engine; the file is not run here): valid
under the Compose Specification's JSON schema (vendored in compose_spec/), and everything it names exists and agrees
with the embedded runtime of `./mwaa-local up`: images, entry module and roles, CLI flags, ports (published on
127.0.0.1 only), the AIRFLOW__ settings and secrets backend kwargs runtime/settings.py gives, MWAA's file layout,
volumes, healthchecks (Airflow's own `jobs check` flags and health route) and the order services start in."""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml

from mwaa_local import mlflow_server, paths, postgres
from mwaa_local.cloud import client as cloud_client
from mwaa_local.runtime import components, container, credentials, settings
from mwaa_local.runtime.supervisor import UpOptions

COMPOSE = paths.ROOT / "docker-compose.yaml"
SCHEMA = Path(__file__).parent / "compose_spec" / "compose-spec.json"
AIRFLOW_IMAGE = f"apache/airflow:{settings.AIRFLOW_VERSION}-python3.12"
AIRFLOW_SERVICES = {f"airflow-{role}": role for role in container.AIRFLOW_ROLES}
JOB_TYPES = {"scheduler": "SchedulerJob", "dag-processor": "DagProcessorJob", "triggerer": "TriggererJob"}
LOCAL_TOOLS = ("local-cloud", "mwaa-init", "mlflow")
VENV_PYTHON = "/opt/venv/bin/python"
ENTRY = ["python", "-m", "mwaa_local.runtime.container"]


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())  # resolves the x- anchors and << merges as Compose does


@pytest.fixture(scope="module")
def services(compose) -> dict:
    return compose["services"]


@pytest.fixture(scope="module")
def local_config() -> dict:
    from mwaa_local import provision

    return provision.local_settings()


def _validator() -> jsonschema.Draft201909Validator:
    return jsonschema.Draft201909Validator(json.loads(SCHEMA.read_text()))


def _env(service: dict) -> dict[str, str]:
    env = service.get("environment") or {}
    assert isinstance(env, dict), "environment as a mapping, so the checks below can read it"
    return {k: str(v) for k, v in env.items()}


def _ports(service: dict) -> list[tuple[str, int, int]]:
    found = []
    for entry in service.get("ports", []):
        host, host_port, container_port = str(entry).split(":")
        found.append((host, int(host_port), int(container_port)))
    return found


def _mounts(service: dict) -> dict[str, str]:
    """container path -> source (a named volume or a bind path)"""
    found = {}
    for entry in service.get("volumes", []):
        source, target, *_ = str(entry).split(":")
        found[target] = source
    return found


# ---- the schema -------------------------------------------------------------------------------------------------


def test_the_file_is_valid_under_the_compose_spec_schema(compose):
    errors = sorted(_validator().iter_errors(compose), key=str)
    assert not errors, "\n".join(f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors)


@pytest.mark.parametrize("break_it", [
    lambda c: c["services"]["postgres"].update(healthcheck={"test": ["CMD", "true"], "intervall": "5s"}),
    lambda c: c["services"]["airflow-scheduler"].update(depends_on={"postgres": {"condition": "healthy"}}),
    lambda c: c.update(servics={}),
])
def test_the_schema_check_catches_a_broken_file(compose, break_it):
    broken = copy.deepcopy(compose)
    break_it(broken)
    assert list(_validator().iter_errors(broken)), "the schema check must fail on a broken file"


# ---- services, images, commands ---------------------------------------------------------------------------------


def test_the_services_are_postgres_the_cloud_mlflow_and_the_four_airflow_components(services):
    assert set(services) == {"postgres", *LOCAL_TOOLS, *AIRFLOW_SERVICES}
    assert set(AIRFLOW_SERVICES.values()) == set(components.COMPONENTS)  # those `up` runs


def test_airflow_runs_from_the_public_image_through_the_shared_bootstrap(services):
    for name, role in AIRFLOW_SERVICES.items():
        service = services[name]
        assert service["image"] == AIRFLOW_IMAGE, name
        assert service["entrypoint"] == ENTRY and service["command"] == [role], name
        assert role in container.ROLES
        mounts = _mounts(service)
        repo = service["working_dir"]
        assert mounts[repo] == "." and (paths.ROOT / "mwaa_local" / "runtime" / "container.py").is_file()
        assert service["user"].split(":")[0] == str(container.AIRFLOW_UID)
    assert container.component_command("api-server")[-4:] == ["--host", "0.0.0.0", "--port", str(settings.API_PORT)]
    for role in container.AIRFLOW_ROLES:  # what `up` runs, bar the listen address
        up = components.command(role, settings.API_PORT)
        assert [a for a in container.component_command(role) if a != "0.0.0.0"] == [a for a in up if a != settings.HOST]


def test_the_local_tools_run_the_repositorys_environment_and_real_cli_flags(services):
    from mwaa_local import cli

    for name in LOCAL_TOOLS:
        service = services[name]
        assert service["image"].startswith("python:3.11"), name  # the lock is compiled for Python 3.11
        assert _mounts(service)[service["working_dir"]] == "." and "/opt/venv" in _mounts(service)
    command = services["local-cloud"]["command"]
    assert command[:2] == ["sh", "-c"] and (paths.ROOT / "mwaa-local").stat().st_mode & 0o111
    assert _env(services["local-cloud"])["MWAA_LOCAL_VENV"] == "/opt/venv"
    assert "MWAA_LOCAL_VENV" in (paths.ROOT / "mwaa-local").read_text()
    cloud_args = command[2].split("./mwaa-local ", 1)[1].split()
    parsed = cli.build_parser().parse_args(cloud_args)  # every flag exists (argparse exits on an unknown one)
    assert (parsed.host, parsed.port) == ("0.0.0.0", UpOptions().cloud_port)
    assert parsed.allowed_host == ["local-cloud:4566"]
    assert 'export PYTHONPATH="$ROOT:$ROOT/plugins' in (paths.ROOT / "mwaa-local").read_text()
    for name, role in (("mwaa-init", "init"), ("mlflow", "mlflow")):
        assert services[name]["command"] == [VENV_PYTHON, "-m", "mwaa_local.runtime.container", role]
        assert role in container.ROLES
        root = services[name]["working_dir"]  # what ./mwaa-local puts on the path, as these run python directly
        assert _env(services[name])["PYTHONPATH"] == f"{root}:{root}/plugins", name


def test_the_entry_point_imports_without_moto_and_says_how_to_use_it():
    """The apache/airflow image has no moto: the container roles import without it; bad use is a clear error."""
    code = ("import sys; sys.modules['moto'] = None; import mwaa_local.runtime.container as c; "
            "import mwaa_local.runtime.components, mwaa_local.runtime.credentials; sys.exit(c.main(sys.argv[1:]))")
    usage = subprocess.run([sys.executable, "-c", code], cwd=paths.ROOT, capture_output=True, text=True, timeout=120)
    assert usage.returncode == 2 and "usage: python -m mwaa_local.runtime.container" in usage.stderr
    missing = subprocess.run([sys.executable, "-c", code, "scheduler"], cwd=paths.ROOT, capture_output=True,
                             text=True, timeout=120, env={"PATH": "/usr/bin:/bin"})
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert "is not set: this entry point runs inside docker-compose.yaml's services" in missing.stderr


# ---- ports ------------------------------------------------------------------------------------------------------


def test_everything_is_published_on_loopback_only(services):
    for name, service in services.items():
        for host, _, _ in _ports(service):
            assert host == "127.0.0.1", name
        assert "expose" not in service and service.get("network_mode") != "host", name


def test_the_ports_are_those_of_up(services):
    assert _ports(services["airflow-api-server"]) == [("127.0.0.1", settings.API_PORT, settings.API_PORT)]
    assert UpOptions().api_port == settings.API_PORT
    assert _ports(services["local-cloud"]) == [("127.0.0.1", UpOptions().cloud_port, UpOptions().cloud_port)]
    assert _ports(services["mlflow"]) == [("127.0.0.1", mlflow_server.DEFAULT_PORT, mlflow_server.DEFAULT_PORT)]
    assert _ports(services["postgres"]) == [("127.0.0.1", postgres.DEFAULT_PORT, 5432)]
    for name in AIRFLOW_SERVICES:
        if name != "airflow-api-server":
            assert not _ports(services[name]), f"{name} publishes nothing (its log server is off, as in `up`)"


# ---- environment ------------------------------------------------------------------------------------------------


def _compose_layout(env: dict[str, str]) -> settings.RuntimeLayout:
    state = Path(env[container.STATE_ENV])
    keys = {"jwt_secret": "j", "api_secret_key": "a", "fernet_key": "f"}
    return settings.RuntimeLayout(container.MWAA_HOME, env[container.CLOUD_URL_ENV], env[container.METADATA_DB_ENV],
                                  state / "passwords.json", keys, settings.API_PORT)


def test_the_airflow_settings_are_those_settings_py_gives(services):
    for name in AIRFLOW_SERVICES:
        env = _env(services[name])
        runtime = settings.component_environment(_compose_layout(env), env["AWS_DEFAULT_REGION"], {})
        airflow = {k: v for k, v in env.items() if k.startswith(("AIRFLOW__", "AIRFLOW_CONN_"))}
        for required in ("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", "AIRFLOW__CORE__EXECUTOR", "AIRFLOW__SECRETS__BACKEND",
                         "AIRFLOW__SECRETS__BACKEND_KWARGS", "AIRFLOW__SCHEDULER__STANDALONE_DAG_PROCESSOR"):
            assert required in airflow, (name, required)
        for key, value in airflow.items():
            if key.endswith("_KWARGS"):
                assert json.loads(value) == json.loads(runtime[key]) == settings.SECRETS_BACKEND_KWARGS, key
            else:
                assert value == runtime[key], (name, key, value, runtime.get(key))
        # MWAA's own kwarg: aws_default is never looked up in Secrets Manager.
        assert json.loads(env["AIRFLOW__SECRETS__BACKEND_KWARGS"])["connections_lookup_pattern"] == "^(?!aws_default$).*$"


def test_the_container_changes_only_the_execution_api_address(services, monkeypatch, tmp_path):
    env = _env(services["airflow-scheduler"])
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv(container.STATE_ENV, str(tmp_path))
    ours = container.component_environment({"MY_FLAG": "1"})
    keys = credentials.shared_keys(tmp_path / "keys.json")
    layout = settings.RuntimeLayout(container.MWAA_HOME, env[container.CLOUD_URL_ENV], env[container.METADATA_DB_ENV],
                                    tmp_path / "passwords.json", keys, settings.API_PORT)
    expected = settings.component_environment(layout, env["AWS_DEFAULT_REGION"], {"MY_FLAG": "1"})
    changed = {k for k in expected.keys() | ours.keys() if expected.get(k) != ours.get(k)}
    assert changed == {"AIRFLOW__CORE__EXECUTION_API_SERVER_URL"}
    assert ours["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == \
        f"http://{env[container.API_HOST_ENV]}:{settings.API_PORT}/execution/"
    assert ours["AIRFLOW_HOME"] == "/usr/local/airflow" and ours["MY_FLAG"] == "1"


def test_every_variable_the_roles_read_is_set_and_agrees_with_the_local_config(services, local_config):
    needs = {name: {container.CLOUD_URL_ENV, container.BUCKET_ENV, "AWS_DEFAULT_REGION", container.METADATA_DB_ENV,
                    container.STATE_ENV, container.API_HOST_ENV} for name in AIRFLOW_SERVICES}
    needs["mwaa-init"] = needs["airflow-scheduler"] | {container.POSTGRES_ENV, container.AIRFLOW_HOMES_ENV}
    needs["mlflow"] = {container.CLOUD_URL_ENV, container.STATE_ENV, container.POSTGRES_ENV, container.MLFLOW_URL_ENV,
                       container.MLFLOW_BUCKET_ENV, container.MLFLOW_CONN_ENV}
    for name, wanted in needs.items():
        assert wanted <= set(_env(services[name])), (name, wanted - set(_env(services[name])))
    for name in [*AIRFLOW_SERVICES, "mwaa-init"]:
        env = _env(services[name])
        assert env[container.BUCKET_ENV] == local_config["mwaa_bucket"]
        assert env["AWS_DEFAULT_REGION"] == local_config["aws_region"]
        assert env[container.CLOUD_URL_ENV] == f"http://local-cloud:{UpOptions().cloud_port}"
        assert env[container.API_HOST_ENV] == "airflow-api-server" and env[container.API_HOST_ENV] in services
    mlflow_env = _env(services["mlflow"])
    assert mlflow_env[container.MLFLOW_BUCKET_ENV] == local_config["mlflow"]["artifact_bucket"]
    assert mlflow_env[container.MLFLOW_CONN_ENV] == local_config["mlflow"]["connection_id"]
    assert mlflow_env[container.MLFLOW_URL_ENV] == f"http://mlflow:{mlflow_server.DEFAULT_PORT}"


def test_every_mwaa_local_variable_named_is_read_by_the_project(services):
    sources = "\n".join(p.read_text() for p in (paths.ROOT / "mwaa_local").rglob("*.py"))
    sources += (paths.ROOT / "mwaa-local").read_text()
    named = {k for service in services.values() for k in _env(service) if k.startswith("MWAA_LOCAL_")}
    assert {credentials.PASSWORD_ENV, postgres.DSN_ENV, container.STATE_ENV} <= named
    for name in named:
        assert f'"{name}"' in sources or f"{name}:" in sources or f"{name}=" in sources, f"{name} is read nowhere"


def test_the_databases_agree(services):
    pg = _env(services["postgres"])
    airflow_db = _env(services["airflow-scheduler"])[container.METADATA_DB_ENV]
    assert airflow_db == (f"postgresql+psycopg2://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/"
                          f"{pg['POSTGRES_DB']}")
    for name in ("mwaa-init", "mlflow"):
        dsn = _env(services[name])[container.POSTGRES_ENV]
        assert dsn == f"postgresql://{pg['POSTGRES_USER']}:{pg['POSTGRES_PASSWORD']}@postgres:5432/postgres"


# ---- files and volumes as MWAA lays them out --------------------------------------------------------------------


def test_volumes_are_laid_out_as_mwaa_lays_files_out(compose, services):
    declared = set(compose["volumes"])
    homes = {}
    for name in AIRFLOW_SERVICES:
        mounts = _mounts(services[name])
        assert str(container.MWAA_HOME) == "/usr/local/airflow"
        homes[name] = mounts[str(container.MWAA_HOME)]
        assert mounts[str(container.MWAA_HOME / "logs")] == "airflow-logs", "the api-server reads the task logs"
        assert mounts[_env(services[name])[container.STATE_ENV]] == "mwaa-state"
    assert len(set(homes.values())) == len(homes), "each container has its own AIRFLOW_HOME, as on MWAA"
    assert {str(p.relative_to(container.MWAA_HOME)) for p in container.MWAA_FILES.values()} == \
        {"startup/startup.sh", "requirements/requirements.txt", "plugins.zip"}
    # init hands exactly those volumes (and the logs) to the airflow user
    init_mounts = _mounts(services["mwaa-init"])
    handed = _env(services["mwaa-init"])[container.AIRFLOW_HOMES_ENV].split(":")
    assert {init_mounts[p] for p in handed} == set(homes.values()) | {"airflow-logs"}
    assert init_mounts[_env(services["mwaa-init"])[container.STATE_ENV]] == "mwaa-state"
    for name, service in services.items():
        for source in _mounts(service).values():
            if source.startswith((".", "/")):
                assert (paths.ROOT / source).exists(), (name, source)
            else:
                assert source in declared, (name, source)
    for deployed in (paths.DAGS, paths.PLUGINS, paths.REQUIREMENTS, paths.STARTUP, paths.INCLUDE):
        assert deployed.exists()  # what init deploys to the bucket, which the containers bootstrap from


# ---- healthchecks and start order -------------------------------------------------------------------------------


def _airflow_source(relative: str) -> str:
    """A file of the installed Airflow, read, not imported (importing Airflow costs tens of seconds)."""
    package = importlib.util.find_spec("airflow").submodule_search_locations[0]
    return (Path(package) / relative).read_text()


def _cli_args(source: str) -> dict[str, ast.Call]:
    """Airflow's CLI argument definitions (NAME = Arg(...)) from cli_config.py."""
    return {node.targets[0].id: node.value for node in ast.parse(source).body
            if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Call) and getattr(node.value.func, "id", "") == "Arg"}


def test_every_long_running_service_has_a_healthcheck_that_really_checks(services):
    for name, service in services.items():
        if name != "mwaa-init":
            assert service["healthcheck"]["test"][0] == "CMD", name
    api = services["airflow-api-server"]["healthcheck"]["test"]
    url = api[-1]
    assert api[1:3] == ["curl", "--fail"] and url == f"http://127.0.0.1:{settings.API_PORT}/api/v2/monitor/health"
    # Airflow's own route: /api/v2 + /monitor + /health
    assert 'AirflowRouter(prefix="/api/v2")' in _airflow_source("api_fastapi/core_api/routes/public/__init__.py")
    monitor = _airflow_source("api_fastapi/core_api/routes/public/monitor.py")
    assert 'prefix="/monitor"' in monitor and '@monitor_router.get("/health"' in monitor
    # `airflow jobs check --job-type X --local`, with Airflow's own flags and job types
    cli_source = _airflow_source("cli/cli_config.py")
    args = _cli_args(cli_source)
    job_type = args["ARG_JOB_TYPE_FILTER"]
    choices = ast.literal_eval(next(k.value for k in job_type.keywords if k.arg == "choices"))
    assert ast.literal_eval(job_type.args[0]) == ("--job-type",)
    assert ast.literal_eval(args["ARG_JOB_HOSTNAME_CALLABLE_FILTER"].args[0]) == ("--local",)
    check = re.search(r'JOBS_COMMANDS = \(.*?name="check",.*?args=\((.*?)\)', cli_source, re.S)
    assert check and {"ARG_JOB_TYPE_FILTER", "ARG_JOB_HOSTNAME_CALLABLE_FILTER"} <= set(re.findall(r"\w+", check[1]))
    for role, job in JOB_TYPES.items():
        test = services[f"airflow-{role}"]["healthcheck"]["test"]
        assert test[1:] == ["airflow", "jobs", "check", "--job-type", job, "--local"], role
        assert job in choices
    pg = _env(services["postgres"])
    assert services["postgres"]["healthcheck"]["test"] == ["CMD", "pg_isready", "--username", pg["POSTGRES_USER"],
                                                           "--dbname", pg["POSTGRES_DB"]]
    cloud = services["local-cloud"]["healthcheck"]["test"]
    assert cloud[1] == VENV_PYTHON
    assert f"http://127.0.0.1:{UpOptions().cloud_port}{cloud_client.HEALTH_PATH}'" in cloud[-1]
    assert services["mlflow"]["healthcheck"]["test"][1:] == [VENV_PYTHON, "-m", "mwaa_local.runtime.container",
                                                             "health", "mlflow"]


def test_services_start_in_order_on_real_conditions(services):
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services, (name, dependency)
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], (name, dependency)
            elif rule["condition"] == "service_completed_successfully":
                assert services[dependency].get("restart") == "no", (name, dependency)
    for name in AIRFLOW_SERVICES:
        assert services[name]["depends_on"]["mwaa-init"]["condition"] == "service_completed_successfully"


def test_the_readme_says_it_is_checked_statically_not_run():
    text = (paths.ROOT / "README.md").read_text()
    line = next((ln for ln in text.splitlines() if "docker-compose.yaml" in ln and "statically" in ln), "")
    assert line and re.search(r"not run", line), "README must say the compose file is statically checked, not run"
