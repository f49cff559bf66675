"""SageMakerTrainingOperator made retry-safe: a retry never starts a second job while the first still runs.

The provider's operator renames a clashing job (`<name>-<epoch>`) and starts another; on a retry that means two jobs
training on the same data. Here the job name is fixed per Airflow run (<name> on the first try, <name>-t<N> on try N)
and every earlier name is looked at first: Completed -> its result is reused; InProgress -> the task waits for it
(deferred when deferrable); Failed/Stopped -> this try starts its own job.
"""

from __future__ import annotations

from airflow.providers.amazon.aws.operators.sagemaker import SageMakerTrainingOperator, serialize
from airflow.providers.amazon.aws.triggers.sagemaker import SageMakerTrigger
from botocore.exceptions import ClientError


def attempt_names(base: str, try_number: int) -> list[str]:
    return [base] + [f"{base[:58]}-t{n}" for n in range(2, max(try_number, 1) + 1)]


class RetrySafeSageMakerTrainingOperator(SageMakerTrainingOperator):
    def __init__(self, **kwargs):
        kwargs.setdefault("action_if_job_exists", "fail")
        super().__init__(check_if_job_exists=False, **kwargs)

    def _describe(self, name: str) -> dict | None:
        try:
            return self.hook.describe_training_job(name)
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ValidationException":
                return None
            raise

    def execute(self, context):
        base = self.config["TrainingJobName"]
        names = attempt_names(base, context["ti"].try_number)
        for name in names:
            job = self._describe(name)
            if job is None:
                continue
            status = job["TrainingJobStatus"]
            if status == "Completed":
                self.log.info("training job %s of an earlier try completed: reusing it", name)
                return {"Training": serialize(job)}
            if status in ("InProgress", "Stopping"):
                self.log.info("training job %s of an earlier try is still %s: waiting for it", name, status)
                return self._wait(name)
        fresh = next(name for name in names if self._describe(name) is None)
        self.config["TrainingJobName"] = fresh
        return super().execute(context)

    def _wait(self, name: str):
        if self.deferrable:
            self.defer(trigger=SageMakerTrigger(job_name=name, job_type="Training", waiter_delay=self.check_interval,
                                                waiter_max_attempts=self.max_attempts, aws_conn_id=self.aws_conn_id),
                       method_name="execute_complete")
        self.hook.check_status(name, "TrainingJobStatus", self.hook.describe_training_job, self.check_interval)
        return self.serialize_result(name)
