"""The bodies of ml_train's Python tasks (Airflow hooks in, plain results out)."""

from __future__ import annotations

import datetime as dt


def _redshift_client(aws_conn_id: str | None = "aws_default"):
    from airflow.providers.amazon.aws.hooks.redshift_data import RedshiftDataHook

    return RedshiftDataHook(aws_conn_id=aws_conn_id).conn


def plan(dag_id: str, run_id: str, conf: dict, aws_conn_id: str | None = "aws_default") -> dict:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.sdk.exceptions import AirflowFailException

    from mwaa_platform.ml import plan as ml_plan
    from mwaa_platform.ml import training
    from mwaa_platform.ml.redshift_reads import query_rows
    from mwaa_platform.settings import settings

    config = settings()
    ml = config["ml"]
    latest = query_rows(_redshift_client(aws_conn_id), "SELECT MAX(created_at) FROM analytics.fact_orders",
                        config["redshift"]["workgroup"], config["redshift"]["database"])[0][0]
    latest = dt.datetime.fromisoformat(str(latest)) if latest else None
    try:
        cutoff = ml_plan.choose_cutoff(latest, ml["label_days"], conf.get("cutoff"))
    except ml_plan.PlanError as exc:
        raise AirflowFailException(str(exc)) from exc
    body, digest = training.source_bundle()
    key = f"{ml['prefix']}/code/{digest}/sourcedir.tar.gz"  # content-addressed: a retry rewrites the same object
    S3Hook(aws_conn_id=aws_conn_id).load_bytes(body, key, ml["bucket"], replace=True)
    hps = {"n_estimators": 100, "max_depth": 3, "learning_rate": 0.1, "seed": 7}
    if conf.get("label_shuffle_seed") is not None:
        hps["label_shuffle_seed"] = int(conf["label_shuffle_seed"])
    return ml_plan.make_plan(dag_id=dag_id, run_id=run_id, cutoff=cutoff, config=config,
                             source_uri=f"s3://{ml['bucket']}/{key}", hyperparameters=hps)


def check_features(cutoff: str, aws_conn_id: str | None = "aws_default") -> dict:
    from airflow.sdk.exceptions import AirflowFailException

    from mwaa_platform.ml import features
    from mwaa_platform.ml.redshift_reads import query_rows
    from mwaa_platform.settings import settings

    config = settings()
    rows = query_rows(_redshift_client(aws_conn_id), features.SUMMARY_SQL, config["redshift"]["workgroup"],
                      config["redshift"]["database"])
    try:
        counts = features.check_training_data(rows, config["ml"]["min_validation_rows"],
                                              dt.datetime.fromisoformat(cutoff))
    except features.TrainingDataError as exc:  # the data will not change on a retry
        raise AirflowFailException(str(exc)) from exc
    return {f"{split}_{label}": n for (split, label), n in counts.counts.items()}
