"""After ml_deploy: one customer's prediction from the endpoint next to that customer's batch score in Redshift
(same model version and score date), as the demo prints it. The same SQL and payload as the smoke test
(plugins/mwaa_platform/ml/deployment.py, scoring.py)."""

from __future__ import annotations

import datetime as dt


def endpoint_vs_batch(endpoint_url: str, region: str) -> dict:
    from mwaa_local import provision, redshift_query
    from mwaa_local.cloud.client import clients
    from mwaa_platform.ml import deployment, scoring

    config = provision.local_settings()
    serving, redshift, ml = config["scoring"], config["redshift"], config["ml"]
    client = clients(endpoint_url, region)
    table = scoring.check_table_name(serving["scores_table"])
    # ml_batch_score scores only the champion, and ml_deploy serves it: the newest version's newest slice
    latest = redshift_query.query(
        client("redshift-data"),
        f"SELECT customer_id, model_version, score_date, score FROM {table} "
        "ORDER BY model_version DESC, score_date DESC, customer_id LIMIT 1",
        redshift["workgroup"], redshift["database"])
    if not latest:
        raise RuntimeError(f"{table} holds no batch scores: ml_batch_score has not loaded any")
    row = latest[0]
    day = dt.date.fromisoformat(str(row["score_date"])[:10])
    features = redshift_query.query(
        client("redshift-data"),
        scoring.features_for_customers_sql(day, [int(row["customer_id"])], ml["label_days"], ml["validation_percent"]),
        redshift["workgroup"], redshift["database"])
    body = deployment.csv_body([tuple(f.values()) for f in features])
    answer = client("sagemaker-runtime").invoke_endpoint(
        EndpointName=serving["endpoint_name"], ContentType="text/csv", Accept="text/csv", Body=body.encode())
    online = deployment.parse_scores(answer["Body"].read().decode())
    return {"customer_id": int(row["customer_id"]), "model_version": int(row["model_version"]),
            "score_date": day.isoformat(), "endpoint": serving["endpoint_name"],
            "endpoint_score": online[int(row["customer_id"])], "batch_score": float(row["score"])}
