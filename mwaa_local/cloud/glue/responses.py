"""The Glue API operations the local cloud serves itself (wire format only). Everything not defined here -
the Data Catalog, CreateJob/GetJob/DeleteJob, CreateCrawler/UpdateCrawler/DeleteCrawler... - is moto's."""

from __future__ import annotations

from typing import Any

from mwaa_local.cloud.context import CloudContext
from mwaa_local.cloud.glue import models
from mwaa_local.cloud.glue.exceptions import InvalidInput
from mwaa_local.cloud.service import JsonService, ServiceError, ValidationException


def _page(items: list, next_token: str | None, max_results: int | None, default: int = 100) -> tuple[list, str | None]:
    try:
        start = int(next_token or 0)
    except ValueError:
        raise ValidationException(f"invalid NextToken {next_token!r}") from None
    size = max_results or default
    if not 1 <= size <= 1000:
        raise ValidationException("MaxResults must be between 1 and 1000")
    end = start + size
    return items[start:end], (str(end) if end < len(items) else None)


class GlueService(JsonService):
    signing_name = "glue"
    target_prefix = "AWSGlue"

    def __init__(self, context: CloudContext):
        self.context = context
        self.job_runs = models.JobRuns(context)
        from mwaa_local.cloud.glue.crawls import Crawls

        self.crawls = Crawls(context)

    # -- jobs -------------------------------------------------------------------------------------------------
    def start_job_run(self, JobName: str, Arguments: dict | None = None, JobRunId: str | None = None,  # noqa: N803
                      Timeout: int | None = None, WorkerType: str | None = None,
                      NumberOfWorkers: int | None = None, MaxCapacity: float | None = None,
                      AllocatedCapacity: int | None = None, **ignored: Any) -> dict:
        if AllocatedCapacity and MaxCapacity:
            raise InvalidInput("Please set only Allocated Capacity or Max Capacity")
        run = self.job_runs.start(JobName, Arguments, Timeout, JobRunId, WorkerType, NumberOfWorkers, MaxCapacity)
        return {"JobRunId": run.id}

    def get_job_run(self, JobName: str, RunId: str, PredecessorsIncluded: bool = False) -> dict:  # noqa: N803
        return {"JobRun": self.job_runs.get(JobName, RunId).as_dict()}

    def get_job_runs(self, JobName: str, NextToken: str | None = None, MaxResults: int | None = None) -> dict:  # noqa: N803
        runs, token = _page(self.job_runs.of_job(JobName), NextToken, MaxResults, default=100)
        return {"JobRuns": [run.as_dict() for run in runs], **({"NextToken": token} if token else {})}

    def batch_stop_job_run(self, JobName: str, JobRunIds: list[str]) -> dict:  # noqa: N803
        if not JobRunIds:
            raise ValidationException("JobRunIds must name at least one run")
        self.job_runs.job_definition(JobName)
        stopped, errors = [], []
        for run_id in JobRunIds:
            try:
                self.job_runs.stop(JobName, run_id)
                stopped.append({"JobName": JobName, "JobRunId": run_id})
            except ServiceError as exc:
                errors.append({"JobName": JobName, "JobRunId": run_id,
                               "ErrorDetail": {"ErrorCode": exc.code, "ErrorMessage": exc.message}})
        return {"SuccessfulSubmissions": stopped, "Errors": errors}

    def stop_job_run(self, JobName: str, JobRunId: str) -> dict:  # noqa: N803 - not in botocore; kept for raw callers
        self.job_runs.stop(JobName, JobRunId)
        return {"JobName": JobName, "JobRunId": JobRunId}

    def update_job(self, JobName: str, JobUpdate: dict) -> dict:  # noqa: N803
        models.update_job(self.context, JobName, JobUpdate)
        return {"JobName": JobName}

    # -- crawlers ---------------------------------------------------------------------------------------------
    def start_crawler(self, Name: str) -> dict:  # noqa: N803
        self.crawls.start(Name)
        return {}

    def stop_crawler(self, Name: str) -> dict:  # noqa: N803
        self.crawls.stop(Name)
        return {}

    def get_crawler(self, Name: str) -> dict:  # noqa: N803
        return {"Crawler": self.crawls.describe(Name)}

    def get_crawlers(self, MaxResults: int | None = None, NextToken: str | None = None) -> dict:  # noqa: N803
        items, token = _page(self.crawls.names(), NextToken, MaxResults, default=100)
        return {"Crawlers": [self.crawls.describe(n) for n in items], **({"NextToken": token} if token else {})}

    def batch_get_crawlers(self, CrawlerNames: list[str]) -> dict:  # noqa: N803
        known = set(self.crawls.names())
        return {"Crawlers": [self.crawls.describe(n) for n in CrawlerNames if n in known],
                "CrawlersNotFound": [n for n in CrawlerNames if n not in known]}

    def get_crawler_metrics(self, CrawlerNameList: list[str] | None = None, MaxResults: int | None = None,  # noqa: N803
                            NextToken: str | None = None) -> dict:  # noqa: N803
        names = CrawlerNameList if CrawlerNameList else self.crawls.names()
        items, token = _page(names, NextToken, MaxResults, default=100)
        return {"CrawlerMetricsList": [self.crawls.metrics(n) for n in items],
                **({"NextToken": token} if token else {})}

    def update_crawler(self, Name: str, **changes: Any) -> dict:  # noqa: N803
        self.crawls.update(Name, changes)
        return {}

    def delete_crawler(self, Name: str) -> dict:  # noqa: N803
        self.crawls.delete(Name)
        return {}
