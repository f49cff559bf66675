"""Unit tests of endpoint deployment: the state an endpoint must be in, the check after an update, the smoke test's
sample and comparison, and the MLflow tags."""

from __future__ import annotations

import pytest

from mwaa_platform.ml import champion, deployment

CHAMPION = champion.Champion("retail-repeat-purchase", 4, "run1", "s3://lake/model.tar.gz", "ml-train-1")


def test_a_new_endpoint_has_no_previous_config_and_a_serving_one_gives_its_own():
    assert deployment.previous_config("ep", None) is None
    assert deployment.previous_config("ep", {"EndpointStatus": "InService", "EndpointConfigName": "ep-v3"}) == "ep-v3"


def test_a_failed_or_busy_endpoint_is_refused_with_what_to_do():
    with pytest.raises(deployment.DeploymentError, match=r"endpoint ep is Failed \(model server exited\).*"
                                                         "delete-endpoint --endpoint-name ep"):
        deployment.previous_config("ep", {"EndpointStatus": "Failed", "FailureReason": "model server exited"})
    with pytest.raises(deployment.DeploymentError, match="ep is Updating: wait until it is InService"):
        deployment.previous_config("ep", {"EndpointStatus": "Updating"})


def test_after_the_update_the_endpoint_must_serve_the_new_config():
    deployment.check_serving("ep", {"EndpointStatus": "InService", "EndpointConfigName": "new"}, "new", "old")
    with pytest.raises(deployment.DeploymentError, match=r"update of endpoint ep to config new failed \(boom\); "
                                                         "the endpoint still serves the previous config old"):
        deployment.check_serving("ep", {"EndpointStatus": "InService", "EndpointConfigName": "old",
                                        "FailureReason": "boom"}, "new", "old")
    with pytest.raises(deployment.DeploymentError, match="ep is Failed on config new instead of InService"):
        deployment.check_serving("ep", {"EndpointStatus": "Failed", "EndpointConfigName": "new"}, "new", None)


def test_config_names_are_per_version_and_model():
    a = deployment.endpoint_config_name("ep", CHAMPION, "model-a", "ml.m5.large", 1)
    assert a.startswith("ep-v4-") and len(a) <= 63
    assert a == deployment.endpoint_config_name("ep", CHAMPION, "model-a", "ml.m5.large", 1)
    assert a != deployment.endpoint_config_name("ep", CHAMPION, "model-b", "ml.m5.large", 1)
    request = deployment.endpoint_config_request(a, "model-a", "ml.m5.large", 2, CHAMPION)
    assert request["ProductionVariants"][0]["ModelName"] == "model-a"
    assert request["ProductionVariants"][0]["InitialInstanceCount"] == 2


def test_the_sample_is_fixed_and_of_this_exact_version():
    sql = deployment.sample_sql("ml.customer_scores", CHAMPION, "2026-05-01", 25)
    assert "model_version = 4" in sql and "score_date = DATE '2026-05-01'" in sql and sql.endswith("LIMIT 25")
    assert "ORDER BY MOD(customer_id * 2654435761, 4294967296), customer_id" in sql  # same customers every time


def test_csv_round_trip_and_comparison():
    body = deployment.csv_body([(7, 1.5, 2.0), (9, 0.1, 3.25)])
    assert body == "7,1.5,2.0\n9,0.1,3.25"
    assert deployment.parse_scores("7,0.25\n9,0.75\n") == {7: 0.25, 9: 0.75}
    ok = deployment.compare({7: 0.25, 9: 0.75}, {7: 0.25 + 1e-9, 9: 0.75}, 1e-6)
    assert ok.ok and ok.checked == 2 and ok.max_difference == pytest.approx(1e-9)
    bad = deployment.compare({7: 0.25, 9: 0.75}, {7: 0.5}, 1e-6)
    assert not bad.ok
    assert bad.mismatches == ["customer 7: endpoint 0.500000 vs batch 0.250000", "customer 9: no answer from the endpoint"]
    assert "2 differ" in bad.summary()
    assert not deployment.compare({}, {}, 1e-6).ok  # an empty sample proves nothing


def test_the_deployment_tags_name_endpoint_config_and_version():
    tags = deployment.deployment_tags("ep", "ep-v4-x", "model-a", CHAMPION, "serving", "25 customers")
    assert tags["deployment.endpoint_name"] == "ep" and tags["deployment.endpoint_config"] == "ep-v4-x"
    assert tags["deployment.model_version"] == "4" and tags["deployment.status"] == "serving"
