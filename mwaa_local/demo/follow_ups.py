"""The DAGs the demo runs after ml_train, in this order, when their files exist in dags/ (others write them; each
one missing is skipped with a note). Adding one = one line here. Each is triggered for the demo's last daily
interval (logical date = its end), like retail_etl's last run."""

from __future__ import annotations

from mwaa_local import paths

FOLLOW_UPS = ("ml_batch_score", "ml_deploy", "ml_monitor")

# After ml_deploy: one endpoint prediction next to the batch score of the same customer and model version, as
# "module:function" taking (endpoint_url of the local cloud, region) and returning
# {"customer_id", "model_version", "endpoint_score", "batch_score", "endpoint"}; the demo prints and records it.
ENDPOINT_VS_BATCH: str | None = "mwaa_local.demo.endpoint_check:endpoint_vs_batch"


def present(dag_id: str) -> bool:
    return (paths.DAGS / f"{dag_id}.py").is_file()


def endpoint_vs_batch(endpoint_url: str, region: str) -> dict | None:
    """One endpoint prediction next to the batch score of the same customer, if the helper exists (None if not)."""
    if not ENDPOINT_VS_BATCH:
        return None
    import importlib

    module, _, function = ENDPOINT_VS_BATCH.partition(":")
    return getattr(importlib.import_module(module), function)(endpoint_url, region)
