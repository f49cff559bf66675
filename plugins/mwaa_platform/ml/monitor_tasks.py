"""The bodies of the drift-monitoring tasks (Airflow hooks in, plain results out): ml_train's `log_baseline`, and
ml_monitor's `plan` (champion, baseline, cutoff, SQL) and `measure_drift` (compare, report, log to MLflow)."""

from __future__ import annotations

import datetime as dt
import io
import json
import tempfile
from pathlib import Path

from mwaa_platform.ml.tasks import _redshift_client

CHAMPION = "champion"


def _fail(message: str):
    from airflow.sdk.exceptions import AirflowFailException

    return AirflowFailException(message)


def _mlflow(conn_id: str):
    from mwaa_platform.hooks.mlflow_hook import MlflowHook
    from mwaa_platform.ml.mlflow_target import MlflowConnectionError

    hook = MlflowHook(conn_id)
    try:
        return hook, hook.get_conn()
    except MlflowConnectionError as exc:  # a wrong connection will not fix itself on a retry
        raise _fail(str(exc)) from exc


def read_csv_prefix(s3_hook, uri: str):
    """Every CSV part UNLOAD wrote under s3://bucket/prefix/ as one pandas frame (header row per part)."""
    import pandas as pd

    from mwaa_platform.ml.tracking import split_s3

    bucket, prefix = split_s3(uri)
    keys = sorted(k for k in s3_hook.list_keys(bucket, prefix) or [] if not k.endswith("/"))
    if not keys:
        raise _fail(f"no data under {uri}: the UNLOAD before this task wrote nothing")
    parts = [pd.read_csv(io.BytesIO(s3_hook.get_key(k, bucket).get()["Body"].read())) for k in keys]
    return pd.concat(parts, ignore_index=True)


# ---- ml_train: the baseline ---------------------------------------------------------------------------------------

def log_baseline(logged: dict, training_config: dict, cutoff: str, aws_conn_id: str | None = "aws_default") -> dict:
    """Profiles the training split and the model's validation scores; logs monitoring/baseline.json to the run."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from mwaa_platform.ml import baseline, model_scores
    from mwaa_platform.ml.features import LABEL
    from mwaa_platform.settings import settings

    config = settings()
    monitoring = config["monitoring"]
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in training_config["InputDataConfig"]}
    s3 = S3Hook(aws_conn_id=aws_conn_id)
    train, validation = read_csv_prefix(s3, channels["train"]), read_csv_prefix(s3, channels["validation"])
    names = [c for c in train.columns if c != LABEL]
    hook, client = _mlflow(config["mlflow"]["connection_id"])
    with hook.errors("load the trained model from"):
        scores = model_scores.score(logged["model_uri"], validation, names)
    profile = baseline.build(train, names, scores, bins=monitoring["bins"], sample_size=monitoring["sample_size"],
                             meta={"run_id": logged["run_id"], "model_uri": logged["model_uri"], "cutoff": cutoff,
                                   "training_job_name": training_config["TrainingJobName"],
                                   "data": {"train": channels["train"], "validation": channels["validation"]}})
    with hook.errors("log the monitoring baseline to"):
        client.log_dict(logged["run_id"], profile, baseline.ARTIFACT_PATH)  # same path on a retry: overwritten
        client.set_tag(logged["run_id"], "monitoring.baseline", baseline.ARTIFACT_PATH)
    return {"artifact": baseline.ARTIFACT_PATH, "rows": profile["rows"], "features": names,
            "validation_scores": len(scores)}


# ---- ml_monitor ---------------------------------------------------------------------------------------------------

def champion_version(client, name: str):
    """The version holding alias `champion`, or None when there is none (no registered model or no alias)."""
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, CHAMPION)
    except MlflowException as exc:
        if "RESOURCE_DOES_NOT_EXIST" in str(exc.error_code) or "not found" in str(exc).lower():
            return None
        raise


def load_baseline(client, version) -> dict:
    from mlflow.exceptions import MlflowException

    from mwaa_platform.ml import baseline

    where = f"champion version {version.version} (run {version.run_id})"
    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(version.run_id, baseline.ARTIFACT_PATH, tmp)
        except (MlflowException, OSError) as exc:
            raise baseline.BaselineError(
                f"{where} has no {baseline.ARTIFACT_PATH}: it was trained before ml_train saved monitoring "
                "baselines; retrain it (trigger ml_train) to monitor it") from exc
        try:
            loaded = json.loads(Path(path).read_text())
        except ValueError as exc:
            raise baseline.BaselineError(f"{where}: {baseline.ARTIFACT_PATH} is not JSON ({exc})") from exc
    return baseline.validate(loaded, where)


def choose_cutoff(latest_order: dt.datetime | None, today: dt.datetime, requested: str | None) -> dt.datetime:
    """The run conf's cutoff, else today's midnight, but never after the day following the warehouse's latest order
    (a warehouse that stopped loading is the ETL's freshness problem, not drift of the customers)."""
    if latest_order is None:
        raise _fail("analytics.fact_orders is empty: load the warehouse (run retail_etl) before monitoring")
    if requested:
        try:
            return dt.datetime.fromisoformat(str(requested)).replace(tzinfo=None)
        except ValueError as exc:
            raise _fail(f"run conf cutoff {requested!r} is not an ISO date (YYYY-MM-DD[THH:MM:SS])") from exc
    midnight = dt.datetime.combine(today.date(), dt.time())
    return min(midnight, dt.datetime.combine(latest_order.date() + dt.timedelta(days=1), dt.time()))


def plan(run_id: str, conf: dict, today: dt.datetime, aws_conn_id: str | None = "aws_default") -> dict:
    from airflow.sdk.exceptions import AirflowSkipException

    from mwaa_platform.ml import baseline, features, training
    from mwaa_platform.ml.redshift_reads import query_rows
    from mwaa_platform.settings import settings

    config = settings()
    ml, monitoring, redshift = config["ml"], config["monitoring"], config["redshift"]
    name = config["mlflow"]["registered_model"]
    hook, client = _mlflow(config["mlflow"]["connection_id"])
    with hook.errors("read the champion from"):
        version = champion_version(client, name)
        if version is None:
            raise AirflowSkipException(f"no champion yet: registered model {name!r} has no version with alias "
                                       f"'{CHAMPION}'; run ml_train first (nothing to monitor)")
        try:
            load_baseline(client, version)  # fail here, before any SQL, if it cannot be monitored
        except baseline.BaselineError as exc:
            raise _fail(str(exc)) from exc
    latest = query_rows(_redshift_client(aws_conn_id), "SELECT MAX(created_at) FROM analytics.fact_orders",
                        redshift["workgroup"], redshift["database"])[0][0]
    cutoff = choose_cutoff(dt.datetime.fromisoformat(str(latest)) if latest else None, today, conf.get("cutoff"))
    table = monitoring["feature_table"]
    uri = f"s3://{ml['bucket']}/{ml['prefix']}/monitor/runs/{training.run_prefix(run_id)}/features/"
    select = features.feature_select(cutoff, ml["label_days"], ml["validation_percent"])
    return {
        "cutoff": cutoff.isoformat(),
        "champion": {"version": str(version.version), "run_id": version.run_id, "model_uri": f"models:/{name}/"
                     f"{version.version}"},
        "build_sql": [f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}", f"DROP TABLE IF EXISTS {table}",
                      f"CREATE TABLE {table} AS {select}"],
        "unload_sql": (f"UNLOAD ('SELECT * FROM {table} ORDER BY customer_id') TO '{uri}' "
                       f"IAM_ROLE '{redshift['iam_role']}' FORMAT AS CSV HEADER PARALLEL OFF ALLOWOVERWRITE"),
        "features_uri": uri,
    }


def table_scores(redshift_client, scores: dict, version: str, workgroup: str, database: str):
    """The champion version's latest batch scores from the scoring table, or None when the table or its rows are
    absent (ml_batch_score has not run for this version)."""
    import numpy as np

    from mwaa_platform.ml.redshift_reads import query_rows

    schema, _, table = scores["table"].rpartition(".")
    exists = query_rows(redshift_client, "SELECT COUNT(*) FROM information_schema.tables WHERE "
                        f"table_schema = '{schema or 'public'}' AND table_name = '{table}'", workgroup, database)
    if not int(exists[0][0]):
        return None
    where = f"CAST({scores['version_column']} AS VARCHAR) = '{int(version)}'"
    rows = query_rows(redshift_client, f"SELECT {scores['score_column']} FROM {scores['table']} WHERE {where} AND "
                      f"{scores['date_column']} = (SELECT MAX({scores['date_column']}) FROM {scores['table']} "
                      f"WHERE {where})", workgroup, database)
    return np.asarray([float(r[0]) for r in rows if r[0] is not None]) if rows else None


def _monitoring_run(client, experiment: str, tags: dict) -> tuple[str, str]:
    from mlflow.exceptions import MlflowException

    existing = client.get_experiment_by_name(experiment)
    try:
        experiment_id = existing.experiment_id if existing else client.create_experiment(experiment)
    except MlflowException:  # created meanwhile
        experiment_id = client.get_experiment_by_name(experiment).experiment_id
    query = (f"tags.`airflow.dag_id` = '{tags['airflow.dag_id']}' and "
             f"tags.`airflow.run_id` = '{tags['airflow.run_id']}'")
    found = client.search_runs([experiment_id], query, max_results=1)  # a retry reuses its run: no ghost runs
    run = found[0] if found else client.create_run(experiment_id, tags=tags, run_name=f"monitor-{tags['cutoff']}")
    return experiment_id, run.info.run_id


def measure(the_plan: dict, dag_id: str, run_id: str, aws_conn_id: str | None = "aws_default") -> dict:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from mlflow.entities import Metric, RunTag

    from mwaa_platform.ml import baseline, drift_report, model_scores, monitor
    from mwaa_platform.settings import settings

    config = settings()
    monitoring, redshift = config["monitoring"], config["redshift"]
    thresholds = monitor.Thresholds.from_settings(monitoring["thresholds"])
    champion = the_plan["champion"]
    hook, client = _mlflow(config["mlflow"]["connection_id"])
    with hook.errors("read the champion's baseline from"):
        version = client.get_model_version(config["mlflow"]["registered_model"], champion["version"])
        try:
            profile = load_baseline(client, version)
        except baseline.BaselineError as exc:
            raise _fail(str(exc)) from exc
    current = read_csv_prefix(S3Hook(aws_conn_id=aws_conn_id), the_plan["features_uri"])
    try:
        monitor.check_columns(list(current.columns), profile)
    except monitor.InputSchemaError as exc:
        raise _fail(str(exc)) from exc
    names = list(profile["features"])
    scores = table_scores(_redshift_client(aws_conn_id), monitoring["scores"], champion["version"],
                          redshift["workgroup"], redshift["database"])
    source = f"table {monitoring['scores']['table']}"
    if scores is None or len(scores) == 0:
        with hook.errors("load the champion from"):
            scores = model_scores.score(champion["model_uri"], current, names)
        source = f"champion {champion['model_uri']} scored the current features (no batch scores for this version)"
    try:
        verdict = monitor.evaluate(current, profile, scores, source, thresholds)
    except monitor.InputSchemaError as exc:
        raise _fail(str(exc)) from exc

    tags = {"airflow.dag_id": dag_id, "airflow.run_id": run_id, "cutoff": the_plan["cutoff"],
            "champion.version": champion["version"], "champion.run_id": champion["run_id"],
            "score_source": source}
    title = f"Drift of {config['mlflow']['registered_model']} v{champion['version']} at {the_plan['cutoff']}"
    with hook.errors("log the drift report to"), tempfile.TemporaryDirectory() as tmp:
        experiment_id, mlflow_run = _monitoring_run(client, monitoring["experiment"], tags)
        folder = Path(tmp)
        image = drift_report.plot(verdict, folder / "drift_plots.png")
        (folder / "drift_report.html").write_text(drift_report.render_html(verdict, title, tags, image))
        summary = {"drifted": verdict.drifted, "reasons": verdict.reasons, "quality": verdict.quality,
                   "drifted_features": verdict.drifted_features, "metrics": verdict.metrics(), **tags}
        (folder / "drift_summary.json").write_text(json.dumps(summary, indent=2))
        client.log_batch(mlflow_run, metrics=[Metric(k, v, 0, 0) for k, v in verdict.metrics().items()],
                         tags=[RunTag("drift.verdict", "drift" if verdict.drifted else "no_drift"), *(
                             RunTag(k, v) for k, v in tags.items())])
        client.log_artifacts(mlflow_run, tmp, "drift")
        client.set_terminated(mlflow_run, "FINISHED")
    url = hook.target().ui_url
    summary["mlflow_run_url"] = f"{url}/#/experiments/{experiment_id}/runs/{mlflow_run}" if url else ""
    summary["mlflow_run_id"] = mlflow_run
    return summary
