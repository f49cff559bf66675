-- Load one interval of curated/products into analytics.dim_product (see _template.md).
DELETE FROM staging.stg_products;
COPY staging.stg_products FROM '${curated_uri}' IAM_ROLE '${iam_role}' FORMAT AS PARQUET;
DELETE FROM staging.stg_products USING analytics.dim_product t
  WHERE staging.stg_products.product_id = t.product_id AND t.updated_at > staging.stg_products.updated_at;
MERGE INTO analytics.dim_product USING staging.stg_products s ON analytics.dim_product.product_id = s.product_id
  WHEN MATCHED THEN UPDATE SET
    sku = s.sku,
    name = s.name,
    category = s.category,
    unit_price = s.unit_price,
    created_at = s.created_at,
    updated_at = s.updated_at
  WHEN NOT MATCHED THEN INSERT (product_id, sku, name, category, unit_price, created_at, updated_at)
    VALUES (s.product_id, s.sku, s.name, s.category, s.unit_price, s.created_at, s.updated_at);
