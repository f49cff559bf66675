"""ml_deploy end to end through the local cloud (SageMaker models, endpoint configs, endpoints, InvokeEndpoint) and a
real MLflow server: deploy the champion, update in place to a second champion while requests keep flowing, a smoke
test forced to fail rolls back, and the bad inputs (an endpoint stuck in Failed, a deleted artifact) fail clearly while
the serving endpoint keeps serving. The tests share one endpoint and run in order."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from tests.ml import warehouse
from tests.ml.serving_helpers import MODEL, SCORE_DATE, TABLE, champion, run, scores

pytestmark = pytest.mark.e2e
ENDPOINT = "retail-repeat-purchase"


def _features(ml, customers: list[int]) -> list[tuple]:
    from mwaa_platform.ml import features, scoring

    sql = scoring.features_for_customers_sql(dt.date.fromisoformat(SCORE_DATE), customers, 30, 20)
    return [tuple(r[c] for c in ["customer_id", *features.FEATURES])
            for r in warehouse.sql(ml.stack.client("redshift-data"), sql)]


def _invoke(ml, rows: list[tuple], runtime=None) -> dict[int, float]:
    from mwaa_platform.ml import deployment

    response = (runtime or ml.stack.client("sagemaker-runtime")).invoke_endpoint(
        EndpointName=ENDPOINT, ContentType="text/csv", Accept="text/csv", Body=deployment.csv_body(rows).encode())
    return deployment.parse_scores(response["Body"].read().decode())


def _endpoint(ml) -> dict:
    return ml.stack.client("sagemaker").describe_endpoint(EndpointName=ENDPOINT)


def _scored(ml, version) -> None:
    if not scores(ml, version):
        result = run(ml, "ml_batch_score", {"score_date": SCORE_DATE})
        assert result.ok, result.log_file.read_text()[-4000:]


@pytest.fixture(scope="module")
def first(ml):
    version = champion(ml)
    _scored(ml, version.version)
    result = run(ml, "ml_deploy")
    assert result.ok, result.log_file.read_text()[-4000:]
    return version


@pytest.fixture(scope="module")
def second(ml, first):
    """A second champion: the first one's model registered again as a new version (its own SageMaker model and
    endpoint config) and promoted by hand, then scored (a retraining would cost minutes)."""
    client = ml.client()
    model_id = first.source.removeprefix("models:/") if first.source.startswith("models:/m-") else None
    newer = client.create_model_version(MODEL, source=first.source, run_id=first.run_id, tags=first.tags,
                                        model_id=model_id)
    client.set_registered_model_alias(MODEL, "champion", newer.version)
    _scored(ml, newer.version)
    return client.get_model_version(MODEL, newer.version)


def test_deploy_serves_the_champion_and_answers_as_the_batch_did(ml, first):
    endpoint = _endpoint(ml)
    tags = ml.client().get_model_version(MODEL, first.version).tags
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == tags["deployment.endpoint_config"]
    assert tags["deployment.endpoint_name"] == ENDPOINT and tags["deployment.model_version"] == first.version
    assert tags["deployment.status"] == "serving"
    batch = {r["customer_id"]: float(r["score"]) for r in scores(ml, first.version)[:60]}  # not the smoke sample
    online = _invoke(ml, _features(ml, sorted(batch)))
    assert online.keys() == batch.keys()
    assert max(abs(online[c] - batch[c]) for c in batch) <= 1e-9


def test_update_to_a_second_champion_drops_no_request(ml, first, second):
    customer = scores(ml, second.version)[0]["customer_id"]
    row = _features(ml, [customer])
    errors, answers, stop = [], [], threading.Event()
    runtime = ml.stack.client("sagemaker-runtime")  # made here: boto3 makes clients unsafely across threads

    def keep_calling():
        while not stop.is_set():
            try:
                answers.append(_invoke(ml, row, runtime)[customer])
            except Exception as exc:  # noqa: BLE001 - every failure is a dropped request
                errors.append(repr(exc))

    caller = threading.Thread(target=keep_calling, daemon=True)
    caller.start()
    try:
        result = run(ml, "ml_deploy")
        before_stop = len(answers)
        while len(answers) < before_stop + 3 and not errors:  # a few answers after the switch, too
            threading.Event().wait(0.05)
    finally:
        stop.set()
        caller.join(timeout=60)
    assert result.ok, result.log_file.read_text()[-4000:]
    assert errors == [] and len(answers) > 10
    expected = {r["customer_id"]: float(r["score"]) for r in scores(ml, second.version)}[customer]
    assert all(abs(a - expected) <= 1e-9 for a in answers)  # every answer is a right one
    endpoint, tags = _endpoint(ml), ml.client().get_model_version(MODEL, second.version).tags
    assert endpoint["EndpointStatus"] == "InService" and endpoint["EndpointConfigName"] == tags[
        "deployment.endpoint_config"]
    assert tags["deployment.model_version"] == second.version


def test_a_failed_smoke_test_rolls_back_to_the_previous_config(ml, first, second):
    serving = _endpoint(ml)["EndpointConfigName"]  # the second champion's
    redshift = ml.stack.client("redshift-data")
    client = ml.client()
    client.set_registered_model_alias(MODEL, "champion", first.version)
    # batch and online disagree: a later slice of the first version's batch scores, all off by 0.25
    warehouse.sql(redshift, f"INSERT INTO {TABLE} SELECT customer_id, model_name, model_version, DATE '2026-05-02', "
                            f"score + 0.25, scored_at, 'skewed' FROM {TABLE} WHERE model_version = {first.version} "
                            f"AND score_date = DATE '{SCORE_DATE}'")
    try:
        result = run(ml, "ml_deploy")
    finally:
        warehouse.sql(redshift, f"DELETE FROM {TABLE} WHERE airflow_run_id = 'skewed'")
    assert result.state == "failed" and result.tasks["deploy"] == "success" and result.tasks["smoke_test"] == "failed"
    log = result.log_file.read_text()
    assert f"smoke test of endpoint {ENDPOINT}" in log and "differ: customer" in log
    assert f"rolled back: the endpoint serves its previous config {serving} again" in log
    endpoint = _endpoint(ml)
    assert endpoint["EndpointStatus"] == "InService" and endpoint["EndpointConfigName"] == serving
    tags = client.get_model_version(MODEL, first.version).tags
    assert tags["deployment.status"] == "rolled_back" and "rolled back" in tags["deployment.detail"]
    customer = scores(ml, second.version)[0]["customer_id"]
    assert abs(_invoke(ml, _features(ml, [customer]))[customer] - float(scores(ml, second.version)[0]["score"])) <= 1e-9


def test_an_endpoint_stuck_in_failed_is_refused_and_left_alone(ml, first, second):
    import time

    sagemaker = ml.stack.client("sagemaker")
    sagemaker.create_model(ModelName="broken-model", ExecutionRoleArn=ml.config["ml"]["sagemaker_role"],
                           PrimaryContainer={"Image": ml.config["ml"]["training_image"],
                                             "ModelDataUrl": first.tags["sagemaker.model_artifacts"],
                                             "Environment": {"SAGEMAKER_PROGRAM": "no_such_script.py"}})
    sagemaker.create_endpoint_config(EndpointConfigName="broken-config", ProductionVariants=[
        {"VariantName": "v", "ModelName": "broken-model", "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    sagemaker.create_endpoint(EndpointName="broken-endpoint", EndpointConfigName="broken-config")
    deadline = time.monotonic() + 300
    while sagemaker.describe_endpoint(EndpointName="broken-endpoint")["EndpointStatus"] == "Creating":
        assert time.monotonic() < deadline
        time.sleep(0.5)
    assert sagemaker.describe_endpoint(EndpointName="broken-endpoint")["EndpointStatus"] == "Failed"
    result = run(ml, "ml_deploy", {"endpoint_name": "broken-endpoint"})
    assert result.state == "failed" and result.tasks["plan"] == "failed" and result.tasks["deploy"] != "success"
    log = result.log_file.read_text()
    assert "endpoint broken-endpoint is Failed (" in log
    assert "delete it (aws sagemaker delete-endpoint --endpoint-name broken-endpoint) and re-run ml_deploy" in log
    assert sagemaker.describe_endpoint(EndpointName="broken-endpoint")["EndpointConfigName"] == "broken-config"


def test_a_champion_whose_artifact_is_gone_fails_and_the_endpoint_keeps_serving(ml, first, second):
    from mwaa_platform.ml.tracking import split_s3

    serving = _endpoint(ml)["EndpointConfigName"]
    ml.client().set_registered_model_alias(MODEL, "champion", first.version)
    bucket, key = split_s3(first.tags["sagemaker.model_artifacts"])
    s3 = ml.stack.client("s3")
    s3.copy_object(Bucket=bucket, Key=f"{key}.kept", CopySource={"Bucket": bucket, "Key": key})
    s3.delete_object(Bucket=bucket, Key=key)
    try:
        result = run(ml, "ml_deploy")
    finally:
        s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": f"{key}.kept"})
        s3.delete_object(Bucket=bucket, Key=f"{key}.kept")
    assert result.state == "failed" and result.tasks["champion"] == "failed"
    assert "does not exist; restore the object, or retrain (run ml_train)" in result.log_file.read_text()
    endpoint = _endpoint(ml)
    assert endpoint["EndpointStatus"] == "InService" and endpoint["EndpointConfigName"] == serving
    customer = scores(ml, second.version)[0]["customer_id"]
    assert customer in _invoke(ml, _features(ml, [customer]))
