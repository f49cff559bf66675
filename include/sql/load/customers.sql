-- Load one interval of curated/customers into analytics.dim_customer (see _template.md).
DELETE FROM staging.stg_customers;
COPY staging.stg_customers FROM '${curated_uri}' IAM_ROLE '${iam_role}' FORMAT AS PARQUET;
DELETE FROM staging.stg_customers USING analytics.dim_customer t
  WHERE staging.stg_customers.customer_id = t.customer_id AND t.updated_at > staging.stg_customers.updated_at;
MERGE INTO analytics.dim_customer USING staging.stg_customers s ON analytics.dim_customer.customer_id = s.customer_id
  WHEN MATCHED THEN UPDATE SET
    email = s.email,
    full_name = s.full_name,
    country_code = s.country_code,
    segment = s.segment,
    created_at = s.created_at,
    updated_at = s.updated_at
  WHEN NOT MATCHED THEN INSERT (customer_id, email, full_name, country_code, segment, created_at, updated_at)
    VALUES (s.customer_id, s.email, s.full_name, s.country_code, s.segment, s.created_at, s.updated_at);
