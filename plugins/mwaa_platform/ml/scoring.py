"""Batch scoring of the champion (ml_batch_score): the score date, the SageMaker model built from the champion's
artifact, the UNLOAD of the features as of the score date (include/sql/features/), the transform job and the
replace-in-one-transaction load of the scores (include/sql/scoring/). Plain functions, no Airflow, no network."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

from mwaa_platform.ml import features
from mwaa_platform.ml.champion import Champion
from mwaa_platform.paths import include_path

INFERENCE_PROGRAM = "serve_repeat_purchase.py"
_NAME = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$")


class ScoringError(ValueError):
    """Bad input to a scoring run (score date, settings); the message says what to fix."""


def score_date(conf: dict, run_after: dt.datetime | None) -> dt.date:
    """The run conf's `score_date` (YYYY-MM-DD), else the day the run was due; scores use orders strictly before it."""
    requested = (conf or {}).get("score_date")
    if requested:
        try:
            return dt.date.fromisoformat(str(requested))
        except ValueError as exc:
            raise ScoringError(f"run conf score_date {requested!r} is not a date (YYYY-MM-DD)") from exc
    if run_after is None:
        raise ScoringError("the run has no run_after date: pass score_date (YYYY-MM-DD) in the run conf")
    return run_after.date()


def cutoff_of(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time())


def sagemaker_name(prefix: str, *parts: str, max_len: int = 63) -> str:
    """`prefix-<hash of parts>`: a valid SageMaker name (letters, digits, hyphens), stable for the same parts."""
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:8]
    head = re.sub(r"[^A-Za-z0-9-]+", "-", prefix).strip("-")[: max_len - 9].rstrip("-")
    return f"{head}-{digest}"


def model_name(champion: Champion, source_uri: str) -> str:
    """One SageMaker model per registered version, artifact and inference code (both DAGs build the same one)."""
    return sagemaker_name(f"{champion.registered_model}-v{champion.version}", champion.artifact_uri, source_uri,
                          INFERENCE_PROGRAM)


def model_config(name: str, champion: Champion, image: str, role: str, source_uri: str) -> dict:
    return {"ModelName": name, "ExecutionRoleArn": role,
            "PrimaryContainer": {"Image": image, "ModelDataUrl": champion.artifact_uri,
                                 "Environment": {"SAGEMAKER_PROGRAM": INFERENCE_PROGRAM,
                                                 "SAGEMAKER_SUBMIT_DIRECTORY": source_uri,
                                                 "SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}},
            "Tags": [{"Key": "mlflow.registered_model", "Value": champion.registered_model},
                     {"Key": "mlflow.model_version", "Value": str(champion.version)}]}


def _feature_select(day: dt.date, label_days: int, validation_percent: int) -> str:
    """customer_id and the model's features as of the score date, from the training feature SQL (same definitions)."""
    body = features.feature_select(cutoff_of(day), label_days, validation_percent)
    body = "\n".join(line.split("--", 1)[0] for line in body.splitlines())  # comments cannot sit inside UNLOAD('')
    return f"SELECT customer_id, {', '.join(features.FEATURES)} FROM ({body}) scoring_features"


def count_features_sql(day: dt.date, label_days: int, validation_percent: int) -> str:
    return f"SELECT COUNT(*) FROM ({_feature_select(day, label_days, validation_percent)}) counted"


def features_for_customers_sql(day: dt.date, customer_ids: list[int], label_days: int, validation_percent: int) -> str:
    ids = ", ".join(str(int(i)) for i in customer_ids)
    return (f"SELECT * FROM ({_feature_select(day, label_days, validation_percent)}) sample "
            f"WHERE customer_id IN ({ids}) ORDER BY customer_id")


def unload_features_sql(day: dt.date, s3_prefix: str, iam_role: str, label_days: int, validation_percent: int) -> str:
    """CSV without header, `customer_id,<features>`: the inference script's text/csv input."""
    if not re.match(r"^s3://[a-z0-9.-]+/[A-Za-z0-9._/=-]+/$", s3_prefix):
        raise ScoringError(f"unload prefix must be s3://bucket/path/ ending in '/', got {s3_prefix!r}")
    inner = f"{_feature_select(day, label_days, validation_percent)} ORDER BY customer_id".replace("'", "''")
    return (f"UNLOAD ('{inner}') TO '{s3_prefix}' IAM_ROLE '{iam_role}' "
            "FORMAT AS CSV PARALLEL OFF ALLOWOVERWRITE")


def transform_config(job_name: str, model: str, input_prefix: str, output_prefix: str, instance_type: str,
                     max_payload_mb: int = 6) -> dict:
    return {"TransformJobName": job_name, "ModelName": model,
            "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_prefix}},
                               "ContentType": "text/csv", "SplitType": "Line", "CompressionType": "None"},
            "TransformOutput": {"S3OutputPath": output_prefix, "Accept": "text/csv", "AssembleWith": "Line"},
            "TransformResources": {"InstanceType": instance_type, "InstanceCount": 1},
            "BatchStrategy": "MultiRecord", "MaxPayloadInMB": max_payload_mb}


def _literal(value: str) -> str:
    return str(value).replace("'", "''")


def check_table_name(table: str) -> str:
    if not _NAME.match(table):
        raise ScoringError(f"scores table must be schema.table in lower case, got {table!r} (include/config/"
                           "platform.yaml scoring.scores_table)")
    return table


def create_table_sql(table: str) -> list[str]:
    check_table_name(table)
    ddl = include_path("sql", "scoring", "customer_scores_table.sql").read_text().format(table=table)
    return [f"CREATE SCHEMA IF NOT EXISTS {table.split('.')[0]}", _strip_comments(ddl)]


def replace_scores_sql(table: str, output_prefix: str, iam_role: str, champion: Champion, day: dt.date,
                       run_id: str) -> list[str]:
    """The statements of one batch (one transaction): stage the COPY, delete the slice, insert, drop the stage."""
    check_table_name(table)
    text = include_path("sql", "scoring", "replace_scores.sql").read_text().format(
        table=table, output_prefix=_literal(output_prefix), iam_role=_literal(iam_role),
        model_name=_literal(champion.registered_model), model_version=int(champion.version),
        score_date=day.isoformat(), run_id=_literal(run_id))
    return [s.strip() for s in _strip_comments(text).split(";") if s.strip()]


def _strip_comments(sql: str) -> str:
    return "\n".join(line for line in sql.splitlines() if not line.lstrip().startswith("--")).strip()


def slice_count_sql(table: str, champion: Champion, day: dt.date) -> str:
    check_table_name(table)
    return (f"SELECT COUNT(*), COUNT(DISTINCT customer_id) FROM {table} WHERE model_name = "
            f"'{_literal(champion.registered_model)}' AND model_version = {int(champion.version)} "
            f"AND score_date = DATE '{day.isoformat()}'")


def check_loaded(expected: int, loaded: int, distinct: int, table: str, day: dt.date) -> None:
    if loaded != expected or distinct != expected:
        raise ScoringError(f"{table} holds {loaded} scores ({distinct} customers) for {day}, expected {expected} "
                           "(one per customer with orders before the score date): see the transform job's output")
