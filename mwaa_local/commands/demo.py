"""The README's first command: the local MWAA environment (`up --detach`), a seeded retail source, and the DAGs run
by the scheduler through the REST API (ETL per interval, training, then scoring/deploy/monitoring when those DAGs
exist); prints what moved where and what the model registry decided, and leaves everything running."""

from mwaa_local import arguments as _args

NAME = "demo"
HELP = ("Start the local MWAA environment (as `up --detach`) and MLflow, seed a retail source, run the ETL per "
        "interval and the ML DAGs through the scheduler; print what moved where and the champion model; leave it "
        "all running (`down` ends it).")


def add_arguments(parser):
    parser.add_argument("--port", type=_args.port, default=4566,
                        help="local cloud port, 1-65535 (reused if a cloud already answers there)")
    parser.add_argument("--api-port", type=_args.port, default=8080, help="Airflow UI / REST API port on 127.0.0.1")
    parser.add_argument("--mlflow-port", type=_args.port, default=5000, help="MLflow UI / API port on 127.0.0.1")
    parser.add_argument("--orders", type=_args.positive, default=5_000,
                        help="orders over the seeded days, history included, at least 1 (order lines ~3x); the source also gets "
                             "an imported order history that carries ml_train's repeat-purchase signal")
    parser.add_argument("--days", type=_args.positive, default=3,
                        help="daily intervals to run after the history, at least 1; the last one carries dirt")
    parser.add_argument("--clean", action="store_true", help="inject no dirt")
    parser.add_argument("--summary-json", type=_args.output_file, default=None,
                        help="also write the summary as JSON to this file")
    parser.add_argument("--keep", action="store_true",
                        help="keep the data lake and warehouse from earlier runs (default: start them empty)")
    parser.add_argument("--run-timeout", type=_args.positive, default=900,
                        help="seconds each DAG run may take before the demo gives up on it (default 900)")


def _step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def _say(text: str) -> None:
    print(text, flush=True)


def _print_interval(summary: dict) -> None:
    print(f"    {'table':<12} {'extracted':>9} {'curated':>8} {'quarant.':>8} {'loaded':>7} {'warehouse':>9} {'source keys':>11}")
    for table, t in summary["tables"].items():
        print(f"    {table:<12} {t['extracted']:>9,} {t['curated']:>8,} {t['quarantined']:>8,} {t['loaded']:>7,} "
              f"{t['warehouse_rows_after_run']:>9,} {t['source_distinct_keys']:>11,}")
        for reason, n in sorted(t["quarantined_by_reason"].items()):
            print(f"    {'':<12}   quarantined {n:,} x {reason}")


def _print_outcome(outcome) -> None:
    print(f"    {outcome.state} in {outcome.seconds:.0f} s; {outcome.url}", flush=True)
    if not outcome.ok:
        print(f"    not successful: {', '.join(outcome.failed_tasks()) or 'no task finished'} (task logs in the UI)")


class StepFailed(Exception):
    """A step of the demo could not go on; the message says which and why."""


def run(args) -> int:
    from mwaa_local.errors import UserError

    state = {"runs": []}
    try:
        return _run(args, state)
    except Exception as exc:  # noqa: BLE001 - any failure: name the step, say what still runs, one line
        if not isinstance(exc, UserError | StepFailed):
            exc = StepFailed(f"{type(exc).__name__}: {exc}")
        _print_leftovers()
        if args.summary_json:
            _write_json(args.summary_json, {**state.get("summary", {}), "failed_step": state.get("step"),
                                            "error": str(exc)})
        raise UserError(f"the demo failed at step {state.get('step', '?')!r}: {exc}") from None


def _print_leftovers() -> None:
    from mwaa_local import pid_records

    running = sorted(r.service for r in pid_records.read_all() if r.process() is not None)
    if running:
        print(f"\nstill running: {', '.join(running)}; `./mwaa-local down` ends all of it", flush=True)


def _write_json(path, data: dict) -> None:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    print(f"summary JSON: {path}")


def _run(args, state: dict) -> int:
    import time

    from mwaa_local import etl_report, provision
    from mwaa_local.commands import trigger
    from mwaa_local.demo import environment, history, ml_report, runs
    from mwaa_local.local_stack import SOURCE_CONN_ID, LocalStack
    from mwaa_local.runtime import supervisor
    from mwaa_local.seed import dirt as dirt_kinds
    from mwaa_local.seed import load

    def step(name: str, text: str) -> None:
        state["step"] = name
        _step(text)

    started = time.monotonic()
    config = provision.local_settings()
    step("up", "the local MWAA environment (as `./mwaa-local up --detach`) and the MLflow server")
    env = environment.start(args.port, args.api_port, args.mlflow_port, ready_timeout=600)
    print(f"    Airflow {'started' if env.started_up else 'already running'}: UI and REST API {env.api_url}; "
          f"local cloud {env.endpoint_url}; MLflow {env.mlflow_url}")
    if env.mlflow_password_generated:
        print(f"    MLflow login: {env.mlflow_user} / {env.mlflow_password} (generated once; kept in "
              f"{env.mlflow_password_file}, mode 600)")
    api = trigger.client()
    stack = LocalStack(env.endpoint_url, env.source_dsn, supervisor.airflow_home())
    if not args.keep:
        step("reset", "emptying the pipeline's outputs")
        reset = stack.reset_pipeline_outputs()
        print(f"    emptied s3://{config['data_lake_bucket']}/ ({reset.objects} objects), removed "
              f"{len(reset.tables)} crawled table(s) from the Glue database {config['glue']['raw_database']} "
              f"({', '.join(reset.tables) or 'none'}; their partitions and columns go with them) and dropped the "
              f"warehouse schemas {', '.join(reset.schemas)}, so the numbers below describe this run alone "
              "(--keep to keep them)")

    step("seed", "PostgreSQL (stands in for Amazon RDS): seeding the retail source")
    label_days = config["ml"]["label_days"]
    plan = history.seed_plan(args.orders, args.days, label_days)
    hist, days = history.history_interval(label_days), history.daily_intervals(args.days)
    # Every kind of dirt, except late updates when no earlier daily interval exists for them to change.
    dirt = [] if args.clean else [k for k in dirt_kinds.KINDS if args.days > 1 or k != "late_updates"]
    manifest = load.seed(env.source_dsn, plan, dirt)
    print(f"    {env.source_dsn}: {args.orders:,} orders over {plan.days} days from {plan.start}: {hist.days} days of "
          f"history (ml_train's label window is {label_days} days) + {args.days} daily interval(s) from {days[0].start}"
          + ("" if args.clean else f"; dirt injected on {days[-1].start}: "
             + ", ".join(sorted({e['kind'] for e in manifest['dirt']}))))

    step("provision", "provisioning the local AWS account and syncing dags/, include/, plugins.zip to the MWAA bucket")
    provision.provision(env.endpoint_url, {SOURCE_CONN_ID: provision.postgres_connection(env.source_dsn)})
    synced = stack.sync()
    print(f"    s3://{config['mwaa_bucket']}/: {len(synced.uploaded)} uploaded, {len(synced.unchanged)} unchanged "
          "(`up` keeps $AIRFLOW_HOME/dags in step with it)")
    parsed = runs.parsed_dag_ids(api)
    missing = {"platform_self_check", "retail_etl", "ml_train"} - parsed
    if missing:
        raise StepFailed(f"Airflow has not parsed {', '.join(sorted(missing))} (import errors show in the UI and in "
                         f"{supervisor.logs_dir()})")

    outcomes = state["runs"]
    summary = state["summary"] = {"self_check": None, "history": None, "intervals": [], "failed_intervals": [],
                                  "ml": None, "follow_ups": [], "runs": []}

    def follow(dag_id: str, run_id: str):
        outcome = runs.follow(api, dag_id, run_id, args.run_timeout, _say)
        _print_outcome(outcome)
        outcomes.append(outcome)
        summary["runs"].append(outcome.as_json())
        return outcome

    step("platform_self_check", "DAG platform_self_check (through the scheduler)")
    [check_id] = runs.queue(api, "platform_self_check", [(None, None, {})])
    check = follow("platform_self_check", check_id)
    summary["self_check"] = check.state

    step("retail_etl", f"DAG retail_etl: the history ({hist.label}) in one run, then {args.days} daily interval(s)")
    intervals = [hist, *days]
    ids = runs.queue(api, "retail_etl", [(i.start, i.end, {}) for i in intervals])
    try:
        for interval, run_id in zip(intervals, ids, strict=True):
            _step(f"DAG retail_etl for interval {interval.label}")
            outcome = follow("retail_etl", run_id)
            if not outcome.ok:
                summary["failed_intervals"].append(interval.start.isoformat())
                continue
            report = etl_report.interval_summary(stack, interval.start)
            report["interval_end"] = interval.end.isoformat()
            if interval is hist:
                summary["history"] = report
            else:
                summary["intervals"].append(report)
            _print_interval(report)
    finally:
        strays = runs.tidy_scheduler_runs(api, "retail_etl", set(ids))
    if strays:
        print(f"    paused retail_etl again and removed the run its daily schedule added for today's (empty) interval "
              f"({', '.join(strays)}); unpause it in the UI to let the schedule run")

    if summary["failed_intervals"]:
        print("\n==> ML DAGs skipped: the warehouse is incomplete (failed ETL intervals)")
    else:
        step("ml_train", "DAG ml_train: features in Redshift -> SageMaker training -> MLflow run, registry, champion gate")
        [train_id] = runs.queue(api, "ml_train", [(None, None, {})])
        try:
            trained = follow("ml_train", train_id)
        finally:  # paused again, like every DAG the demo runs (mwaa_local/demo/drift_verdict.py says why)
            runs.tidy_scheduler_runs(api, "ml_train", {train_id})
        step("ml_report", "what the model registry decided")
        summary["ml"] = ml_report.report(api, trained, env.mlflow_url, env.mlflow_user, env.mlflow_password, config)
        for line in ml_report.lines(summary["ml"]):
            print(f"    {line}")
        if trained.ok:
            summary["follow_ups"] = _follow_ups(api, env, days[-1], follow, step, config)

    _print_where_to_look(args, config, env)
    if args.summary_json:
        _write_json(args.summary_json, summary)
    failed = [f"{o.dag_id} {o.run_id}" for o in outcomes if not o.ok]
    print(f"\ndemo finished in {time.monotonic() - started:.0f} s"
          + (f"; FAILED runs: {', '.join(failed)}" if failed else "; every run succeeded")
          + (f"; FAILED intervals: {', '.join(summary['failed_intervals'])}" if summary["failed_intervals"] else ""))
    return 1 if failed else 0


def _follow_ups(api, env, last_day, follow, step, config) -> list[dict]:
    """The DAGs of follow_ups.FOLLOW_UPS whose files exist, for the last daily interval; a note for the others."""
    from mwaa_local.demo import drift_verdict, follow_ups, runs

    done = []
    parsed = runs.parsed_dag_ids(api)
    for dag_id in follow_ups.FOLLOW_UPS:
        if not follow_ups.present(dag_id):
            print(f"\n==> DAG {dag_id}: skipped (dags/{dag_id}.py does not exist yet)")
            done.append({"dag_id": dag_id, "state": "skipped", "note": f"dags/{dag_id}.py does not exist"})
            continue
        if dag_id not in parsed:
            raise StepFailed(f"dags/{dag_id}.py exists but Airflow has not parsed {dag_id} (import error? see the UI)")
        step(dag_id, f"DAG {dag_id} for interval {last_day.label}")
        ids = runs.queue(api, dag_id, [(last_day.start, last_day.end, {})])
        try:
            outcome = follow(dag_id, ids[0])
        finally:
            runs.tidy_scheduler_runs(api, dag_id, set(ids))
        entry = {"dag_id": dag_id, **outcome.as_json()}
        if dag_id == "ml_deploy" and outcome.ok:
            entry["endpoint_vs_batch"] = _endpoint_vs_batch(env, config)
        if dag_id == "ml_monitor" and outcome.ok:
            entry["drift"] = drift_verdict.verdict(api, ids[0])
            for line in drift_verdict.lines(entry["drift"]):
                print(f"    {line}")
        done.append(entry)
    return done


def _endpoint_vs_batch(env, config) -> dict | None:
    from mwaa_local.demo import follow_ups

    pair = follow_ups.endpoint_vs_batch(env.endpoint_url, config["aws_region"])
    if pair is None:
        print("    TODO: no helper yet to print an endpoint prediction next to the batch score of the same customer "
              "(mwaa_local/demo/follow_ups.py: ENDPOINT_VS_BATCH)")
        return None
    print(f"    customer {pair['customer_id']}, model version {pair['model_version']}: endpoint "
          f"{pair['endpoint']} says {pair['endpoint_score']:.4f}, the batch score in Redshift is {pair['batch_score']:.4f}")
    return pair


def _print_where_to_look(args, config, env) -> None:
    from mwaa_local.cloud import process
    from mwaa_local.demo import environment

    lake = config["data_lake_bucket"]
    port = "" if args.port == process.DEFAULT_PORT else f" --port {args.port}"
    print(f"\nWhere to look (everything keeps running; `./mwaa-local down` ends it all):\n"
          f"    Airflow UI   {env.api_url}   login: {environment.admin_login_note()}\n"
          f"    MLflow UI    {env.mlflow_url}   login: {env.mlflow_user}, password in {env.mlflow_password_file} "
          "(mode 600)\n"
          f"    ./mwaa-local sql{port} \"SELECT COUNT(*) FROM analytics.fact_orders\"   "
          f"(Redshift workgroup {config['redshift']['workgroup']}, database {config['redshift']['database']}: "
          "analytics.dim_customer, dim_product, fact_orders, fact_order_items)\n"
          f"    ./mwaa-local aws{port} s3 list-objects-v2 --bucket {lake} --prefix quarantine/   "
          "(also raw/, curated/, reports/curate/, ml/)\n"
          f"    ./mwaa-local aws{port} glue get-tables --database-name {config['glue']['raw_database']}   "
          "(the raw catalog)")
