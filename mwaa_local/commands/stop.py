NAME = "stop"
HELP = ("Stop everything ./mwaa-local started in the background (local clouds, the embedded PostgreSQL, ...), "
        "as recorded in .local/run/.")


def add_arguments(parser):
    pass


def run(args) -> int:
    from mwaa_local import mlflow_server, pid_records, postgres
    from mwaa_local.cloud import process
    from mwaa_local.runtime import components

    for service, pid in components.stop_all():  # `up` and Airflow first: they use the cloud and PostgreSQL
        print(f"{service}: stopped (pid {pid} and its process group)")
    mlflow_pid = mlflow_server.stop()
    print(f"MLflow server: stopped (pid {mlflow_pid} and its process group)" if mlflow_pid
          else "MLflow server: not running")
    stopped = process.stop_background()
    for service, pid in stopped:
        print(f"local cloud: stopped {service} (pid {pid} and its process group)")
    if not stopped:
        print("local cloud: none running that ./mwaa-local started")
    if postgres.user_dsn():
        print(f"PostgreSQL: {postgres.DSN_ENV} is set; that server is yours to manage")
    else:
        print(f"PostgreSQL: {'stopped' if postgres.stop() else 'not running'}")
    for record in pid_records.read_all():  # any other service a later command records
        if record.service == postgres.RECORD:
            continue
        proc = record.process()
        if proc is not None:
            pid_records.terminate_tree(proc)
            print(f"{record.service}: stopped (pid {record.pid})")
        pid_records.remove(record)
    return 0
