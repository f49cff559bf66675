"""The README's first command: the whole local stack, the DAGs run for real, and a report of what moved where."""

import datetime as dt

from mwaa_local import arguments as _args

NAME = "demo"
HELP = "Start the local cloud and PostgreSQL, seed a retail source, run the DAGs end to end; print what moved where."

DEMO_START = dt.date(2026, 1, 1)


def add_arguments(parser):
    parser.add_argument("--port", type=_args.port, default=4566,
                        help="local cloud port, 1-65535 (reused if a cloud already answers there)")
    parser.add_argument("--orders", type=_args.positive, default=5_000,
                        help="orders in the seeded source, at least 1 (order lines ~3x)")
    parser.add_argument("--days", type=_args.positive, default=3,
                        help="daily intervals to run, at least 1; the last one carries dirt")
    parser.add_argument("--clean", action="store_true", help="inject no dirt")
    parser.add_argument("--summary-json", type=_args.output_file, default=None,
                        help="also write the summary as JSON to this file")
    parser.add_argument("--keep", action="store_true",
                        help="keep the data lake and warehouse from earlier runs (default: start them empty)")


def _step(text: str) -> None:
    print(f"\n==> {text}", flush=True)


def _print_interval(summary: dict) -> None:
    print(f"    {'table':<12} {'extracted':>9} {'curated':>8} {'quarant.':>8} {'loaded':>7} {'warehouse':>9} {'source keys':>11}")
    for table, t in summary["tables"].items():
        print(f"    {table:<12} {t['extracted']:>9,} {t['curated']:>8,} {t['quarantined']:>8,} {t['loaded']:>7,} "
              f"{t['warehouse_rows_after_run']:>9,} {t['source_distinct_keys']:>11,}")
        for reason, n in sorted(t["quarantined_by_reason"].items()):
            print(f"    {'':<12}   quarantined {n:,} x {reason}")


def run(args) -> int:
    import json
    import time

    from mwaa_local import etl_report, postgres, provision
    from mwaa_local.cloud import process
    from mwaa_local.local_stack import LocalStack
    from mwaa_local.seed import dirt as dirt_kinds
    from mwaa_local.seed import load
    from mwaa_local.seed.generate import Plan

    started = time.monotonic()
    _step(f"local cloud on 127.0.0.1:{args.port}")
    cloud = process.ensure_running(args.port)
    state_dir = (process.health(cloud.endpoint_url) or {}).get("state_dir") or "memory only (ephemeral)"
    print(f"    {cloud.endpoint_url} ({'started' if cloud.process else 'already running'}); state in {state_dir}")

    _step("PostgreSQL (stands in for Amazon RDS): seeding the retail source")
    source_dsn = postgres.create_database("retail")
    plan = Plan(orders=args.orders, start=DEMO_START, days=args.days, seed=42)
    # Every kind of dirt, except late updates when there is no earlier interval for them to change.
    dirt = [] if args.clean else [k for k in dirt_kinds.KINDS if args.days > 1 or k != "late_updates"]
    manifest = load.seed(source_dsn, plan, dirt)
    print(f"    {source_dsn}: {args.orders:,} orders over {args.days} days from {DEMO_START}"
          + ("" if args.clean else f"; dirt injected on {plan.interval(args.days - 1)}: "
             + ", ".join(sorted({e['kind'] for e in manifest['dirt']}))))

    _step("provisioning the local AWS account and syncing dags/, include/, plugins.zip to the MWAA bucket")
    stack = LocalStack.up(cloud.endpoint_url, source_dsn)
    config = provision.local_settings()
    print(f"    s3://{config['mwaa_bucket']}/ ; Airflow metadata DB in {stack.airflow_home}")
    if not args.keep:
        reset = stack.reset_pipeline_outputs()
        print(f"    emptied s3://{config['data_lake_bucket']}/ ({reset.objects} objects), removed "
              f"{len(reset.tables)} crawled table(s) from the Glue database {config['glue']['raw_database']} "
              f"({', '.join(reset.tables) or 'none'}; their partitions and columns go with them) and dropped the "
              f"warehouse schemas {', '.join(reset.schemas)}, so the numbers below describe this run alone "
              "(--keep to keep them)")

    _step("DAG platform_self_check")
    check = stack.run_interval("platform_self_check", DEMO_START)
    print(f"    {check.state}; log: {check.log_file}")

    summaries, failed = [], []
    for offset in range(args.days):
        day = plan.interval(offset)
        _step(f"DAG retail_etl for interval {day}")
        t0 = time.monotonic()
        result = stack.run_interval("retail_etl", day)
        print(f"    {result.state} in {time.monotonic() - t0:.0f} s; log: {result.log_file}")
        if not result.ok:
            failed.append(day.isoformat())
            print(f"    failed tasks: {[t for t, s in result.tasks.items() if s != 'success']}")
            continue
        summary = etl_report.interval_summary(stack, day)
        summaries.append(summary)
        _print_interval(summary)

    lake = config["data_lake_bucket"]
    port = "" if args.port == process.DEFAULT_PORT else f" --port {args.port}"
    print(f"\nWhere to look (our own tools; no AWS CLI needed):\n"
          f"    ./mwaa-local sql{port} \"SELECT COUNT(*) FROM analytics.fact_orders\"   "
          f"(Redshift workgroup {config['redshift']['workgroup']}, database {config['redshift']['database']}: "
          "analytics.dim_customer, dim_product, fact_orders, fact_order_items)\n"
          f"    ./mwaa-local aws{port} s3 list-objects-v2 --bucket {lake} --prefix quarantine/   "
          "(also raw/, curated/, reports/curate/)\n"
          f"    ./mwaa-local aws{port} glue get-tables --database-name {config['glue']['raw_database']}   "
          "(the raw catalog)")
    if args.summary_json:
        args.summary_json.parent.mkdir(parents=True, exist_ok=True)
        args.summary_json.write_text(json.dumps({"intervals": summaries, "failed_intervals": failed,
                                                 "self_check": check.state}, indent=2))
        print(f"summary JSON: {args.summary_json}")
    print(f"\ndemo finished in {time.monotonic() - started:.0f} s"
          + (f"; FAILED intervals: {', '.join(failed)}" if failed else "; every run succeeded"))
    print("The local cloud and PostgreSQL keep running for you to look around; `./mwaa-local stop` ends both.")
    print("Not built yet: the ML pipeline, the local Airflow UI and deploy to MWAA.")
    return 1 if failed or not check.ok else 0
