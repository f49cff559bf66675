"""The local account created from the templates (provision -> mwaa_local.infra.local_apply) has what the DAGs
need, is brought back to the templates' definitions on every run, and refuses what it cannot create."""

import json

import pytest

from mwaa_local import provision
from mwaa_local.infra import local_apply, templates
from mwaa_local.infra.templates import InfraError

SOURCE = {"conn_type": "postgres", "host": "127.0.0.1", "port": 5999, "login": "u", "schema": "retail"}


@pytest.fixture
def provisioned(local_cloud):
    return provision.provision(local_cloud.endpoint_url, {"retail_source_db": SOURCE})


def test_local_account_has_what_the_dags_read(provisioned, aws):
    from mwaa_platform import etl

    config = provision.local_settings()
    s3, iam, glue, secrets = aws("s3"), aws("iam"), aws("glue"), aws("secretsmanager")
    for bucket in (config["mwaa_bucket"], config["data_lake_bucket"]):
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
        rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
        assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    for arn in (config["glue"]["iam_role"], config["redshift"]["iam_role"]):
        assert iam.get_role(RoleName=arn.rsplit("/", 1)[1])["Role"]["Arn"] == arn
    assert glue.get_database(Name=config["glue"]["raw_database"])["Database"]["Name"] == "retail_raw"

    crawler, wanted = glue.get_crawler(Name=etl.CRAWLER_NAME)["Crawler"], etl.crawler_config()
    assert {k: crawler[k] for k in ("Name", "Role", "DatabaseName", "SchemaChangePolicy")} == {
        k: wanted[k] for k in ("Name", "Role", "DatabaseName", "SchemaChangePolicy")}
    assert [t["Path"] for t in crawler["Targets"]["S3Targets"]] == [wanted["Targets"]["S3Targets"][0]["Path"]]

    job, kwargs = glue.get_job(JobName=etl.CURATE_JOB_NAME)["Job"], etl.curate_job_kwargs()
    assert job["Role"] == kwargs["iam_role_arn"]
    for key, value in kwargs["create_job_kwargs"].items():
        assert job[key] == value, key

    for conn_id in config["required_connections"]:
        assert secrets.get_secret_value(SecretId=f"airflow/connections/{conn_id}")["SecretString"]
    stored = json.loads(secrets.get_secret_value(SecretId="airflow/connections/retail_source_db")["SecretString"])
    assert stored == SOURCE  # the caller's connection wins over the template's placeholder
    policies = iam.list_role_policies(RoleName="mwaa-local-execution")["PolicyNames"]
    assert sorted(policies) == ["mwaa-runtime", "retail-pipelines"]


def test_second_run_creates_nothing(provisioned, local_cloud):
    again = provision.provision(local_cloud.endpoint_url, {"retail_source_db": SOURCE})
    assert again.created == []
    assert "storage/MwaaBucket mwaa-local-dags" in again.existing


def test_drift_is_undone(provisioned, local_cloud, aws):
    iam, glue = aws("iam"), aws("glue")
    iam.put_role_policy(RoleName="mwaa-local-glue", PolicyName="hand-made",
                        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    glue.update_crawler(Name="retail_raw", SchemaChangePolicy={"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"})
    glue.update_job(JobName="retail_curate", JobUpdate={"Role": "mwaa-local-glue", "Command": {
        "Name": "pythonshell", "ScriptLocation": "s3://elsewhere/x.py"}, "Timeout": 5})

    provision.provision(local_cloud.endpoint_url, {"retail_source_db": SOURCE})

    assert iam.list_role_policies(RoleName="mwaa-local-glue")["PolicyNames"] == ["retail-glue"]
    assert glue.get_crawler(Name="retail_raw")["Crawler"]["SchemaChangePolicy"]["UpdateBehavior"] == "UPDATE_IN_DATABASE"
    job = glue.get_job(JobName="retail_curate")["Job"]
    assert job["Timeout"] == 60 and job["Command"]["ScriptLocation"].endswith("/dags/include/glue/curate_retail.py")


def test_resources_that_existed_before_are_adopted(local_cloud, aws):
    """An account provisioned by hand (or before the templates) is brought to the templates' definitions."""
    s3, bucket = aws("s3"), "mwaa-local-mlflow-artifacts"
    try:
        s3.delete_bucket(Bucket=bucket)  # empty: nothing in the suite writes MLflow artifacts here
    except s3.exceptions.ClientError as exc:
        assert exc.response["Error"]["Code"] == "NoSuchBucket"
    s3.create_bucket(Bucket=bucket)
    assert "Status" not in s3.get_bucket_versioning(Bucket=bucket)

    done = provision.provision(local_cloud.endpoint_url)

    assert f"storage/MlflowArtifactsBucket {bucket}" in done.existing
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"


def test_aws_only_resources_stay_off_locally():
    env = templates.load_environment("local")
    for stack in local_apply.LOCAL_STACKS:
        template = templates.load_template(stack)
        evaluator = templates.Evaluator(template, templates.stack_parameters(stack, template, env), env.region)
        active = {spec["Type"] for spec in template["Resources"].values() if evaluator.active(spec)}
        assert active <= set(local_apply.APPLIERS), (stack, active - set(local_apply.APPLIERS))


def test_a_resource_the_local_cloud_cannot_create_is_refused(local_cloud, monkeypatch):
    real = templates.load_template("mwaa")
    monkeypatch.setattr(local_apply, "load_template", lambda stack: real)
    env = templates.load_environment("local")
    monkeypatch.setattr(local_apply, "load_environment", lambda name: templates.Environment(
        name, env.region, {**env.parameters, "CreateEnvironment": "true"}))
    client = provision.clients(local_cloud.endpoint_url)
    exports = {"mwaa-local-kms-key-arn": "arn:aws:kms:us-east-1:123456789012:key/x",
               "mwaa-local-redshift-workgroup-arn": "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/x"}
    with pytest.raises(InfraError, match=r"mwaa.yaml: Environment \(AWS::MWAA::Environment\) cannot be created in "
                                         r"the local cloud; switch it off"):
        local_apply.apply_stack(client, "mwaa", "local", exports, local_apply.Applied())


def test_upload_puts_the_tree_where_the_environment_reads_it(provisioned, aws, capsys):
    """`python -m mwaa_local.infra upload local` against the local cloud (AWS_ENDPOINT_URL is set by the fixture)."""
    from mwaa_local.infra.__main__ import main

    assert main(["upload", "local"]) == 0
    assert capsys.readouterr().out.startswith("s3://mwaa-local-dags: ")
    mwaa = templates.load_template("mwaa")["Resources"]["Environment"]["Properties"]
    s3 = aws("s3")
    for key in (mwaa["PluginsS3Path"], mwaa["RequirementsS3Path"], mwaa["StartupScriptS3Path"],
                f"{mwaa['DagS3Path']}/retail_etl.py", f"{mwaa['DagS3Path']}/include/glue/curate_retail.py"):
        assert s3.head_object(Bucket="mwaa-local-dags", Key=key)["VersionId"], key


def test_provisioning_a_restarted_cloud(tmp_path):
    """State survives a restart, except moto's KMS keys (the state store cannot pickle them): the second run
    creates the key and alias again and finds everything else."""
    from mwaa_local.cloud import process

    created = []
    for round_ in (1, 2):
        cloud = process.start(state_dir=tmp_path / "state", log_file=tmp_path / f"cloud-{round_}.log")
        try:
            created.append(provision.provision(cloud.endpoint_url).created)
            s3 = process.clients(cloud.endpoint_url)("s3")
            assert s3.get_bucket_versioning(Bucket="mwaa-local-dags")["Status"] == "Enabled"
        finally:
            cloud.stop()
    assert len(created[0]) > 10
    assert [what.split()[0] for what in created[1]] == ["storage/PlatformKey", "storage/PlatformKeyAlias"]
