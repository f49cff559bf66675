"""The ML pipeline's logic in plain Python (no Airflow): features, the training job, MLflow connection parsing and the
promotion rule. DAGs and operators call these; unit tests test them directly."""
