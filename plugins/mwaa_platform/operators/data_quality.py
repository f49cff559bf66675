"""DataQualityGateOperator: fails the task (and so stops the load) when curated data breaches its suite.

Our own small operator because the Great Expectations Airflow provider does not resolve under MWAA's pins;
the logic is mwaa_platform.data_quality.check_curated, unit-tested without Airflow: the suite is evaluated as
SQL (derived from the GE suite) by DuckDB over the curated Parquet, so the task's memory does not grow with the
interval.
"""

from __future__ import annotations

from collections.abc import Sequence

from airflow.sdk import BaseOperator


class DataQualityGateOperator(BaseOperator):
    template_fields: Sequence[str] = ("bucket", "interval_date")

    def __init__(self, *, bucket: str, table: str, interval_date: str = "{{ data_interval_start.strftime('%Y-%m-%d') }}",
                 aws_conn_id: str | None = "aws_default", **kwargs):
        super().__init__(**kwargs)
        self.bucket, self.table, self.interval_date, self.aws_conn_id = bucket, table, interval_date, aws_conn_id

    def execute(self, context):
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook
        from airflow.sdk.exceptions import AirflowFailException

        from mwaa_platform.data_quality import DataQualityError, check_curated

        try:
            result = check_curated(self.bucket, self.table, self.interval_date,
                                   s3=S3Hook(aws_conn_id=self.aws_conn_id).get_conn())
        except DataQualityError as exc:  # the data will not fix itself on a retry: fail at once
            raise AirflowFailException(str(exc)) from exc
        self.log.info("%s", result.summary())
        return {"table": result.table, "rows": result.rows, "expectations": result.checked}
