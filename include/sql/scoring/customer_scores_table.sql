-- Batch scores of the repeat-purchase model: one row per (customer, model version, score date).
-- ml_batch_score replaces a (model, version, score date) slice in one transaction, so a re-run never duplicates.
-- Placeholder: {table}.
CREATE TABLE IF NOT EXISTS {table} (
  customer_id BIGINT NOT NULL,
  model_name VARCHAR(256) NOT NULL,
  model_version INTEGER NOT NULL,
  score_date DATE NOT NULL,
  score DOUBLE PRECISION NOT NULL,
  scored_at TIMESTAMP NOT NULL,
  airflow_run_id VARCHAR(256) NOT NULL
)
