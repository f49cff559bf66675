"""The bodies of ml_batch_score's and ml_deploy's Python tasks (Airflow hooks in, plain results out); the rules live in
scoring.py and deployment.py."""

from __future__ import annotations

import datetime as dt

from mwaa_platform.ml.champion import Champion


def _fail(message: str):
    from airflow.sdk.exceptions import AirflowFailException

    return AirflowFailException(message)


def _query(sql: str, aws_conn_id: str | None) -> list[tuple]:
    from airflow.providers.amazon.aws.hooks.redshift_data import RedshiftDataHook

    from mwaa_platform.ml.redshift_reads import query_rows
    from mwaa_platform.settings import settings

    redshift = settings()["redshift"]
    return query_rows(RedshiftDataHook(aws_conn_id=aws_conn_id).conn, sql, redshift["workgroup"], redshift["database"])


def plan_scoring(champion: dict, conf: dict, run_after: dt.datetime | None, run_id: str,
                 aws_conn_id: str | None = "aws_default") -> dict:
    """Where this run's features and scores go, the transform job's request and the load's statements; fails when no
    customer has orders before the score date (nothing to score)."""
    from mwaa_platform.ml import scoring, training
    from mwaa_platform.settings import settings

    config = settings()
    ml, scoring_settings = config["ml"], config["scoring"]
    the_champion = Champion(**champion["champion"])
    try:
        day = scoring.score_date(conf, run_after)
        table = scoring.check_table_name(scoring_settings["scores_table"])
    except scoring.ScoringError as exc:
        raise _fail(str(exc)) from exc
    expected = int(_query(scoring.count_features_sql(day, ml["label_days"], ml["validation_percent"]),
                          aws_conn_id)[0][0])
    if expected == 0:
        raise _fail(f"no customer has orders before the score date {day}: load the warehouse (run retail_etl) or "
                    "pass a later score_date in the run conf")
    base = (f"s3://{ml['bucket']}/{scoring_settings['prefix']}/{day.isoformat()}/v{the_champion.version}/"
            f"{training.run_prefix(run_id)}")
    job = scoring.sagemaker_name(f"ml-score-{day:%Y%m%d}-v{the_champion.version}", run_id, str(the_champion.version))
    role = config["redshift"]["iam_role"]
    return {
        "score_date": day.isoformat(), "table": table, "expected": expected, "champion": champion["champion"],
        "unload_sql": scoring.unload_features_sql(day, f"{base}/features/", role, ml["label_days"],
                                                  ml["validation_percent"]),
        "transform_config": scoring.transform_config(job, champion["sagemaker_model"], f"{base}/features/",
                                                     f"{base}/output/", scoring_settings["instance_type"]),
        "load_sql": [*scoring.create_table_sql(table),
                     *scoring.replace_scores_sql(table, f"{base}/output/", role, the_champion, day, run_id)],
    }


def verify_scores(plan: dict, aws_conn_id: str | None = "aws_default") -> dict:
    from mwaa_platform.ml import scoring

    champion, day = Champion(**plan["champion"]), dt.date.fromisoformat(plan["score_date"])
    loaded, distinct = _query(scoring.slice_count_sql(plan["table"], champion, day), aws_conn_id)[0]
    try:
        scoring.check_loaded(int(plan["expected"]), int(loaded), int(distinct), plan["table"], day)
    except scoring.ScoringError as exc:
        raise _fail(str(exc)) from exc
    return {"table": plan["table"], "score_date": plan["score_date"], "model_version": champion.version,
            "rows": int(loaded)}


def plan_deploy(champion: dict, conf: dict, aws_conn_id: str | None = "aws_default") -> dict:
    """The endpoint (run conf `endpoint_name` overrides the setting), the config to create and the one it serves
    now; fails, changing nothing, when the endpoint is Failed or busy."""
    from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
    from botocore.exceptions import ClientError

    from mwaa_platform.ml import deployment
    from mwaa_platform.settings import settings

    serving = settings()["scoring"]
    endpoint = str((conf or {}).get("endpoint_name") or serving["endpoint_name"])
    the_champion, model = Champion(**champion["champion"]), champion["sagemaker_model"]
    client = SageMakerHook(aws_conn_id=aws_conn_id).conn
    try:
        described = client.describe_endpoint(EndpointName=endpoint)
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ValidationException":
            raise
        described = None
    try:
        previous = deployment.previous_config(endpoint, described)
    except deployment.DeploymentError as exc:
        raise _fail(str(exc)) from exc
    name = deployment.endpoint_config_name(endpoint, the_champion, model, serving["instance_type"],
                                           serving["endpoint_instance_count"])
    return {"endpoint_name": endpoint, "endpoint_config": name, "previous_config": previous,
            "endpoint_config_request": deployment.endpoint_config_request(
                name, model, serving["instance_type"], serving["endpoint_instance_count"], the_champion),
            "endpoint": {"EndpointName": endpoint, "EndpointConfigName": name}}


def ensure_endpoint_config(request: dict, aws_conn_id: str | None = "aws_default") -> str:
    """Creates the endpoint config unless a retry or re-run already did (same name = same content)."""
    from airflow.providers.amazon.aws.hooks.sagemaker import SageMakerHook
    from botocore.exceptions import ClientError

    client = SageMakerHook(aws_conn_id=aws_conn_id).conn
    try:
        client.describe_endpoint_config(EndpointConfigName=request["EndpointConfigName"])
        return request["EndpointConfigName"]
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "ValidationException":
            raise
    client.create_endpoint_config(**request)
    return request["EndpointConfigName"]


def batch_scores_date(champion: dict, aws_conn_id: str | None = "aws_default") -> str | None:
    """The latest score date with batch scores of this exact version, None while ml_batch_score has not loaded any."""
    from mwaa_platform.ml import deployment
    from mwaa_platform.settings import settings

    table = settings()["scoring"]["scores_table"]
    try:
        rows = _query(deployment.latest_scores_sql(table, Champion(**champion["champion"])), aws_conn_id)
    except Exception as exc:  # noqa: BLE001 - the table does not exist before the first scoring run
        if "does not exist" in str(exc):
            return None
        raise
    return str(rows[0][0])[:10] if rows and rows[0][0] else None
