"""`./mwaa-local status`: what `up` runs, from the pid records, and whether the UI answers."""

NAME = "status"
HELP = ("Show the local MWAA environment: each Airflow component (pid, alive), the local cloud, MLflow, PostgreSQL, "
        "the UI.")


def add_arguments(parser):
    pass


def run(args) -> int:
    import json

    from mwaa_local import pid_records, postgres
    from mwaa_local.runtime import api_client, components, supervisor

    live = components.running()
    up = live.get(components.SUPERVISOR)
    print(f"up: {f'running (pid {up.pid})' if up else 'not running'}")
    for name in components.COMPONENTS:
        record = live.get(components.RECORD_PREFIX + name)
        print(f"  {name:<14} {f'running (pid {record.pid})' if record else 'not running'}")
    for record in pid_records.read_all():
        if record.service.startswith("cloud-"):
            print(f"local cloud: {'running' if record.process() else 'stale record'} (pid {record.pid}, "
                  f"port {record.port})")
    mlflow = _mlflow_record()
    print(f"MLflow: {f'running on http://127.0.0.1:{mlflow[1]} (pid {mlflow[0]})' if mlflow else 'not running'}")
    port = postgres.running_port()
    print(f"PostgreSQL: {f'running on 127.0.0.1:{port}' if port else 'not running (embedded)'}")
    try:
        ready = json.loads(supervisor.ready_file().read_text())
    except (OSError, ValueError):
        ready = None
    if ready:
        answers = api_client.ui_answers(ready["api_url"])
        print(f"UI: {ready['api_url']} ({'answers' if answers else 'does not answer'}); "
              f"login admin, password in {supervisor.passwords_file()}")
        print(f"DAGs: {', '.join(sorted(ready['dags'])) or 'none'}"
              + (f"; import errors in {', '.join(ready['import_errors'])}" if ready["import_errors"] else ""))
    return 0 if up else 3


def _mlflow_record() -> tuple[int, int] | None:
    """(pid, port) of the MLflow server ./mwaa-local started, if it is alive."""
    import json

    import psutil

    from mwaa_local import mlflow_server

    try:
        record = json.loads(mlflow_server.pid_record_path().read_text())
        alive = abs(psutil.Process(record["pid"]).create_time() - record["process_started"]) < 2
    except (OSError, ValueError, KeyError, psutil.Error):
        return None
    return (record["pid"], record["port"]) if alive else None
