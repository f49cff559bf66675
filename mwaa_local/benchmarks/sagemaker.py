"""SageMaker in the local cloud: create-to-script-start of training jobs, InvokeEndpoint latency of a small
scikit-learn model, a 100,000-line batch transform, and no process left behind after 50 jobs.

Starts its own ephemeral local cloud. Targets: create-to-script-start < 2 s (no data to stage); InvokeEndpoint p50
< 20 ms and p99 < 50 ms; a transform of 100,000 CSV lines < 10 s; 0 processes left after 50 jobs.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

HELP = ("SageMaker create-to-script-start (< 2 s), InvokeEndpoint p50/p99 (< 20/50 ms), a 100,000-line transform "
        "(< 10 s), no process left after 50 jobs")
START_TARGET_S, P50_TARGET_MS, P99_TARGET_MS, TRANSFORM_TARGET_S = 2.0, 20.0, 50.0, 10.0
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
ROLE = "arn:aws:iam::123456789012:role/bench"
START_SCRIPT = b"import time\nprint(f'started at {time.time()}', flush=True)\n"
INFERENCE = b"""import os
import joblib


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "model.joblib"))
"""




def _wait(read, done, timeout: float = 300, poll: float = 0.02):
    deadline = time.perf_counter() + timeout
    while True:
        value = read()
        if done(value):
            return value
        if time.perf_counter() > deadline:
            raise TimeoutError(f"not done within {timeout} s: {value}")
        time.sleep(poll)


def _training_config(name: str, source: str) -> dict:
    return {"TrainingJobName": name, "RoleArn": ROLE,
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "HyperParameters": {"sagemaker_program": '"start.py"', "sagemaker_submit_directory": f'"{source}"'},
            "OutputDataConfig": {"S3OutputPath": "s3://bench-sm/output"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 1},
            "StoppingCondition": {"MaxRuntimeInSeconds": 300}}


def _start_latency(client, runs: int) -> list[float]:
    sm, logs = client("sagemaker"), client("logs")
    latencies = []
    for n in range(runs):
        name = f"bench-start-{n}"
        created = time.time()
        sm.create_training_job(**_training_config(name, "s3://bench-sm/code/start.tar.gz"))
        _wait(lambda name=name: sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"],
              lambda status: status != "InProgress")
        stream = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs",
                                           logStreamNamePrefix=f"{name}/")["logStreams"][0]["logStreamName"]
        line = logs.get_log_events(logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream,
                                   startFromHead=True)["events"][0]["message"]
        latencies.append(float(line.rsplit(" ", 1)[1]) - created)
    return latencies


def _many_jobs(client, count: int) -> int:
    """Starts `count` jobs at once, waits for all, returns how many job processes are left afterwards."""
    from mwaa_local.cloud import jobs

    sm = client("sagemaker")
    names = [f"bench-many-{n}" for n in range(count)]
    for name in names:
        sm.create_training_job(**_training_config(name, "s3://bench-sm/code/start.tar.gz"))
    for name in names:
        _wait(lambda name=name: sm.describe_training_job(TrainingJobName=name)["TrainingJobStatus"],
              lambda status: status != "InProgress", poll=0.2)
    time.sleep(1)  # the runner reaps a group within its exit grace
    return len([pid for pid, job_id, _ in jobs._marked_processes() if job_id.startswith("sagemaker-training-")])


def _endpoint(client, invocations: int) -> list[float]:
    import joblib
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    from mwaa_local.cloud.sagemaker import staging

    rng = np.random.default_rng(0)
    x = rng.normal(size=(2000, 5))
    model = LogisticRegression().fit(x, (x.sum(axis=1) > 0).astype(int))
    buffer = io.BytesIO()
    joblib.dump(model, buffer)
    s3, sm = client("s3"), client("sagemaker")
    s3.put_object(Bucket="bench-sm", Key="model/model.tar.gz",
                  Body=staging.tar_gz_bytes({"model.joblib": buffer.getvalue()}))
    s3.put_object(Bucket="bench-sm", Key="code/inference.tar.gz", Body=staging.tar_gz_bytes({"inference.py": INFERENCE}))
    sm.create_model(ModelName="bench-model", ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": IMAGE, "ModelDataUrl": "s3://bench-sm/model/model.tar.gz",
        "Environment": {"SAGEMAKER_PROGRAM": "inference.py",
                        "SAGEMAKER_SUBMIT_DIRECTORY": "s3://bench-sm/code/inference.tar.gz"}})
    sm.create_endpoint_config(EndpointConfigName="bench-config", ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": "bench-model", "InstanceType": "ml.m5.large",
         "InitialInstanceCount": 1}])
    sm.create_endpoint(EndpointName="bench-endpoint", EndpointConfigName="bench-config")
    _wait(lambda: sm.describe_endpoint(EndpointName="bench-endpoint")["EndpointStatus"],
          lambda status: status != "Creating")
    runtime = client("sagemaker-runtime")
    body = b"0.1,0.2,0.3,0.4,0.5\n"
    for _ in range(20):  # warm the connections
        runtime.invoke_endpoint(EndpointName="bench-endpoint", Body=body, ContentType="text/csv")
    latencies = []
    for _ in range(invocations):
        started = time.perf_counter()
        runtime.invoke_endpoint(EndpointName="bench-endpoint", Body=body, ContentType="text/csv")["Body"].read()
        latencies.append((time.perf_counter() - started) * 1000)
    return latencies


def _transform(client, lines: int) -> float:
    import numpy as np

    rows = np.random.default_rng(1).normal(size=(lines, 5))
    client("s3").put_object(Bucket="bench-sm", Key="batch/in.csv",
                            Body="\n".join(",".join(f"{v:.5f}" for v in row) for row in rows).encode())
    sm = client("sagemaker")
    started = time.perf_counter()
    sm.create_transform_job(
        TransformJobName="bench-transform", ModelName="bench-model", BatchStrategy="MultiRecord", MaxPayloadInMB=6,
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bench-sm/batch/"}},
                        "ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": "s3://bench-sm/scores/", "Accept": "text/csv", "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    described = _wait(lambda: sm.describe_transform_job(TransformJobName="bench-transform"),
                      lambda d: d["TransformJobStatus"] not in ("InProgress", "Stopping"), poll=0.05)
    elapsed = time.perf_counter() - started
    if described["TransformJobStatus"] != "Completed":
        raise RuntimeError(f"transform failed: {described.get('FailureReason')}")
    return elapsed


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mwaa-local bench sagemaker", description=HELP)
    parser.add_argument("--runs", type=int, default=5, help="training jobs timed for start-up (default 5)")
    parser.add_argument("--invocations", type=int, default=500, help="InvokeEndpoint calls (default 500)")
    parser.add_argument("--lines", type=int, default=100_000, help="CSV lines to transform (default 100,000)")
    parser.add_argument("--jobs", type=int, default=50, help="jobs run at once for the leftover check (default 50)")
    args = parser.parse_args(argv)

    from mwaa_local.cloud import process
    from mwaa_local.cloud.sagemaker import staging

    with process.start(ephemeral=True) as cloud:
        client = process.clients(cloud.endpoint_url)
        client("s3").create_bucket(Bucket="bench-sm")
        client("s3").put_object(Bucket="bench-sm", Key="code/start.tar.gz",
                                Body=staging.tar_gz_bytes({"start.py": START_SCRIPT}))

        starts = _start_latency(client, args.runs)
        print(f"training create-to-script-start over {len(starts)} jobs: median {statistics.median(starts):.2f} s, "
              f"max {max(starts):.2f} s (target < {START_TARGET_S:.0f} s)")
        latencies = sorted(_endpoint(client, args.invocations))
        p50, p99 = latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99) - 1]
        print(f"InvokeEndpoint over {len(latencies)} calls: p50 {p50:.1f} ms, p99 {p99:.1f} ms "
              f"(targets < {P50_TARGET_MS:.0f} / {P99_TARGET_MS:.0f} ms)")
        transform_s = _transform(client, args.lines)
        print(f"transform of {args.lines:,} CSV lines: {transform_s:.1f} s (target < {TRANSFORM_TARGET_S:.0f} s)")
        left = _many_jobs(client, args.jobs)
        print(f"{args.jobs} training jobs at once: {left} job processes left afterwards (target 0)")
    ok = (max(starts) < START_TARGET_S and p50 < P50_TARGET_MS and p99 < P99_TARGET_MS
          and transform_s < TRANSFORM_TARGET_S and left == 0)
    print("sagemaker benchmark:", "within targets" if ok else "OUTSIDE TARGETS")
    return 0 if ok else 1
