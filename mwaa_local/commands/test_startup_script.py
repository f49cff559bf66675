"""`./mwaa-local test-startup-script`: startup.sh under MWAA's rules, and what it would do to the components."""

NAME = "test-startup-script"
HELP = ("Run startup.sh as MWAA does (sourced by bash, 5-minute limit, MWAA_LOCAL_STARTUP_TIMEOUT lowers it); print "
        "the variables it sets and those MWAA refuses, and why; exit non-zero on failure or timeout.")


def add_arguments(parser):
    from mwaa_local import arguments as _args
    from mwaa_local import paths

    parser.add_argument("script", nargs="?", type=_args.input_file, default=paths.STARTUP,
                        help="the script (default: startup.sh of this repository)")


def run(args) -> int:
    import tempfile
    from pathlib import Path

    from mwaa_local.cloud.process import DEFAULT_HOST, DEFAULT_PORT
    from mwaa_local.runtime import bootstrap, startup_script, supervisor
    from mwaa_local.runtime.settings import RuntimeLayout

    # The same environment `up` sources it in (the components' AIRFLOW_HOME, the local cloud's endpoint).
    layout = RuntimeLayout(supervisor.airflow_home(), f"http://{DEFAULT_HOST}:{DEFAULT_PORT}", "",
                           supervisor.passwords_file(), {})
    env = bootstrap.script_environment(layout, "us-east-1")
    with tempfile.TemporaryDirectory(prefix="mwaa-startup-cwd-") as cwd:
        result = startup_script.run(args.script, env, cwd=Path(cwd))
    print("\n".join(result.report()))
    if result.output.strip():
        print("--- output (CloudWatch stream startup_script_execution on MWAA) ---")
        print(result.output.rstrip())
    if result.failure:
        print(f"FAILED: {result.failure}")
        return 1
    return 0
