"""`./mwaa-local demo` through the scheduler, one small module per job:

  history.py     the seeded days: history for ml_train's label window + the daily intervals the demo runs
  environment.py `up --detach` (or the one already running), MLflow, the source DSN
  runs.py        trigger, follow and tidy DAG runs through the local REST API (token, never dag.test())
  ml_report.py   what ml_train decided: MLflow run URL, champion version and metric, why (XCom, else MLflow tags)
  follow_ups.py  the DAGs the demo runs after training, when their files exist
"""
