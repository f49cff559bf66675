"""The README's first command: everything that exists today, run for real, and a report of exactly that."""

NAME = "demo"
HELP = "Start the local cloud, provision it, and run the DAGs end to end; print what moved where."


def add_arguments(parser):
    parser.add_argument("--port", type=int, default=4566, help="local cloud port (reused if already running)")


def run(args) -> int:
    import time

    from mwaa_local import dag_runner, provision
    from mwaa_local.cloud import process

    started = time.monotonic()
    step = lambda text: print(f"==> {text}", flush=True)  # noqa: E731

    step(f"local cloud on 127.0.0.1:{args.port}")
    cloud = process.ensure_running(args.port)
    print(f"    {cloud.endpoint_url} ({'started' if cloud.process else 'already running'})")

    step("provisioning the local AWS account (buckets, roles, Glue database, secrets)")
    done = provision.provision(cloud.endpoint_url)
    print(f"    created: {', '.join(done.created) or 'nothing (all present)'}")

    step("Airflow metadata database")
    env = dag_runner.local_airflow_env(cloud.endpoint_url)
    dag_runner.migrate_metadata_db(env)
    print(f"    {dag_runner.airflow_home()}")

    step("DAG platform_self_check (dag.test)")
    result = dag_runner.run_dag("platform_self_check", cloud.endpoint_url)
    print(f"    state: {result.state}; tasks: {result.tasks}; log: {result.log_file}")

    print(f"\ndemo finished in {time.monotonic() - started:.0f} s.")
    print("Ran: the environment self-check DAG against the local cloud.")
    print("Not yet part of the demo: the ETL and ML pipelines (their issues are open).")
    if cloud.process:
        print(f"The local cloud keeps running in the background (pid {cloud.process.pid}); state in .local/cloud.")
    return 0 if result.ok else 1
