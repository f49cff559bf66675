"""Just enough of an Airflow task context to run a provider operator's execute() without a scheduler."""

from __future__ import annotations

import asyncio


class FakeTaskInstance:
    def __init__(self, dag_id: str = "glue_dag", task_id: str = "glue_task", run_id: str = "manual__1"):
        self.dag_id, self.task_id, self.run_id, self.map_index, self.try_number = dag_id, task_id, run_id, -1, 1
        self.xcom: dict[str, object] = {}

    def xcom_push(self, key: str, value: object) -> None:
        self.xcom[key] = value

    def xcom_pull(self, key: str | None = None, task_ids: str | None = None, **_: object) -> object:
        return self.xcom.get(key)

    def retry(self) -> None:
        """What Airflow 3 does to a task instance on retry: a new try, the previous try's XComs gone."""
        self.try_number += 1
        self.xcom.clear()


def context(ti: FakeTaskInstance | None = None) -> dict:
    return {"ti": ti or FakeTaskInstance()}


def run_deferred(operator, ctx: dict, deferred) -> object:
    """Drives the trigger of a TaskDeferred to its first event, then resumes the operator like the triggerer."""
    async def first_event():
        async for event in deferred.trigger.run():
            return event
    event = asyncio.run(first_event())
    return getattr(operator, deferred.method_name)(ctx, event.payload)
