"""The asset ml_train publishes when the registered model's `champion` alias moves (scoring/deploy DAGs schedule on it)."""

from airflow.sdk import Asset

ML_CHAMPION = Asset(name="retail_repeat_purchase_champion")
