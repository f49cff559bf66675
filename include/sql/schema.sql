-- Redshift warehouse for the retail pipeline. Idempotent: safe to run before every load.
-- Timestamps are UTC (TIMESTAMP without time zone), as the curated Parquet stores them.
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS analytics;

-- Staging: one table per source table, same columns as curated/<table>/; emptied and reloaded per interval.
CREATE TABLE IF NOT EXISTS staging.stg_customers (
  customer_id BIGINT NOT NULL, email VARCHAR(320), full_name VARCHAR(256), country_code CHAR(2),
  segment VARCHAR(32), created_at TIMESTAMP, updated_at TIMESTAMP NOT NULL
) DISTSTYLE ALL;
CREATE TABLE IF NOT EXISTS staging.stg_products (
  product_id BIGINT NOT NULL, sku VARCHAR(32), name VARCHAR(256), category VARCHAR(64),
  unit_price DECIMAL(12,2), created_at TIMESTAMP, updated_at TIMESTAMP NOT NULL
) DISTSTYLE ALL;
CREATE TABLE IF NOT EXISTS staging.stg_orders (
  order_id BIGINT NOT NULL, customer_id BIGINT NOT NULL, status VARCHAR(16), currency CHAR(3),
  total_amount DECIMAL(14,2), created_at TIMESTAMP, updated_at TIMESTAMP NOT NULL
) DISTKEY(order_id);
CREATE TABLE IF NOT EXISTS staging.stg_order_items (
  order_item_id BIGINT NOT NULL, order_id BIGINT NOT NULL, product_id BIGINT NOT NULL, quantity INTEGER,
  unit_price DECIMAL(12,2), amount DECIMAL(14,2), created_at TIMESTAMP, updated_at TIMESTAMP NOT NULL
) DISTKEY(order_id);

-- Dimensions are small: a copy on every node (DISTSTYLE ALL) makes joins local.
CREATE TABLE IF NOT EXISTS analytics.dim_customer (
  customer_id BIGINT NOT NULL PRIMARY KEY, email VARCHAR(320), full_name VARCHAR(256), country_code CHAR(2),
  segment VARCHAR(32), created_at TIMESTAMP, updated_at TIMESTAMP NOT NULL
) DISTSTYLE ALL SORTKEY(customer_id);
CREATE TABLE IF NOT EXISTS analytics.dim_product (
  product_id BIGINT NOT NULL PRIMARY KEY, sku VARCHAR(32), name VARCHAR(256), category VARCHAR(64),
  unit_price DECIMAL(12,2), created_at TIMESTAMP, updated_at TIMESTAMP NOT NULL
) DISTSTYLE ALL SORTKEY(product_id);

-- Facts: orders and their lines share DISTKEY(order_id) so the order/line join never moves data;
-- sorted by time for the date-range scans the features and reports do.
CREATE TABLE IF NOT EXISTS analytics.fact_orders (
  order_id BIGINT NOT NULL PRIMARY KEY, customer_id BIGINT NOT NULL, status VARCHAR(16), currency CHAR(3),
  total_amount DECIMAL(14,2), created_at TIMESTAMP, updated_at TIMESTAMP NOT NULL
) DISTKEY(order_id) SORTKEY(created_at);
CREATE TABLE IF NOT EXISTS analytics.fact_order_items (
  order_item_id BIGINT NOT NULL PRIMARY KEY, order_id BIGINT NOT NULL, product_id BIGINT NOT NULL,
  quantity INTEGER, unit_price DECIMAL(12,2), amount DECIMAL(14,2), created_at TIMESTAMP, updated_at TIMESTAMP NOT NULL
) DISTKEY(order_id) SORTKEY(created_at);
