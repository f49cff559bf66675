"""Glue in the local cloud: submit-to-RUNNING latency of job runs, and a crawler over many Parquet partitions.

Starts its own ephemeral local cloud. Targets: submit-to-RUNNING under 1 s; a crawl of 1,000 Parquet partitions
under 10 s (StartCrawler until the crawler is READY with its table and partitions in the catalog).
"""

from __future__ import annotations

import argparse
import statistics
import time

from mwaa_local import arguments

HELP = "Glue job submit-to-RUNNING latency (< 1 s) and a crawl of 1,000 Parquet partitions (< 10 s)"
RUNNING_TARGET_S = 1.0
CRAWL_TARGET_S = 10.0
SCRIPT = b"import time\nprint('started', flush=True)\ntime.sleep(0.5)\n"


def _wait(predicate, timeout: float, poll: float = 0.01):
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(poll)
    raise TimeoutError(f"not done within {timeout} s")


def _job_latency(client, runs: int) -> list[float]:
    s3, glue = client("s3"), client("glue")
    s3.put_object(Bucket="bench-glue", Key="scripts/wait.py", Body=SCRIPT)
    glue.create_job(Name="bench-job", Role="r", ExecutionProperty={"MaxConcurrentRuns": 1},
                    Command={"Name": "pythonshell", "ScriptLocation": "s3://bench-glue/scripts/wait.py"})
    latencies = []
    for _ in range(runs):
        started = time.perf_counter()
        run_id = glue.start_job_run(JobName="bench-job")["JobRunId"]

        def state(run_id=run_id):
            return glue.get_job_run(JobName="bench-job", RunId=run_id)["JobRun"]["JobRunState"]
        _wait(lambda: state() != "STARTING", 30)
        latencies.append(time.perf_counter() - started)
        _wait(lambda: state() not in ("RUNNING", "STOPPING"), 60, poll=0.05)
    return latencies


def _crawl(client, partitions: int) -> tuple[float, float, int, int]:
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    s3, glue = client("s3"), client("glue")
    upload_started = time.perf_counter()
    for i in range(partitions):
        day = f"{2020 + i // 365:04d}-{1 + (i % 365) // 31:02d}-{1 + (i % 365) % 31:02d}-{i}"
        sink = io.BytesIO()
        pq.write_table(pa.table({"id": [i, i + 1], "amount": [1.5, 2.5], "sku": ["a", "b"]}), sink)
        s3.put_object(Bucket="bench-glue", Key=f"lake/sales/dt={day}/part-0.parquet", Body=sink.getvalue())
    upload_s = time.perf_counter() - upload_started
    glue.create_database(DatabaseInput={"Name": "bench"})
    glue.create_crawler(Name="bench-crawler", Role="r", DatabaseName="bench",
                        Targets={"S3Targets": [{"Path": "s3://bench-glue/lake/"}]})
    started = time.perf_counter()
    glue.start_crawler(Name="bench-crawler")
    crawler = _wait(lambda: (c := glue.get_crawler(Name="bench-crawler")["Crawler"])["State"] == "READY"
                    and "LastCrawl" in c and c, 600, poll=0.05)
    crawl_s = time.perf_counter() - started
    if crawler["LastCrawl"]["Status"] != "SUCCEEDED":
        raise RuntimeError(f"crawl failed: {crawler['LastCrawl']}")
    tables = glue.get_tables(DatabaseName="bench")["TableList"]
    paginator = glue.get_paginator("get_partitions")
    found = sum(len(page["Partitions"]) for page in paginator.paginate(DatabaseName="bench", TableName="sales"))
    return upload_s, crawl_s, len(tables), found


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="mwaa-local bench glue", description=HELP)
    parser.add_argument("--runs", type=arguments.positive, default=10, help="job runs to time (default 10)")
    parser.add_argument("--partitions", type=arguments.positive, default=1000, help="Parquet partitions to crawl (default 1000)")
    args = parser.parse_args(argv)


    from mwaa_local.cloud import process

    with process.start(ephemeral=True) as cloud:
        client = process.clients(cloud.endpoint_url)
        client("s3").create_bucket(Bucket="bench-glue")

        latencies = _job_latency(client, args.runs)
        print(f"job submit-to-RUNNING over {len(latencies)} runs: median {statistics.median(latencies) * 1000:.0f} ms, "
              f"max {max(latencies) * 1000:.0f} ms (target < {RUNNING_TARGET_S * 1000:.0f} ms)")
        upload_s, crawl_s, tables, partitions = _crawl(client, args.partitions)
        print(f"uploaded {args.partitions} Parquet partitions in {upload_s:.1f} s (setup, not part of the target)")
        print(f"crawl of {args.partitions} Parquet partitions: {crawl_s:.2f} s -> {tables} table, {partitions} "
              f"partitions (target < {CRAWL_TARGET_S:.0f} s)")
    ok = max(latencies) < RUNNING_TARGET_S and crawl_s < CRAWL_TARGET_S and partitions == args.partitions
    print("glue benchmark:", "within targets" if ok else "OUTSIDE TARGETS")
    return 0 if ok else 1
