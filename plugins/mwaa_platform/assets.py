"""Assets shared between DAGs: the ETL publishes, the ML DAGs schedule on them.

The asset's URI names the environment's Redshift workgroup and database, which come from include/config, so it
is built on first use (module __getattr__), never at import: a plugin module reads nothing from disk when it is
imported (MWAA imports plugins before include/ may be in place, and `./mwaa-local package` checks it).
"""

from __future__ import annotations

import functools
from typing import Any

__all__ = ["RETAIL_WAREHOUSE", "retail_warehouse"]  # noqa: F822 - RETAIL_WAREHOUSE is lazy, see __getattr__


def _warehouse_table(schema: str, table: str) -> str:
    from mwaa_platform.settings import settings

    redshift = settings()["redshift"]
    return f"redshift://{redshift['workgroup']}/{redshift['database']}/{schema}/{table}"


@functools.cache
def retail_warehouse():
    """Updated after every successful warehouse load of an interval (dims + facts committed together)."""
    from airflow.sdk import Asset

    return Asset(name="retail_warehouse", uri=_warehouse_table("analytics", "fact_order_items"))


def __getattr__(name: str) -> Any:
    if name == "RETAIL_WAREHOUSE":
        return retail_warehouse()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
