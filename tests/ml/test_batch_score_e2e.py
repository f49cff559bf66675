"""ml_batch_score end to end through the local cloud (MLflow registry, S3, Redshift UNLOAD/COPY, SageMaker model and
batch transform): every customer scored by the champion's exact version, a re-run replaces its slice, no champion is
a skip, a champion whose artifact is gone fails clearly and loads nothing."""

from __future__ import annotations

import pytest

from tests.ml.serving_helpers import MODEL, SCORE_DATE, champion, customers_before, run, scores

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def scored(ml):
    version = champion(ml)
    result = run(ml, "ml_batch_score", {"score_date": SCORE_DATE})
    assert result.ok, result.log_file.read_text()[-4000:]
    return version, result


def test_every_customer_is_scored_by_the_champion_version(ml, scored):
    import joblib  # noqa: F401 - the model pickles need scikit-learn here too
    import mlflow
    import pandas as pd

    version, result = scored
    assert result.tasks["transform"] == "success" and result.tasks["verify_scores"] == "success"
    rows = scores(ml, version.version)
    assert len(rows) == customers_before(ml) > 100
    assert len({r["customer_id"] for r in rows}) == len(rows)
    values = [float(r["score"]) for r in rows]
    assert all(0.0 <= v <= 1.0 for v in values) and len(set(values)) > 10
    assert {r["airflow_run_id"] for r in rows} == {result.run_id}
    # the same version, loaded from MLflow, gives the same probability for a customer (features recomputed here)
    from mwaa_platform.ml import features, scoring

    sql = scoring.features_for_customers_sql(__import__("datetime").date.fromisoformat(SCORE_DATE),
                                             [rows[0]["customer_id"], rows[-1]["customer_id"]], 30, 20)
    from tests.ml import warehouse

    frame = pd.DataFrame(warehouse.sql(ml.stack.client("redshift-data"), sql))
    model = mlflow.sklearn.load_model(f"models:/{MODEL}/{version.version}")
    expected = model.predict_proba(frame[features.FEATURES].astype(float))[:, 1]
    got = [float(rows[0]["score"]), float(rows[-1]["score"])]
    assert max(abs(a - b) for a, b in zip(expected, got, strict=True)) <= 1e-9, (expected, got)


def test_a_rerun_replaces_the_slice_and_never_duplicates(ml, scored):
    version, first = scored
    before = scores(ml, version.version)
    result = run(ml, "ml_batch_score", {"score_date": SCORE_DATE})
    assert result.ok, result.log_file.read_text()[-4000:]
    after = scores(ml, version.version)
    assert len(after) == len(before)
    assert {r["airflow_run_id"] for r in after} == {result.run_id} != {first.run_id}
    assert [(r["customer_id"], r["score"]) for r in after] == [(r["customer_id"], r["score"]) for r in before]


def test_no_champion_is_a_clear_skip(ml, scored):
    version, _ = scored
    client = ml.client()
    client.delete_registered_model_alias(MODEL, "champion")
    try:
        result = run(ml, "ml_batch_score", {"score_date": "2026-04-20"})
    finally:
        client.set_registered_model_alias(MODEL, "champion", version.version)
    assert result.state == "success" and result.tasks["champion"] == "skipped"
    assert result.tasks["transform"] == "skipped"
    assert "has no 'champion' alias yet: run ml_train" in result.log_file.read_text()
    assert scores(ml, version.version, "2026-04-20") == []


def test_a_champion_whose_artifact_is_gone_fails_clearly_and_loads_nothing(ml, scored):
    from mwaa_platform.ml.tracking import split_s3

    version, _ = scored
    artifact = version.tags["sagemaker.model_artifacts"]
    bucket, key = split_s3(artifact)
    s3 = ml.stack.client("s3")
    s3.copy_object(Bucket=bucket, Key=f"{key}.kept", CopySource={"Bucket": bucket, "Key": key})
    s3.delete_object(Bucket=bucket, Key=key)
    try:
        result = run(ml, "ml_batch_score", {"score_date": "2026-04-21"})
    finally:
        s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": f"{key}.kept"})
        s3.delete_object(Bucket=bucket, Key=f"{key}.kept")
    assert result.state == "failed" and result.tasks["champion"] == "failed"
    assert result.tasks["transform"] != "success"
    log = result.log_file.read_text()
    assert f"{artifact} (training job {version.tags['sagemaker.training_job_name']}) does not exist" in log
    assert "restore the object, or retrain (run ml_train)" in log
    assert scores(ml, version.version, "2026-04-21") == []


def test_a_bad_score_date_fails_with_what_to_fix(ml, scored):
    result = run(ml, "ml_batch_score", {"score_date": "May 1st"})
    assert result.state == "failed" and result.tasks["plan"] == "failed"
    assert "run conf score_date 'May 1st' is not a date (YYYY-MM-DD)" in result.log_file.read_text()
