"""ml_train end to end on ~100,000 customers: per-stage times and peak memory.

Setup (not timed): an ephemeral local cloud provisioned as the demo does, a throwaway PostgreSQL (the MLflow backend
store and the source connection), a real MLflow server, and a warehouse holding the seed generator's order history
(`Plan.history_days`, loaded straight into analytics.fact_orders / fact_order_items as the ETL's load leaves them;
sized so about --customers customers have ordered before the cutoff: they are the training population).
Timed: one ml_train run with dag.test() in a child process. Stages from its "[DAG TEST]" log lines: features (plan,
build_features, check_features), unload (unload_splits), training (the SageMaker job), logging/registration
(log_training, register_and_promote, publish_champion). Memory: summed RSS of the local cloud (with the training
job it runs), the dag.test process and the MLflow server, sampled every 0.2 s; PostgreSQL apart.
Target: the run under 90 s on this machine.

Serving (batch scoring / InvokeEndpoint of the model just registered) is measured by
mwaa_local/benchmarks/ml_serving.py when it exists: after the training run, `bench ml` calls its
`after_training(context)` (see SERVING_HOOK) with the running stack, so both share one setup.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import math
import os
import shutil
import tempfile
import time
from pathlib import Path

from mwaa_local import arguments

HELP = "ml_train end to end on 100,000 customers: per-stage times (< 90 s), peak memory"
RUN_TARGET_S = 90.0
START = dt.date(2026, 1, 1)
HISTORY_DAYS = 120
CUSTOMERS_WITH_HISTORY = 0.45  # share of the generated customers who ordered before the cutoff (measured)
STAGES = {  # stage -> ml_train task ids
    "features": ("plan", "build_features", "check_features"),
    "unload": ("unload_splits",),
    "training": ("train",),
    "logging/registration": ("log_training", "register_and_promote", "publish_champion"),
}
SERVING_HOOK = ("mwaa_local.benchmarks.ml_serving", "after_training")


def stage_seconds(tasks: dict[str, tuple[dt.datetime, dt.datetime]]) -> dict[str, float]:
    """Seconds per stage: first start to last end of its tasks (from etl.stage_times' per-task spans)."""
    out = {}
    for stage, task_ids in STAGES.items():
        spans = [span for task, span in tasks.items() if task in task_ids]
        if spans:
            out[stage] = (max(e for _, e in spans) - min(s for s, _ in spans)).total_seconds()
    return out


def _warehouse(stack, plan, config) -> dict:
    from mwaa_local.redshift_query import query
    from mwaa_local.seed import warehouse
    from mwaa_platform.warehouse_sql import schema_statements

    redshift, s3 = stack.client("redshift-data"), stack.client("s3")
    workgroup, database = config["redshift"]["workgroup"], config["redshift"]["database"]
    for statement in schema_statements():
        query(redshift, statement, workgroup, database)
    return warehouse.load_orders(redshift, s3, config["data_lake_bucket"], config["redshift"]["iam_role"], plan,
                                 workgroup, database)


def _serving(context: dict) -> int | None:
    """The serving benchmark's hook, when its module exists: returns its exit code (None: not there)."""
    module_name, function = SERVING_HOOK
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        return None
    hook = getattr(module, function, None)
    return None if hook is None else hook(context)


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mwaa-local bench ml", description=HELP)
    parser.add_argument("--customers", type=arguments.positive, default=100_000,
                        help="customers in the training population (about; those who ordered before the cutoff)")
    parser.add_argument("--seed", type=arguments.seed, default=42)
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (logs, Airflow home) for a look")
    args = parser.parse_args(argv)

    import psutil

    from mwaa_local import dag_runner, mlflow_server, postgres, provision
    from mwaa_local.benchmarks.etl import MemorySampler, _mb, stage_times
    from mwaa_local.cloud import process
    from mwaa_local.cloud.process import free_port
    from mwaa_local.local_stack import LocalStack
    from mwaa_local.redshift_query import query
    from mwaa_local.seed.generate import Plan

    tmp = Path(tempfile.mkdtemp(prefix="mwaa-bench-ml-"))
    os.chmod(tmp, 0o755)  # as root, PostgreSQL runs as the `pgserver` user and must reach its data dir
    customers = math.ceil(args.customers / CUSTOMERS_WITH_HISTORY)
    plan = Plan(orders=max(1, customers // 10), start=START, days=1, seed=args.seed, history_days=HISTORY_DAYS,
                customer_count=customers)
    config = provision.local_settings()
    pg_dsn = postgres.ensure_server(tmp / "postgres", port=0)
    mlflow_state = tmp / "mlflow"
    code = 1
    try:
        with process.start(ephemeral=True, log_file=tmp / "cloud.log") as cloud:
            started = time.perf_counter()
            stack = LocalStack.up(cloud.endpoint_url, postgres.create_database("ml_source", pg_dsn), tmp / "airflow")
            server = mlflow_server.ensure_server(cloud.endpoint_url, config["mlflow"]["artifact_bucket"],
                                                 port=free_port(), state_dir=mlflow_state, postgres_dsn=pg_dsn)
            provision.provision(cloud.endpoint_url, {config["mlflow"]["connection_id"]: server.connection()})
            rows = _warehouse(stack, plan, config)
            print(f"setup (not timed) {time.perf_counter() - started:.1f} s: local cloud, MLflow at {server.url}, "
                  f"warehouse with {rows['orders']:,} orders / {rows['order_items']:,} order lines of "
                  f"{plan.customers:,} customers ({HISTORY_DAYS} days of history)")

            def dag_test() -> list[int]:
                return [c.pid for c in psutil.Process().children() if c.pid not in (cloud.process.pid, server.pid)]

            groups = {"local cloud + training job": lambda: [cloud.process.pid], "dag.test": dag_test,
                      "MLflow server": lambda: [server.pid] if server.pid else []}
            with MemorySampler(groups, counted=tuple(groups)) as memory:
                started = time.perf_counter()
                result = dag_runner.run_dag("ml_train", stack.env(), log_file=tmp / "ml_train.log")
                wall = time.perf_counter() - started
            redshift = stack.client("redshift-data")
            population = query(redshift, "SELECT split, COUNT(*) AS n, SUM(label) AS positives FROM "
                               "ml.customer_features GROUP BY split ORDER BY split",
                               config["redshift"]["workgroup"], config["redshift"]["database"]) if result.ok else []
            _, tasks = stage_times(result.log_file.read_text())
            print(f"\nml_train: {result.state} in {wall:.1f} s wall (dag.test process start to exit)")
            for row in population:
                print(f"  {row['split']:<10} {row['n']:>8,} customers, {row['positives']:,} bought again")
            for stage, seconds in stage_seconds(tasks).items():
                print(f"  {stage:<21} {seconds:6.1f} s")
            if tasks:
                ran = (max(e for _, e in tasks.values()) - min(s for s, _ in tasks.values())).total_seconds()
                print(f"  tasks ran {ran:.1f} s; process start, DAG parse, DB setup and exit: {wall - ran:.1f} s")
            print(f"peak RSS per part ({memory.samples} samples, every 0.2 s): "
                  + ", ".join(f"{k} {_mb(v)}" for k, v in memory.peak_by_group.items()))
            print(f"peak RSS of local cloud + dag.test + MLflow at one instant: {_mb(memory.peak_total)}")
            ok = result.ok and wall < RUN_TARGET_S
            print(f"target: ml_train < {RUN_TARGET_S:.0f} s ({'ok' if wall < RUN_TARGET_S else 'MISSED'})")
            print("ml benchmark:", "within target" if ok else "OUTSIDE TARGET")
            code = 0 if ok else 1
            serving = _serving({"stack": stack, "config": config, "mlflow": server, "tmp": tmp,
                                "registered_model": config["mlflow"]["registered_model"]}) if result.ok else None
            if serving:
                code = code or serving
    finally:
        mlflow_server.stop_at(mlflow_state)
        postgres.stop(tmp / "postgres")
    if args.keep or code:
        print(f"kept {tmp} (ml_train log, cloud log, Airflow home)")
    else:
        shutil.rmtree(tmp, ignore_errors=True)
    return code
