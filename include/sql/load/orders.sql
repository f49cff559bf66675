-- Load one interval of curated/orders into analytics.fact_orders (see _template.md).
DELETE FROM staging.stg_orders;
COPY staging.stg_orders FROM '${curated_uri}' IAM_ROLE '${iam_role}' FORMAT AS PARQUET;
DELETE FROM staging.stg_orders USING analytics.fact_orders t
  WHERE staging.stg_orders.order_id = t.order_id AND t.updated_at > staging.stg_orders.updated_at;
MERGE INTO analytics.fact_orders USING staging.stg_orders s ON analytics.fact_orders.order_id = s.order_id
  WHEN MATCHED THEN UPDATE SET
    customer_id = s.customer_id,
    status = s.status,
    currency = s.currency,
    total_amount = s.total_amount,
    created_at = s.created_at,
    updated_at = s.updated_at
  WHEN NOT MATCHED THEN INSERT (order_id, customer_id, status, currency, total_amount, created_at, updated_at)
    VALUES (s.order_id, s.customer_id, s.status, s.currency, s.total_amount, s.created_at, s.updated_at);
