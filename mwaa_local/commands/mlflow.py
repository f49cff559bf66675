NAME = "mlflow"
HELP = ("Start the local MLflow tracking server (UI on http://127.0.0.1:5000; PostgreSQL backend, artifacts in the "
        "local cloud, basic auth) in the background, or in the foreground with --foreground.")


def add_arguments(parser):
    parser.add_argument("--port", type=int, default=5000, help="loopback port of the UI and API (default 5000)")
    parser.add_argument("--foreground", action="store_true", help="stay attached; Ctrl-C stops the server")


def run(args) -> int:
    import signal
    import time

    from mwaa_local import mlflow_server, provision
    from mwaa_local.cloud import process

    if not 1 <= args.port <= 65535:
        from mwaa_local.errors import UserError

        raise UserError(f"--port must be 1..65535, got {args.port}")
    cloud = process.ensure_running()
    config = provision.local_settings()
    provision.provision(cloud.endpoint_url)
    server = mlflow_server.ensure_server(cloud.endpoint_url, config["mlflow"]["artifact_bucket"], port=args.port)
    mlflow_server.store_connection(cloud.endpoint_url, server, config["mlflow"]["connection_id"])
    print(f"MLflow UI: {server.url} (user {server.username})")
    if not server.password_shown:
        print(f"  admin password (shown once; kept in {mlflow_server.default_state_dir() / 'admin.json'}, mode 600, "
              f"and in Secrets Manager as airflow/connections/{config['mlflow']['connection_id']}): {server.password}")
        mlflow_server.mark_password_shown()
    if not args.foreground:
        print("  running in the background; ./mwaa-local stop ends it")
        return 0
    if server.pid is None:
        print("  (already running in the background; ./mwaa-local stop ends it)")
        return 0
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while process_alive(server.pid):
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        mlflow_server.stop()
    return 0


def process_alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
