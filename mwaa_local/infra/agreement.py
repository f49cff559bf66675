"""Do the templates (with infra/params/<env>.json) create what the DAGs read? Compares them with
include/config/platform.yaml, the Glue definitions in plugins/mwaa_platform/etl.py, the secrets backend
settings and the bucket layout of mwaa_local/bucket_sync.py. `disagreements(env)` lists every difference."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mwaa_local.infra.templates import Environment, Evaluator, load_environment, load_template, stack_parameters

MWAA_LOOKUP_PATTERN = "^(?!aws_default$).*$"  # MWAA's own backend kwarg (RUNTIME.md): aws_default is the role


@contextlib.contextmanager
def platform_environment(name: str) -> Iterator[Any]:
    """settings() of the DAGs as they read it with PLATFORM_ENV=name."""
    from mwaa_platform.settings import settings

    saved = os.environ.get("PLATFORM_ENV")
    os.environ["PLATFORM_ENV"] = name
    settings.cache_clear()
    try:
        yield settings()
    finally:
        if saved is None:
            os.environ.pop("PLATFORM_ENV", None)
        else:
            os.environ["PLATFORM_ENV"] = saved
        settings.cache_clear()


def _role_name(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _evaluated(stack: str, env: Environment, account_id: str, attributes: dict[tuple[str, str], Any],
               refs: dict[str, Any]) -> tuple[dict, Evaluator]:
    template = load_template(stack)
    evaluator = Evaluator(template, stack_parameters(stack, template, env), env.region, account_id=account_id,
                          exports={f"{env.parameters['EnvironmentName']}-kms-key-arn": "KMS-KEY"},
                          resource_ref=refs.__getitem__, resource_attribute=lambda r, a: attributes[(r, a)])
    return template, evaluator


def disagreements(env_name: str, environment: Environment | None = None) -> list[str]:
    from mwaa_local import airflow_env, bucket_sync
    from mwaa_platform import etl

    env = environment or load_environment(env_name)
    p = env.parameters
    problems: list[str] = []

    def same(what: str, template_value: Any, dag_value: Any) -> None:
        if template_value != dag_value:
            problems.append(f"{env_name}: {what}: templates say {template_value!r}, the DAGs read {dag_value!r}")

    with platform_environment(env_name) as config:
        account = config["glue"]["iam_role"].split(":")[4]
        same("region", env.region, config["aws_region"])
        same("MWAA environment", p.get("EnvironmentName"), config["mwaa_environment"])
        same("MWAA bucket", p.get("MwaaBucketName"), config["mwaa_bucket"])
        same("data lake bucket", p.get("DataLakeBucketName"), config["data_lake_bucket"])
        same("Glue database", p.get("GlueDatabaseName"), config["glue"]["raw_database"])
        same("Glue role", p.get("GlueRoleName"), _role_name(config["glue"]["iam_role"]))
        same("Redshift workgroup", p.get("RedshiftWorkgroupName"), config["redshift"]["workgroup"])
        same("Redshift database", p.get("RedshiftDatabaseName"), config["redshift"]["database"])
        same("Redshift COPY role", p.get("RedshiftRoleName"), _role_name(config["redshift"]["iam_role"]))
        same("Glue crawler name", p.get("GlueCrawlerName"), etl.CRAWLER_NAME)
        same("Glue job name", p.get("GlueJobName"), etl.CURATE_JOB_NAME)

        # The crawler and job exactly as the DAG's operators define them (else they rewrite them on first run).
        refs = {"RawDatabase": p.get("GlueDatabaseName"), "GlueRole": p.get("GlueRoleName")}
        attributes = {("GlueRole", "Arn"): f"arn:aws:iam::{account}:role/{p.get('GlueRoleName')}"}
        data, evaluator = _evaluated("data", env, account, attributes, refs)
        crawler = evaluator.value(data["Resources"]["RawCrawler"]["Properties"])
        same("crawler definition", crawler, etl.crawler_config())
        job = evaluator.value(data["Resources"]["CurateJob"]["Properties"])
        kwargs = etl.curate_job_kwargs()
        wanted_job = {"Name": kwargs["job_name"], "Role": kwargs["iam_role_arn"], "ExecutionProperty": {
            "MaxConcurrentRuns": 1}, **{k: v for k, v in kwargs["create_job_kwargs"].items()}}
        same("curation job definition", {**job, "MaxCapacity": float(job["MaxCapacity"])}, wanted_job)

        secrets = {evaluator.value(spec["Properties"]["Name"])
                   for stack in ("data", "ml", "mwaa")
                   for spec in load_template(stack)["Resources"].values()
                   if spec["Type"] == "AWS::SecretsManager::Secret"}
        prefixes = airflow_env.SECRETS_BACKEND_KWARGS
        for conn_id in config["required_connections"]:
            if conn_id != "aws_default":  # MWAA gives aws_default from the execution role
                name = f"{prefixes['connections_prefix']}/{conn_id}"
                if name not in secrets:
                    problems.append(f"{env_name}: connection {conn_id} has no secret {name} in the templates")
        for variable in config["required_variables"]:
            name = f"{prefixes['variables_prefix']}/{variable}"
            if name not in secrets:
                problems.append(f"{env_name}: variable {variable} has no secret {name} in the templates")

    mwaa = load_template("mwaa")["Resources"]["Environment"]["Properties"]
    options = mwaa["AirflowConfigurationOptions"]
    same("secrets backend", options["secrets.backend"], airflow_env.SECRETS_BACKEND)
    kwargs = json.loads(options["secrets.backend_kwargs"])
    same("secrets backend prefixes", {k: kwargs.get(k) for k in prefixes}, prefixes)
    same("connections_lookup_pattern (MWAA's aws_default exclusion)", kwargs.get("connections_lookup_pattern"),
         MWAA_LOOKUP_PATTERN)
    layout = bucket_sync.planned_objects(Path("plugins.zip"))
    for key in ("PluginsS3Path", "RequirementsS3Path", "StartupScriptS3Path"):
        if mwaa[key] not in layout:
            problems.append(f"{key} {mwaa[key]!r} is not an object ./mwaa-local uploads ({', '.join(sorted(k for k in layout if '/' not in k))})")
    if not any(k.startswith(mwaa["DagS3Path"] + "/") for k in layout):
        problems.append(f"DagS3Path {mwaa['DagS3Path']!r} is not where the DAGs are uploaded")
    return problems
