"""`./mwaa-local trigger <dag_id>`: a DAG run through the local REST API, with a token, as a client of MWAA would;
with `--env NAME`, through that MWAA environment's InvokeRestApi instead (as a deploy pipeline triggers on AWS)."""

NAME = "trigger"
HELP = ("Trigger a DAG through the running local Airflow's REST API (token from POST /auth/token); unpauses it "
        "first; --wait follows the run and exits 0 only if it succeeds.")

FINISHED = {"success", "failed"}


def _conf(text: str) -> dict:
    import argparse
    import json

    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"--conf is not JSON: {exc}") from exc
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("--conf must be a JSON object")
    return value


def add_arguments(parser):
    from mwaa_local import arguments as _args

    parser.add_argument("dag_id")
    parser.add_argument("--conf", type=_conf, default={}, help="the run's conf, a JSON object")
    parser.add_argument("--wait", action="store_true", help="follow the run until it finishes")
    parser.add_argument("--timeout", type=_args.positive, default=1800, help="seconds --wait waits (default 1800)")
    parser.add_argument("--env", default=None, help="an environment of include/config/deploy.yaml: trigger through "
                        "its MWAA API (InvokeRestApi) instead of the local REST API")
    parser.add_argument("--unpause", action="store_true", help="with --env: unpause a paused DAG (else it is "
                        "reported and nothing runs)")
    parser.add_argument("--port", type=_args.port, default=4566, help="with --env local: the local cloud's port")


def client():
    """A logged-in client of the environment `up` runs; a clear error when none does."""
    import json

    from mwaa_local.errors import UserError
    from mwaa_local.runtime import credentials, supervisor
    from mwaa_local.runtime.api_client import ApiClient

    try:
        api_url = json.loads(supervisor.ready_file().read_text())["api_url"]
    except (OSError, ValueError, KeyError):
        raise UserError("the local MWAA environment is not running (or not ready yet); start it with "
                        "`./mwaa-local up --detach`") from None
    login = credentials.read_login(supervisor.passwords_file())
    if login is None:
        raise UserError(f"no admin password in {supervisor.passwords_file()}; restart with ./mwaa-local up")
    return ApiClient.login(api_url, login.user, login.password)


def run(args) -> int:
    import time
    import urllib.parse

    from mwaa_local.errors import UserError
    from mwaa_local.runtime.api_client import ApiError

    if args.env:
        from mwaa_local.deploy import trigger

        return trigger.run_for_environment(args.env, args.dag_id, args.conf, args.wait, unpause=args.unpause,
                                           timeout=args.timeout, port=args.port)
    api = client()
    dag = urllib.parse.quote(args.dag_id, safe="")
    try:
        api.request("PATCH", f"/api/v2/dags/{dag}", {"is_paused": False})
    except ApiError as exc:
        if exc.status == 404:
            raise UserError(f"DAG {args.dag_id!r} not found (parsed DAGs: "
                            f"{', '.join(d['dag_id'] for d in api.all_pages('/api/v2/dags', 'dags'))})") from None
        raise
    run_ = api.request("POST", f"/api/v2/dags/{dag}/dagRuns", {"logical_date": None, "conf": args.conf})
    run_id = run_["dag_run_id"]
    print(f"triggered {args.dag_id}: run {run_id} ({run_['state']})", flush=True)
    if not args.wait:
        return 0
    path = f"/api/v2/dags/{dag}/dagRuns/{urllib.parse.quote(run_id, safe='')}"
    deadline, state = time.monotonic() + args.timeout, run_["state"]
    while state not in FINISHED:
        if time.monotonic() > deadline:
            print(f"{args.dag_id} run {run_id} still {state} after {args.timeout} s")
            return 1
        time.sleep(2)
        new = api.request("GET", path)["state"]
        if new != state:
            print(f"  {new}", flush=True)
        state = new
    tasks = api.request("GET", path + "/taskInstances", query={"limit": 1000})["task_instances"]
    for ti in sorted(tasks, key=lambda t: (t.get("start_date") or "", t["task_id"])):
        print(f"  {ti['task_id']:<40} {ti['state']}")
    print(f"{args.dag_id} run {run_id}: {state}")
    return 0 if state == "success" else 1
