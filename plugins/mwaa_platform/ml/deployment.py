"""Endpoint deployment of the champion (ml_deploy): names and requests, the state an endpoint must be in before an
update, the smoke test's sample and its comparison with the batch scores, and the MLflow tags of a deployment.
Plain functions, no Airflow, no network."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from mwaa_platform.ml.champion import Champion
from mwaa_platform.ml.scoring import _literal, check_table_name, sagemaker_name

IN_PROGRESS = ("Creating", "Updating", "SystemUpdating", "RollingBack", "Deleting")


class DeploymentError(RuntimeError):
    """The endpoint cannot be (or was not) moved to the champion; the message says what to fix."""


def endpoint_config_name(endpoint: str, champion: Champion, model: str, instance_type: str,
                         instance_count: int) -> str:
    """One config per endpoint, SageMaker model and instance shape: a re-run finds it instead of making another."""
    return sagemaker_name(f"{endpoint}-v{champion.version}", model, instance_type, str(instance_count))


def endpoint_config_request(name: str, model: str, instance_type: str, instance_count: int,
                            champion: Champion) -> dict:
    return {"EndpointConfigName": name,
            "ProductionVariants": [{"VariantName": "champion", "ModelName": model, "InstanceType": instance_type,
                                    "InitialInstanceCount": int(instance_count), "InitialVariantWeight": 1.0}],
            "Tags": [{"Key": "mlflow.registered_model", "Value": champion.registered_model},
                     {"Key": "mlflow.model_version", "Value": str(champion.version)}]}


def previous_config(endpoint: str, described: dict | None) -> str | None:
    """The config the endpoint serves now (None: no endpoint yet). Raises DeploymentError when it cannot be updated."""
    if described is None:
        return None
    status = described.get("EndpointStatus")
    if status == "Failed":
        raise DeploymentError(
            f"endpoint {endpoint} is Failed ({described.get('FailureReason') or 'no reason given'}): it serves "
            f"nothing and cannot be updated; fix the cause, delete it (aws sagemaker delete-endpoint --endpoint-name "
            f"{endpoint}) and re-run ml_deploy, which creates it again")
    if status in IN_PROGRESS:
        raise DeploymentError(f"endpoint {endpoint} is {status}: wait until it is InService (or Failed) and re-run "
                              "ml_deploy; nothing was changed")
    return described.get("EndpointConfigName")


def check_serving(endpoint: str, described: dict, wanted: str, previous: str | None) -> None:
    """After the create/update: the endpoint must be InService on the wanted config."""
    status, serving = described.get("EndpointStatus"), described.get("EndpointConfigName")
    reason = described.get("FailureReason") or "no reason given"
    if status == "InService" and serving == wanted:
        return
    if previous and serving == previous:
        raise DeploymentError(f"the update of endpoint {endpoint} to config {wanted} failed ({reason}); the endpoint "
                              f"still serves the previous config {previous}; fix the model or its inference script "
                              "and re-run ml_deploy")
    raise DeploymentError(f"endpoint {endpoint} is {status} on config {serving} instead of InService on {wanted} "
                          f"({reason}); fix the cause, delete the endpoint and re-run ml_deploy")


def latest_scores_sql(table: str, champion: Champion) -> str:
    """The latest score date with batch scores of this exact version (NULL: none yet)."""
    check_table_name(table)
    return (f"SELECT MAX(score_date) FROM {table} WHERE model_name = '{_literal(champion.registered_model)}' "
            f"AND model_version = {int(champion.version)}")


def sample_sql(table: str, champion: Champion, score_date: str, size: int) -> str:
    """A fixed sample: the same customers every time (ordered by a hash of the id), with their batch scores."""
    check_table_name(table)
    return (f"SELECT customer_id, score FROM {table} WHERE model_name = '{_literal(champion.registered_model)}' "
            f"AND model_version = {int(champion.version)} AND score_date = DATE '{score_date}' "
            f"ORDER BY MOD(customer_id * 2654435761, 4294967296), customer_id LIMIT {int(size)}")


def csv_body(rows: list[tuple]) -> str:
    """Feature rows (customer_id first) as the text/csv the inference script reads."""
    return "\n".join(",".join(repr(float(v)) if i else str(int(v)) for i, v in enumerate(row)) for row in rows)


def parse_scores(body: str) -> dict[int, float]:
    """`customer_id,score` lines -> {customer_id: score}."""
    return {int(row[0]): float(row[1]) for row in csv.reader(io.StringIO(body)) if row}


@dataclass
class SmokeResult:
    checked: int
    tolerance: float
    max_difference: float = 0.0
    mismatches: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.checked > 0 and not self.mismatches

    def summary(self) -> str:
        if self.checked == 0:
            return "no customer of the sample could be checked"
        head = f"{self.checked} customers, max |endpoint - batch| = {self.max_difference:.3g} (tolerance {self.tolerance})"
        return head if self.ok else f"{head}; {len(self.mismatches)} differ: {'; '.join(self.mismatches[:5])}"


def compare(batch: dict[int, float], online: dict[int, float], tolerance: float) -> SmokeResult:
    result = SmokeResult(checked=len(batch), tolerance=tolerance)
    for customer, expected in sorted(batch.items()):
        if customer not in online:
            result.mismatches.append(f"customer {customer}: no answer from the endpoint")
            continue
        difference = abs(online[customer] - expected)
        result.max_difference = max(result.max_difference, difference)
        if difference > tolerance:
            result.mismatches.append(f"customer {customer}: endpoint {online[customer]:.6f} vs batch {expected:.6f}")
    return result


def deployment_tags(endpoint: str, config: str, model: str, champion: Champion, status: str, detail: str) -> dict:
    return {"deployment.endpoint_name": endpoint, "deployment.endpoint_config": config,
            "deployment.sagemaker_model": model, "deployment.model_version": str(champion.version),
            "deployment.status": status, "deployment.detail": detail[:4000]}
