-- Load one interval of curated/order_items into analytics.fact_order_items (see _template.md).
DELETE FROM staging.stg_order_items;
COPY staging.stg_order_items FROM '${curated_uri}' IAM_ROLE '${iam_role}' FORMAT AS PARQUET;
DELETE FROM staging.stg_order_items USING analytics.fact_order_items t
  WHERE staging.stg_order_items.order_item_id = t.order_item_id AND t.updated_at > staging.stg_order_items.updated_at;
MERGE INTO analytics.fact_order_items USING staging.stg_order_items s ON analytics.fact_order_items.order_item_id = s.order_item_id
  WHEN MATCHED THEN UPDATE SET
    order_id = s.order_id,
    product_id = s.product_id,
    quantity = s.quantity,
    unit_price = s.unit_price,
    amount = s.amount,
    created_at = s.created_at,
    updated_at = s.updated_at
  WHEN NOT MATCHED THEN INSERT (order_item_id, order_id, product_id, quantity, unit_price, amount, created_at, updated_at)
    VALUES (s.order_item_id, s.order_id, s.product_id, s.quantity, s.unit_price, s.amount, s.created_at, s.updated_at);
