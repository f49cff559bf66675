"""Assets shared between DAGs: the ETL publishes, the ML DAGs schedule on them."""

from airflow.sdk import Asset

from mwaa_platform.settings import settings


def _warehouse_table(schema: str, table: str) -> str:
    redshift = settings()["redshift"]
    return f"redshift://{redshift['workgroup']}/{redshift['database']}/{schema}/{table}"


# Updated after every successful warehouse load of an interval (dims + facts committed together).
RETAIL_WAREHOUSE = Asset(name="retail_warehouse", uri=_warehouse_table("analytics", "fact_order_items"))
