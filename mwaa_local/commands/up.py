"""`./mwaa-local up`: Airflow 3.3.1 as MWAA runs it, on this machine (see mwaa_local.runtime)."""

from mwaa_local import arguments as _args

NAME = "up"
HELP = ("Start the local MWAA environment: local cloud, PostgreSQL, MLflow (when the ML DAGs exist), Airflow 3.3.1 "
        "(api-server with the UI on http://127.0.0.1:8080 behind a login, scheduler, dag-processor, triggerer) after "
        "MWAA's bootstrap; keeps the MWAA bucket "
        "in step with the working tree. Foreground (Ctrl-C stops) or --detach (`down` stops).")


def _json_object_file(text: str) -> dict:
    import argparse
    import json

    path = _args.input_file(text)
    try:
        value = json.loads(path.read_text())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{path} is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{path} must hold a JSON object of variable name -> value")
    return value


def add_arguments(parser):
    parser.add_argument("--detach", action="store_true", help="run in the background; return once ready")
    parser.add_argument("--port", type=_args.port, default=4566, help="local cloud port (reused if one answers)")
    parser.add_argument("--api-port", type=_args.port, default=8080, help="Airflow UI / REST API port on 127.0.0.1")
    parser.add_argument("--mlflow-port", type=_args.port, default=5000,
                        help="MLflow UI / API port on 127.0.0.1 (MLflow starts when dags/ml_*.py exist)")
    parser.add_argument("--no-mlflow", action="store_true", help="do not start MLflow even if the ML DAGs exist")
    parser.add_argument("--dsn", default=None,
                        help="postgresql:// URL of the metadata DB to use instead of the embedded server's `airflow`")
    parser.add_argument("--variables", type=_json_object_file, default={},
                        help="JSON file of Airflow variables to seed into Secrets Manager (airflow/variables/<key>)")
    parser.add_argument("--startup-script", type=_args.input_file, default=None,
                        help="deploy this file as the environment's startup.sh instead of the repository's")
    parser.add_argument("--ready-timeout", type=_args.positive, default=600,
                        help="seconds to wait for the UI and every DAG to be parsed")


def run(args) -> int:
    from mwaa_local.runtime import detach, services, supervisor

    if args.dsn:
        services.sqlalchemy_url(args.dsn)  # a wrong scheme is refused before anything starts
    options = supervisor.UpOptions(args.port, args.api_port, args.dsn, args.variables, args.ready_timeout,
                                   args.startup_script, detached=detach.is_detached_child(),
                                   mlflow_port=args.mlflow_port, mlflow=not args.no_mlflow)
    if args.detach:
        return detach.start_detached(options)
    return supervisor.Supervisor(options).run()
