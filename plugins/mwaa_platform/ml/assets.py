"""The ML pipeline's assets: ml_train publishes the champion when the registered model's `champion` alias moves
(scoring/deploy DAGs schedule on it); ml_monitor publishes feature drift when the current features drift from the
champion's training baseline (ml_train schedules on it, or on new warehouse data)."""

from airflow.sdk import Asset

ML_CHAMPION = Asset(name="retail_repeat_purchase_champion")
FEATURE_DRIFT = Asset(name="retail_feature_drift")
