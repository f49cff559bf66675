"""
### Platform self-check

Run after every deploy (`./mwaa-local deploy` triggers it): verifies the AWS identity in use, that the MWAA
and data-lake buckets are readable, and that every connection and variable the pipelines need resolves from
the secrets backend. All findings are reported together in one failure.
"""

from datetime import timedelta

import pendulum
from airflow.sdk import dag, task

from mwaa_platform.settings import settings


@dag(
    dag_id="platform_self_check",
    description="Post-deploy check of AWS identity, buckets, connections and variables",
    doc_md=__doc__,
    schedule=None,
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    tags=["platform", "self-check"],
    default_args={"owner": "platform", "retries": 2,
                  "retry_delay": timedelta(seconds=settings()["retry_delay_seconds"])},
)
def platform_self_check():
    @task
    def check_environment() -> list[str]:
        from mwaa_platform.environment_check import check_environment

        return check_environment()

    check_environment()


platform_self_check()
