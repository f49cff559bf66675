"""The built-in XGBoost algorithm (the sagemaker-xgboost image without an entry point): trains on CSV channels with
its documented hyperparameters, logs each round as the algorithm does, and its model scores through a transform."""

from __future__ import annotations

import time

import numpy as np
import pytest

from tests.cloud.sagemaker.conftest import ROLE, job_name

XGBOOST_IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"


def _csv(rows: int, seed: int, label: bool = True) -> tuple[bytes, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    y = (x @ np.array([2.0, -1.0, 0.5, 0.0]) + rng.normal(scale=0.3, size=rows) > 0).astype(int)
    table = np.column_stack([y, x]) if label else x
    return ("\n".join(",".join(f"{v:g}" for v in row) for row in table) + "\n").encode(), x


def _config(world, name: str, hyperparameters: dict) -> dict:
    train, _ = _csv(600, 1)
    validation, _ = _csv(200, 2)
    channels = []
    for channel, body in (("train", train), ("validation", validation)):
        uri = world.upload(f"xgb/{name}/{channel}/data.csv", body)
        channels.append({"ChannelName": channel, "ContentType": "text/csv",
                         "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": uri}}})
    return {"TrainingJobName": name, "RoleArn": ROLE,
            "AlgorithmSpecification": {"TrainingImage": XGBOOST_IMAGE, "TrainingInputMode": "File"},
            "HyperParameters": {k: str(v) for k, v in hyperparameters.items()},
            "InputDataConfig": channels, "OutputDataConfig": {"S3OutputPath": f"s3://{world.bucket}/xgb-out"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 300}}


def test_builtin_xgboost_trains_logs_rounds_and_scores_through_a_transform(world):
    import xgboost as xgb

    name = job_name("xgb")
    world.sm.create_training_job(**_config(world, name, {"num_round": 15, "objective": "binary:logistic",
                                                         "eval_metric": "auc", "max_depth": 3, "eta": 0.3}))
    described = world.wait(name)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    rounds = [line for line in world.log_lines(name) if line.startswith("[")]
    assert [line.split("]")[0] for line in rounds] == [f"[{n}" for n in range(15)]
    assert all("#011train-auc:" in line and "#011validation-auc:" in line for line in rounds)
    metrics = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    last = dict(part.split(":") for part in rounds[-1].split("#011")[1:])
    assert metrics == {"train:auc": pytest.approx(float(last["train-auc"])),
                       "validation:auc": pytest.approx(float(last["validation-auc"]))}
    assert metrics["validation:auc"] > 0.85

    files = world.untar(described["ModelArtifacts"]["S3ModelArtifacts"])
    assert list(files) == ["xgboost-model"]
    booster = xgb.Booster()
    booster.load_model(bytearray(files["xgboost-model"]))

    features, x = _csv(500, 3, label=False)
    world.upload(f"xgb/{name}/score/in.csv", features)
    model = f"{name}-model"
    world.sm.create_model(ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={
        "Image": XGBOOST_IMAGE, "ModelDataUrl": described["ModelArtifacts"]["S3ModelArtifacts"]})
    world.sm.create_transform_job(
        TransformJobName=f"{name}-tf", ModelName=model,
        TransformInput={"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                        "S3Uri": f"s3://{world.bucket}/xgb/{name}/score/"}},
                        "ContentType": "text/csv", "SplitType": "Line"},
        TransformOutput={"S3OutputPath": f"s3://{world.bucket}/xgb/{name}/scores/", "AssembleWith": "Line"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1})
    deadline = time.monotonic() + 180
    while (job := world.sm.describe_transform_job(TransformJobName=f"{name}-tf"))["TransformJobStatus"] in (
            "InProgress", "Stopping"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    assert job["TransformJobStatus"] == "Completed", job.get("FailureReason")
    body = world.s3.get_object(Bucket=world.bucket, Key=f"xgb/{name}/scores/in.csv.out")["Body"].read()
    scores = np.array([float(v) for v in body.split()])
    np.testing.assert_allclose(scores, booster.predict(xgb.DMatrix(x.astype(np.float32))), rtol=1e-6)


def test_builtin_xgboost_bad_hyperparameters_fail_clearly(world):
    name = job_name("xgb-bad")
    world.sm.create_training_job(**_config(world, name, {"objective": "binary:logistic"}))
    described = world.wait(name)
    assert described["TrainingJobStatus"] == "Failed"
    assert described["FailureReason"] == "ClientError: Missing required hyperparameter: num_round"
    name = job_name("xgb-bad")
    world.sm.create_training_job(**_config(world, name, {"num_round": 3, "objective": "no:such-objective"}))
    described = world.wait(name)
    assert described["TrainingJobStatus"] == "Failed"
    assert described["FailureReason"].startswith("ClientError: XGBoost could not train")


