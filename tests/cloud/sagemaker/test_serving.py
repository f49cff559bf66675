"""Models, batch transform and endpoints: a scikit-learn script-mode model is trained, scored by a transform job
and served by an endpoint, with the same predictions; updates in place drop no request; bad input fails clearly."""

from __future__ import annotations

import threading
import time
import uuid

import boto3
import numpy as np
import pytest
from botocore.exceptions import ClientError

from tests.cloud.redshift_data.conftest import assert_shape
from tests.cloud.sagemaker.conftest import SKLEARN_IMAGE, SageMakerWorld, classification_csv, job_name


@pytest.fixture(scope="module")
def trained(local_cloud):
    """One trained model for the module: (world factory inputs, model data URL, inference source URL)."""
    session = boto3.session.Session(region_name="us-east-1")
    world = SageMakerWorld(lambda service: session.client(service, endpoint_url=local_cloud.endpoint_url))
    name = job_name("serve")
    world.sm.create_training_job(**world.training_config(name, "train_sklearn.py"))
    described = world.wait(name)
    assert described["TrainingJobStatus"] == "Completed", described.get("FailureReason")
    return world, described["ModelArtifacts"]["S3ModelArtifacts"], world.source("inference.py")


def _model(world, model_data: str, source: str, program: str = "inference.py") -> str:
    name = f"model-{uuid.uuid4().hex[:8]}"
    world.sm.create_model(ModelName=name, ExecutionRoleArn="arn:aws:iam::123456789012:role/sm", PrimaryContainer={
        "Image": SKLEARN_IMAGE, "ModelDataUrl": model_data,
        "Environment": {"SAGEMAKER_PROGRAM": program, "SAGEMAKER_SUBMIT_DIRECTORY": source}})
    return name


def _features_csv(rows: int) -> bytes:
    lines = classification_csv(rows, 7).decode().splitlines()[1:]
    return ("\n".join(",".join(line.split(",")[:3]) for line in lines) + "\n").encode()


def _transform(world, model: str, input_prefix: str, **overrides) -> dict:
    name = job_name("tf")
    config = {"TransformJobName": name, "ModelName": model,
              "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                                 "S3Uri": f"s3://{world.bucket}/{input_prefix}"}},
                                 "ContentType": "text/csv", "SplitType": "Line"},
              "TransformOutput": {"S3OutputPath": f"s3://{world.bucket}/scores/{name}/", "Accept": "text/csv",
                                  "AssembleWith": "Line"},
              "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
              "BatchStrategy": "MultiRecord", "MaxPayloadInMB": 1}
    config.update(overrides)
    world.sm.create_transform_job(**config)
    deadline = time.monotonic() + 180
    while True:
        described = world.sm.describe_transform_job(TransformJobName=name)
        if described["TransformJobStatus"] not in ("InProgress", "Stopping"):
            return described
        assert time.monotonic() < deadline, "transform job did not end"
        time.sleep(0.2)


def _endpoint(world, model: str, name: str | None = None, update: bool = False) -> str:
    name = name or f"ep-{uuid.uuid4().hex[:8]}"
    config = f"cfg-{uuid.uuid4().hex[:8]}"
    world.sm.create_endpoint_config(EndpointConfigName=config, ProductionVariants=[
        {"VariantName": "AllTraffic", "ModelName": model, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}])
    if update:
        world.sm.update_endpoint(EndpointName=name, EndpointConfigName=config)
    else:
        world.sm.create_endpoint(EndpointName=name, EndpointConfigName=config)
    return name


def _in_service(world, name: str) -> dict:
    described = _wait_endpoint(world, name)
    assert described["EndpointStatus"] == "InService", described.get("FailureReason")
    return described


def _wait_endpoint(world, name: str, timeout: float = 120) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        described = world.sm.describe_endpoint(EndpointName=name)
        if described["EndpointStatus"] not in ("Creating", "Updating"):
            return described
        assert time.monotonic() < deadline, f"endpoint {name} stuck {described['EndpointStatus']}"
        time.sleep(0.1)


def test_transform_and_endpoint_give_the_same_predictions(trained):
    world, model_data, source = trained
    model = _model(world, model_data, source)
    assert_shape("DescribeModel", world.sm.describe_model(ModelName=model), service="sagemaker")
    body = _features_csv(10_000)
    world.upload("batch/in/part-0.csv", body[: len(body) // 2 + body[len(body) // 2:].index(b"\n") + 1])
    world.upload("batch/in/nested/part-1.csv", body[len(body) // 2 + body[len(body) // 2:].index(b"\n") + 1:])
    described = _transform(world, model, "batch/in/")
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert_shape("DescribeTransformJob", described, service="sagemaker")
    assert_shape("ListTransformJobs", world.sm.list_transform_jobs(), service="sagemaker")
    prefix = f"scores/{described['TransformJobName']}/"
    keys = sorted(o["Key"] for o in world.s3.list_objects_v2(Bucket=world.bucket, Prefix=prefix)["Contents"])
    assert keys == [f"{prefix}nested/part-1.csv.out", f"{prefix}part-0.csv.out"]
    batch = [float(v) for key in (keys[1], keys[0])
             for v in world.s3.get_object(Bucket=world.bucket, Key=key)["Body"].read().split()]
    assert len(batch) == 10_000

    endpoint = _endpoint(world, model)
    described = _in_service(world, endpoint)
    assert_shape("DescribeEndpoint", described, service="sagemaker")
    assert_shape("DescribeEndpointConfig", world.sm.describe_endpoint_config(
        EndpointConfigName=described["EndpointConfigName"]), service="sagemaker")
    assert_shape("ListEndpoints", world.sm.list_endpoints(), service="sagemaker")
    runtime = boto3.client("sagemaker-runtime", endpoint_url=world.sm.meta.endpoint_url, region_name="us-east-1")
    answer = runtime.invoke_endpoint(EndpointName=endpoint, Body=body, ContentType="text/csv", Accept="text/csv")
    assert answer["ContentType"] == "text/csv" and answer["InvokedProductionVariant"] == "AllTraffic"
    online = [float(v) for v in answer["Body"].read().split()]
    np.testing.assert_allclose(online, batch, rtol=0, atol=1e-12)
    as_json = runtime.invoke_endpoint(EndpointName=endpoint, Body=b"[[0.5, -1.0, 2.0]]",
                                      ContentType="application/json")
    assert as_json["ContentType"] == "application/json"
    world.sm.delete_endpoint(EndpointName=endpoint)


def test_update_in_place_drops_no_request(trained):
    world, model_data, source = trained
    first, second = _model(world, model_data, source), _model(world, model_data, source)
    endpoint = _endpoint(world, first)
    _in_service(world, endpoint)
    runtime = boto3.client("sagemaker-runtime", endpoint_url=world.sm.meta.endpoint_url, region_name="us-east-1")
    errors, calls, stop = [], [0], threading.Event()

    def hammer() -> None:
        while not stop.is_set():
            try:
                runtime.invoke_endpoint(EndpointName=endpoint, Body=b"0.1,0.2,0.3\n", ContentType="text/csv")
                calls[0] += 1
            except Exception as exc:  # any failure during the update is a defect
                errors.append(exc)

    thread = threading.Thread(target=hammer)
    thread.start()
    try:
        _endpoint(world, second, name=endpoint, update=True)
        described = _wait_endpoint(world, endpoint)
    finally:
        stop.set()
        thread.join()
    assert described["EndpointStatus"] == "InService"
    assert errors == [] and calls[0] > 0
    assert world.sm.describe_endpoint_config(EndpointConfigName=described["EndpointConfigName"])[
        "ProductionVariants"][0]["ModelName"] == second
    world.sm.delete_endpoint(EndpointName=endpoint)


def test_invoke_errors(trained):
    world, model_data, _ = trained
    broken = _model(world, model_data, world.source("broken_inference.py"), program="broken_inference.py")
    good = _model(world, model_data, trained[2])
    runtime = boto3.client("sagemaker-runtime", endpoint_url=world.sm.meta.endpoint_url, region_name="us-east-1")
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName="no-such-endpoint", Body=b"1,2,3", ContentType="text/csv")
    assert raised.value.response["Error"]["Code"] == "ValidationError"

    endpoint = _endpoint(world, good)
    _in_service(world, endpoint)
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName=endpoint, Body=b"1,2,3", ContentType="application/x-parquet")
    assert raised.value.response["Error"]["Code"] == "ModelError"
    assert raised.value.response["OriginalStatusCode"] == 415
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName=endpoint, Body=b"1,2,3", ContentType="text/csv", Accept="image/png")
    assert raised.value.response["OriginalStatusCode"] == 406

    failing = _endpoint(world, broken)
    _in_service(world, failing)
    with pytest.raises(ClientError) as raised:
        runtime.invoke_endpoint(EndpointName=failing, Body=b"1,2,3", ContentType="text/csv")
    assert raised.value.response["Error"]["Code"] == "ModelError"
    assert "the handler refuses this input" in raised.value.response["Error"]["Message"]
    # the cloud keeps serving the good endpoint
    assert runtime.invoke_endpoint(EndpointName=endpoint, Body=b"1,2,3", ContentType="text/csv")["Body"].read()
    for name in (endpoint, failing):
        world.sm.delete_endpoint(EndpointName=name)


def test_bad_models_and_inputs_fail_with_a_reason(trained):
    world, model_data, source = trained
    not_a_tarball = _model(world, world.upload("models/bad.tar.gz", b"not a tarball"), source)
    endpoint = _endpoint(world, not_a_tarball)
    described = _wait_endpoint(world, endpoint)
    assert described["EndpointStatus"] == "Failed" and "is not a valid tar.gz archive" in described["FailureReason"]

    with pytest.raises(ClientError) as raised:
        world.sm.create_endpoint_config(EndpointConfigName=f"cfg-{uuid.uuid4().hex[:6]}", ProductionVariants=[
            {"VariantName": "AllTraffic", "ModelName": "missing-model", "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 1}])
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "Could not find model" in raised.value.response["Error"]["Message"]

    good = _model(world, model_data, source)
    described = _transform(world, good, "batch/empty-prefix/")
    assert described["TransformJobStatus"] == "Failed" and "No data found" in described["FailureReason"]

    world.upload("batch/mixed/a.csv", b"0.1,0.2,0.3\n")
    world.upload("batch/mixed/b.csv", b"not,numbers,at-all\n")
    broken_source = world.source("broken_inference.py")
    broken = _model(world, model_data, broken_source, program="broken_inference.py")
    described = _transform(world, broken, "batch/mixed/")
    assert described["TransformJobStatus"] == "Failed"
    assert "object a.csv" in described["FailureReason"] and "the handler refuses this input" in \
        described["FailureReason"]
    assert "Contents" not in world.s3.list_objects_v2(Bucket=world.bucket,
                                                      Prefix=f"scores/{described['TransformJobName']}/")


def test_provider_operators_model_transform_endpoint_create_then_update(trained):
    from airflow.providers.amazon.aws.operators.sagemaker import (
        SageMakerEndpointConfigOperator,
        SageMakerEndpointOperator,
        SageMakerModelOperator,
        SageMakerTransformOperator,
    )

    from tests.cloud.glue.airflow_context import context

    world, model_data, source = trained
    suffix = uuid.uuid4().hex[:6]
    container = {"Image": SKLEARN_IMAGE, "ModelDataUrl": model_data,
                 "Environment": {"SAGEMAKER_PROGRAM": "inference.py", "SAGEMAKER_SUBMIT_DIRECTORY": source}}
    role = "arn:aws:iam::123456789012:role/sm"
    make_model = SageMakerModelOperator(task_id="make_model", aws_conn_id=None, config={
        "ModelName": f"op-model-{suffix}", "ExecutionRoleArn": role, "PrimaryContainer": container})
    make_model.execute(context())
    assert world.sm.describe_model(ModelName=f"op-model-{suffix}")["PrimaryContainer"]["ModelDataUrl"] == model_data

    world.upload(f"op/{suffix}/in.csv", _features_csv(50))
    score = SageMakerTransformOperator(task_id="score", aws_conn_id=None, check_interval=1, config={
        "Model": {"ModelName": f"op-tf-model-{suffix}", "ExecutionRoleArn": role, "PrimaryContainer": container},
        "Transform": {"TransformJobName": f"op-tf-{suffix}", "ModelName": f"op-tf-model-{suffix}",
                      "TransformInput": {"DataSource": {"S3DataSource": {
                          "S3DataType": "S3Prefix", "S3Uri": f"s3://{world.bucket}/op/{suffix}/"}},
                          "ContentType": "text/csv", "SplitType": "Line"},
                      "TransformOutput": {"S3OutputPath": f"s3://{world.bucket}/op-out/{suffix}/",
                                          "Accept": "text/csv", "AssembleWith": "Line"},
                      "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1}}})
    result = score.execute(context())
    assert result["Transform"]["TransformJobStatus"] == "Completed"
    scores = world.s3.get_object(Bucket=world.bucket, Key=f"op-out/{suffix}/in.csv.out")["Body"].read().split()
    assert len(scores) == 50

    make_config = SageMakerEndpointConfigOperator(task_id="make_config", aws_conn_id=None, config={
        "EndpointConfigName": f"op-cfg-{suffix}", "ProductionVariants": [
            {"VariantName": "AllTraffic", "ModelName": f"op-model-{suffix}", "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 1}]})
    make_config.execute(context())
    deploy = SageMakerEndpointOperator(task_id="deploy", aws_conn_id=None, check_interval=1, config={
        "EndpointName": f"op-ep-{suffix}", "EndpointConfigName": f"op-cfg-{suffix}"})
    deploy.execute(context())
    assert world.sm.describe_endpoint(EndpointName=f"op-ep-{suffix}")["EndpointStatus"] == "InService"

    # A second deploy of the same endpoint name with a new config: "create" finds it exists and updates in place.
    redeploy = SageMakerEndpointOperator(task_id="redeploy", aws_conn_id=None, check_interval=1, config={
        "EndpointConfig": {"EndpointConfigName": f"op-cfg2-{suffix}", "ProductionVariants": [
            {"VariantName": "AllTraffic", "ModelName": f"op-tf-model-{suffix}", "InstanceType": "ml.m5.large",
             "InitialInstanceCount": 1}]},
        "Endpoint": {"EndpointName": f"op-ep-{suffix}", "EndpointConfigName": f"op-cfg2-{suffix}"}})
    redeploy.execute(context())
    described = world.sm.describe_endpoint(EndpointName=f"op-ep-{suffix}")
    assert described["EndpointStatus"] == "InService" and described["EndpointConfigName"] == f"op-cfg2-{suffix}"
    world.sm.delete_endpoint(EndpointName=f"op-ep-{suffix}")


def test_an_endpoint_comes_back_after_kill_9(tmp_path):
    import io
    import signal

    import joblib
    from sklearn.linear_model import LogisticRegression

    from mwaa_local.cloud import process
    from tests.cloud.sagemaker.conftest import tar_gz

    x = np.random.default_rng(0).normal(size=(200, 3))
    buffer = io.BytesIO()
    joblib.dump(LogisticRegression().fit(x, (x.sum(axis=1) > 0).astype(int)), buffer)
    cloud = process.start(state_dir=tmp_path)
    try:
        world = SageMakerWorld(process.clients(cloud.endpoint_url))
        model_data = world.upload("m/model.tar.gz", tar_gz({"model.joblib": buffer.getvalue()}))
        endpoint = _endpoint(world, _model(world, model_data, world.source("inference.py")))
        _in_service(world, endpoint)
        runtime = process.clients(cloud.endpoint_url)("sagemaker-runtime")
        before = runtime.invoke_endpoint(EndpointName=endpoint, Body=b"1,2,3", ContentType="text/csv")["Body"].read()
    finally:
        cloud.stop(signal.SIGKILL)
    cloud = process.start(state_dir=tmp_path)
    try:
        runtime = process.clients(cloud.endpoint_url)("sagemaker-runtime")
        after = runtime.invoke_endpoint(EndpointName=endpoint, Body=b"1,2,3", ContentType="text/csv")["Body"].read()
        assert after == before
        sm = process.clients(cloud.endpoint_url)("sagemaker")
        assert sm.describe_endpoint(EndpointName=endpoint)["EndpointStatus"] == "InService"
    finally:
        cloud.stop()
