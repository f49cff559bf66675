-- Replaces one (model, version, score date) slice of {table} with the transform job's output (customer_id,score CSV
-- lines under {output_prefix}). Run as one batch = one transaction: readers see the old slice or the new one.
-- Placeholders: {table}, {output_prefix}, {iam_role}, {model_name}, {model_version}, {score_date}, {run_id}.
CREATE TEMP TABLE scores_stage (customer_id BIGINT, score DOUBLE PRECISION);
COPY scores_stage FROM '{output_prefix}' IAM_ROLE '{iam_role}' FORMAT AS CSV;
DELETE FROM {table} WHERE model_name = '{model_name}' AND model_version = {model_version}
  AND score_date = DATE '{score_date}';
INSERT INTO {table} (customer_id, model_name, model_version, score_date, score, scored_at, airflow_run_id)
  SELECT customer_id, '{model_name}', {model_version}, DATE '{score_date}', score, GETDATE(), '{run_id}'
  FROM scores_stage;
DROP TABLE scores_stage
