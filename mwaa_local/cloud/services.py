"""The services the local cloud implements itself, in routing order. Everything else is moto's."""

from __future__ import annotations

import importlib

from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.service import JsonService

# "module:Class"; each class takes the CloudContext and registers its own state with context.store.
SERVICES = [
    "mwaa_local.cloud.redshift_data.responses:RedshiftDataService",
    "mwaa_local.cloud.redshift_serverless.responses:RedshiftServerlessService",
    "mwaa_local.cloud.glue.responses:GlueService",
    "mwaa_local.cloud.sagemaker.runtime:SageMakerRuntimeService",  # path-routed: before the control plane
    "mwaa_local.cloud.sagemaker.responses:SageMakerService",
    "mwaa_local.cloud.mwaa.responses:MwaaService",  # REST-JSON, routed by path
]


def build_services(context: CloudContext) -> list[JsonService]:
    services = []
    for spec in SERVICES:
        module_name, _, class_name = spec.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name and module_name.startswith(exc.name):  # not written yet: serve that API from moto
                continue
            raise
        services.append(getattr(module, class_name)(context))
    return services
