NAME = "stop"
HELP = "Stop what ./mwaa-local started in the background: the local cloud and the embedded PostgreSQL."


def add_arguments(parser):
    pass


def run(args) -> int:
    from mwaa_local import mlflow_server, postgres
    from mwaa_local.cloud import process

    mlflow_pid = mlflow_server.stop()
    print(f"MLflow server: stopped (pid {mlflow_pid} and its process group)" if mlflow_pid else "MLflow server: not running")
    pid = process.stop_background()
    print(f"local cloud: stopped (pid {pid})" if pid else "local cloud: not running")
    if postgres.user_dsn():
        print(f"PostgreSQL: {postgres.DSN_ENV} is set; that server is yours to manage")
    else:
        print(f"PostgreSQL: {'stopped' if postgres.stop() else 'not running'}")
    return 0
