"""Serving the repeat-purchase model through the local cloud: batch scoring of N customers end to end as
ml_batch_score does it (UNLOAD of the features from Redshift -> SageMaker batch transform with the real inference
script -> COPY + replace in one transaction into ml.customer_scores) and InvokeEndpoint latency of the same model.

Starts its own ephemeral local cloud; the model is a small gradient boosting model saved as train_repeat_purchase.py
saves it (no MLflow: the registry lookup is not what is timed). Targets: 100,000 customers scored < 30 s end to end;
InvokeEndpoint p50 < 20 ms. `serving_numbers(client, customers, invocations)` is what `bench ml` reuses.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tarfile
import time

HELP = "batch scoring of 100,000 customers into Redshift (< 30 s) and InvokeEndpoint p50 (< 20 ms) of the ML model"
SCORE_TARGET_S, P50_TARGET_MS = 30.0, 20.0
BUCKET, ROLE = "bench-ml-serving", "arn:aws:iam::123456789012:role/bench"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
WORKGROUP, DATABASE, SCORE_DATE = "local-wg", "dev", "2026-05-01"


def _plugins():
    from mwaa_local import paths

    if str(paths.PLUGINS) not in sys.path:
        sys.path.insert(0, str(paths.PLUGINS))


def _sql(client, statements: list[str] | str, timeout: float = 600) -> None:
    rs = client("redshift-data")
    batch = [statements] if isinstance(statements, str) else statements
    statement = rs.batch_execute_statement(Sqls=batch, WorkgroupName=WORKGROUP, Database=DATABASE)["Id"]
    deadline = time.perf_counter() + timeout
    while (described := rs.describe_statement(Id=statement))["Status"] not in ("FINISHED", "FAILED", "ABORTED"):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"statement still {described['Status']} after {timeout} s")
        time.sleep(0.05)
    if described["Status"] != "FINISHED":
        raise RuntimeError(f"{described.get('Error')} ({batch[0][:120]})")


def _warehouse(client, customers: int) -> None:
    """3 orders per customer over 120 days, with basket lines, written by the warehouse itself."""
    from mwaa_local import paths

    schema = "\n".join(line for line in paths.INCLUDE.joinpath("sql", "schema.sql").read_text().splitlines()
                       if not line.strip().startswith("--"))
    _sql(client, [s.strip() for s in schema.split(";") if s.strip()])
    orders = customers * 3
    _sql(client, f"INSERT INTO analytics.fact_orders SELECT g, MOD(g, {customers}) + 1, 'paid', 'EUR', "
                 "MOD(g * 7919, 200) + 5, TIMESTAMP '2026-01-01 00:00:00' + MOD(g * 31, 120) * INTERVAL '1 day', "
                 f"TIMESTAMP '2026-01-01 00:00:00' FROM generate_series(1, {orders}) AS t(g)")
    _sql(client, "INSERT INTO analytics.fact_order_items SELECT order_id, order_id, MOD(order_id, 50) + 1, "
                 "MOD(order_id, 3) + 1, 10, total_amount, created_at, updated_at FROM analytics.fact_orders")


def _model(client) -> str:
    import joblib
    import numpy as np
    import pandas as pd
    from sklearn.ensemble import GradientBoostingClassifier

    from mwaa_platform.ml import features, training

    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(2000, len(features.FEATURES))), columns=features.FEATURES)
    model = GradientBoostingClassifier(n_estimators=100, max_depth=3).fit(x, (x.iloc[:, 0] > 0).astype(int))
    buffer, archive_bytes = io.BytesIO(), io.BytesIO()
    joblib.dump(model, buffer)
    with tarfile.open(fileobj=archive_bytes, mode="w:gz") as archive:
        for name, data in (("model.joblib", buffer.getvalue()), ("feature_names.json",
                                                                  json.dumps(features.FEATURES).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    s3 = client("s3")
    s3.put_object(Bucket=BUCKET, Key="model/model.tar.gz", Body=archive_bytes.getvalue())
    s3.put_object(Bucket=BUCKET, Key="code/sourcedir.tar.gz", Body=training.source_bundle()[0])
    return f"s3://{BUCKET}/model/model.tar.gz"


def _wait(read, done, timeout: float = 600, poll: float = 0.05):
    deadline = time.perf_counter() + timeout
    while not done(value := read()):
        if time.perf_counter() > deadline:
            raise TimeoutError(f"not done within {timeout} s: {value}")
        time.sleep(poll)
    return value


def serving_numbers(client, customers: int = 100_000, invocations: int = 500) -> dict:
    """Seconds per batch-scoring stage and in total, and InvokeEndpoint latencies (ms), on an empty local cloud."""
    import datetime as dt

    _plugins()
    from mwaa_platform.ml import champion, deployment, scoring

    client("s3").create_bucket(Bucket=BUCKET)
    _warehouse(client, customers)
    found = champion.Champion("bench-model", 1, "bench", _model(client), "bench")
    sm, day = client("sagemaker"), dt.date.fromisoformat(SCORE_DATE)
    name = scoring.model_name(found, f"s3://{BUCKET}/code/sourcedir.tar.gz")
    sm.create_model(**scoring.model_config(name, found, IMAGE, ROLE, f"s3://{BUCKET}/code/sourcedir.tar.gz"))
    stages, started = {}, time.perf_counter()
    _sql(client, scoring.unload_features_sql(day, f"s3://{BUCKET}/scoring/features/", ROLE, 30, 20))
    stages["unload"] = time.perf_counter() - started
    sm.create_transform_job(**scoring.transform_config("bench-score", name, f"s3://{BUCKET}/scoring/features/",
                                                       f"s3://{BUCKET}/scoring/output/", "ml.m5.large"))
    described = _wait(lambda: sm.describe_transform_job(TransformJobName="bench-score"),
                      lambda d: d["TransformJobStatus"] not in ("InProgress", "Stopping"))
    if described["TransformJobStatus"] != "Completed":
        raise RuntimeError(f"transform failed: {described.get('FailureReason')}")
    stages["transform"] = time.perf_counter() - started - stages["unload"]
    _sql(client, [*scoring.create_table_sql("ml.customer_scores"), *scoring.replace_scores_sql(
        "ml.customer_scores", f"s3://{BUCKET}/scoring/output/", ROLE, found, day, "bench")])
    stages["load"] = time.perf_counter() - started - stages["unload"] - stages["transform"]
    total = time.perf_counter() - started

    config = deployment.endpoint_config_name("bench-endpoint", found, name, "ml.m5.large", 1)
    sm.create_endpoint_config(**deployment.endpoint_config_request(config, name, "ml.m5.large", 1, found))
    sm.create_endpoint(EndpointName="bench-endpoint", EndpointConfigName=config)
    _wait(lambda: sm.describe_endpoint(EndpointName="bench-endpoint")["EndpointStatus"], lambda s: s != "Creating")
    runtime, body = client("sagemaker-runtime"), b"1,10.0,100.0,3,150.0,50.0,80.0,2.0,2.0"
    for _ in range(20):  # warm the connections
        runtime.invoke_endpoint(EndpointName="bench-endpoint", Body=body, ContentType="text/csv", Accept="text/csv")
    latencies = []
    for _ in range(invocations):
        begun = time.perf_counter()
        runtime.invoke_endpoint(EndpointName="bench-endpoint", Body=body, ContentType="text/csv",
                                Accept="text/csv")["Body"].read()
        latencies.append((time.perf_counter() - begun) * 1000)
    latencies.sort()
    return {"customers": customers, "stages_s": stages, "score_s": total,
            "p50_ms": latencies[len(latencies) // 2], "p99_ms": latencies[int(len(latencies) * 0.99) - 1]}


def report(numbers: dict) -> bool:
    stages = ", ".join(f"{k} {v:.1f} s" for k, v in numbers["stages_s"].items())
    print(f"batch scoring of {numbers['customers']:,} customers: {numbers['score_s']:.1f} s ({stages}) "
          f"(target < {SCORE_TARGET_S:.0f} s)")
    print(f"InvokeEndpoint: p50 {numbers['p50_ms']:.1f} ms, p99 {numbers['p99_ms']:.1f} ms "
          f"(target p50 < {P50_TARGET_MS:.0f} ms)")
    return numbers["score_s"] < SCORE_TARGET_S and numbers["p50_ms"] < P50_TARGET_MS


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mwaa-local bench ml_serving", description=HELP)
    parser.add_argument("--customers", type=int, default=100_000, help="customers to score (default 100,000)")
    parser.add_argument("--invocations", type=int, default=500, help="InvokeEndpoint calls (default 500)")
    args = parser.parse_args(argv)

    from mwaa_local.cloud import process

    with process.start(ephemeral=True) as cloud:
        ok = report(serving_numbers(process.clients(cloud.endpoint_url), args.customers, args.invocations))
    print("ml serving benchmark:", "within targets" if ok else "OUTSIDE TARGETS")
    return 0 if ok else 1
