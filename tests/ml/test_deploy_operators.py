"""The smoke test operator's decisions with its boundaries (Redshift reads, SageMaker, MLflow) replaced: a match tags
the version as serving; a mismatch rolls back to the previous config (or deletes a new endpoint) and fails loudly."""

from __future__ import annotations

import io

import pytest

from mwaa_platform.operators import ml_serving

CHAMPION = {"champion": {"registered_model": "m", "version": 2, "run_id": "r", "artifact_uri": "s3://b/model.tar.gz",
                         "training_job": "j"}, "sagemaker_model": "m-v2-abc"}
BATCH = [(1, 0.25), (2, 0.75)]
FEATURES = [(1, 1.0, 2.0), (2, 3.0, 4.0)]


class FakeSageMaker:
    def __init__(self, answer: str):
        self.answer, self.calls, self.serving = answer, [], "ep-v1"
        self.conn = self

    def invoke_endpoint(self, **request):
        self.calls.append(("invoke", request["EndpointName"]))
        return {"Body": io.BytesIO(self.answer.encode())}

    def update_endpoint(self, EndpointName, EndpointConfigName):  # noqa: N803 - boto3's names
        self.calls.append(("update", EndpointConfigName))
        self.serving = EndpointConfigName

    def delete_endpoint(self, EndpointName):  # noqa: N803
        self.calls.append(("delete", EndpointName))

    def describe_endpoint(self, EndpointName):  # noqa: N803
        return {"EndpointStatus": "InService", "EndpointConfigName": self.serving}

    def get_waiter(self, name):
        assert name == "endpoint_in_service"
        return type("W", (), {"wait": lambda *a, **k: None})()


class FakeRegistry:
    def __init__(self):
        self.tags = {}

    def set_model_version_tag(self, name, version, key, value):
        self.tags[(name, version, key)] = value


@pytest.fixture
def wired(monkeypatch):
    import contextlib

    from airflow.providers.amazon.aws.hooks import sagemaker

    from mwaa_platform.ml import serving_tasks

    registry, holder = FakeRegistry(), {}
    hook = type("H", (), {"errors": lambda self, doing: contextlib.nullcontext()})()
    monkeypatch.setattr(ml_serving, "_mlflow_client", lambda conn_id: (hook, registry))
    monkeypatch.setattr(serving_tasks, "_query",
                        lambda sql, conn: BATCH if sql.startswith("SELECT customer_id, score") else FEATURES)
    from airflow.providers.amazon.aws.hooks import base_aws

    monkeypatch.setattr(sagemaker, "SageMakerHook", lambda aws_conn_id=None: holder["fake"])
    monkeypatch.setattr(base_aws, "AwsBaseHook", lambda aws_conn_id=None, client_type=None: holder["fake"])
    return registry, holder


def _operator(previous):
    plan = {"endpoint_name": "ep", "endpoint_config": "ep-v2", "previous_config": previous}
    return ml_serving.EndpointSmokeTestOperator(
        task_id="smoke_test", plan=plan, champion=CHAMPION, score_date="2026-05-01", scores_table="ml.customer_scores",
        sample_size=2, tolerance=1e-6, features={"label_days": 30, "validation_percent": 20})


def test_matching_answers_tag_the_version_as_serving(wired):
    registry, holder = wired
    holder["fake"] = FakeSageMaker("1,0.25\n2,0.75")
    result = _operator("ep-v1").execute({})
    assert result["checked"] == 2 and holder["fake"].calls == [("invoke", "ep")]
    assert registry.tags[("m", "2", "deployment.status")] == "serving"
    assert registry.tags[("m", "2", "deployment.endpoint_config")] == "ep-v2"


def test_a_mismatch_rolls_back_to_the_previous_config_and_fails(wired):
    from airflow.sdk.exceptions import AirflowFailException

    registry, holder = wired
    holder["fake"] = FakeSageMaker("1,0.25\n2,0.5")
    with pytest.raises(AirflowFailException, match="customer 2: endpoint 0.500000 vs batch 0.750000.*rolled back: "
                                                   "the endpoint serves its previous config ep-v1 again"):
        _operator("ep-v1").execute({})
    assert holder["fake"].calls[-1] == ("update", "ep-v1")
    assert registry.tags[("m", "2", "deployment.status")] == "rolled_back"


def test_a_new_endpoint_that_fails_its_smoke_test_is_deleted(wired):
    from airflow.sdk.exceptions import AirflowFailException

    _, holder = wired
    holder["fake"] = FakeSageMaker("1,0.9")
    with pytest.raises(AirflowFailException, match="the endpoint was new and has been deleted"):
        _operator(None).execute({})
    assert holder["fake"].calls[-1] == ("delete", "ep")
