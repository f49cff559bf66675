"""DAG runs through the local REST API (never dag.test()): trigger with an explicit data interval, follow each run
to its end printing every task as it finishes, and tidy what the scheduler adds on its own while the demo runs."""

from __future__ import annotations

import datetime as dt
import time
import urllib.parse
from dataclasses import dataclass, field

from mwaa_local.errors import UserError
from mwaa_local.runtime.api_client import ApiClient, ApiError

FINISHED = {"success", "failed"}
TASK_DONE = {"success", "failed", "skipped", "upstream_failed", "removed"}
POLL_S = 1.0
CALL_TIMEOUT_S = 120  # one API call; a loaded machine (shared cores) makes the api-server slow, not dead
READ_TRIES = 5  # reads are retried after a timeout; writes are not (a timed-out POST may have happened)


def _get(api: ApiClient, path: str, query: dict | None = None) -> dict:
    for attempt in range(READ_TRIES):
        try:
            return api.request("GET", path, query=query, timeout=CALL_TIMEOUT_S)
        except ApiError:
            raise
        except UserError:  # no answer in time
            if attempt == READ_TRIES - 1:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


def _all_pages(api: ApiClient, path: str, key: str, page: int = 100) -> list[dict]:
    items, offset = [], 0
    while True:
        answer = _get(api, path, {"limit": page, "offset": offset})
        items += answer.get(key, [])
        offset += page
        if offset >= answer.get("total_entries", 0):
            return items


@dataclass
class RunOutcome:
    dag_id: str
    run_id: str
    state: str  # success, failed, or "timeout" when it did not finish in time
    url: str  # the run in the UI
    seconds: float = 0.0
    tasks: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.state == "success"

    def failed_tasks(self) -> list[str]:
        return [t for t, s in self.tasks.items() if s not in ("success", "skipped")]

    def as_json(self) -> dict:
        return {"dag_id": self.dag_id, "run_id": self.run_id, "state": self.state, "url": self.url,
                "seconds": round(self.seconds, 1), "failed_tasks": self.failed_tasks()}


def _q(text: str) -> str:
    return urllib.parse.quote(text, safe="")


def _midnight(day: dt.date) -> str:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC).isoformat()


def set_paused(api: ApiClient, dag_id: str, paused: bool) -> None:
    api.request("PATCH", f"/api/v2/dags/{_q(dag_id)}", {"is_paused": paused}, timeout=CALL_TIMEOUT_S)


def parsed_dag_ids(api: ApiClient) -> set[str]:
    return {d["dag_id"] for d in _all_pages(api, "/api/v2/dags", "dags")}


def runs_of(api: ApiClient, dag_id: str) -> list[dict]:
    return _all_pages(api, f"/api/v2/dags/{_q(dag_id)}/dagRuns", "dag_runs")


def delete_run(api: ApiClient, dag_id: str, run_id: str) -> None:
    try:
        api.request("DELETE", f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}", timeout=CALL_TIMEOUT_S)
    except ApiError as exc:
        if exc.status != 404:
            raise


def trigger(api: ApiClient, dag_id: str, start: dt.date | None = None, end: dt.date | None = None,
            conf: dict | None = None) -> str:
    """A run of the data interval [start, end) (logical date = end, as a scheduled run of that interval has),
    queued to start in interval order (run_after = end); without dates, a run of "now". A run an earlier demo
    left at the same logical date is deleted first (the logical date is unique per DAG)."""
    body: dict = {"conf": conf or {}, "logical_date": None}
    if start is not None and end is not None:
        logical = _midnight(end)
        for run in runs_of(api, dag_id):
            if run.get("logical_date") and dt.datetime.fromisoformat(run["logical_date"].replace("Z", "+00:00")) \
                    == dt.datetime.fromisoformat(logical):
                delete_run(api, dag_id, run["dag_run_id"])
        body.update(logical_date=logical, data_interval_start=_midnight(start), data_interval_end=logical,
                    run_after=logical)
    return api.request("POST", f"/api/v2/dags/{_q(dag_id)}/dagRuns", body, timeout=CALL_TIMEOUT_S)["dag_run_id"]


def task_states(api: ApiClient, dag_id: str, run_id: str) -> dict[str, str]:
    answer = _get(api, f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances", {"limit": 1000})
    states: dict[str, str] = {}
    for ti in answer["task_instances"]:  # mapped tasks: the worst state of the task's instances counts
        state = ti.get("state") or "none"
        if states.get(ti["task_id"]) not in ("failed", "upstream_failed"):
            states[ti["task_id"]] = state
    return states


def follow(api: ApiClient, dag_id: str, run_id: str, timeout: float, say=print) -> RunOutcome:
    """Waits for the run to finish, printing each task once it is done (with the seconds since the start)."""
    url = f"{api.base_url}/dags/{_q(dag_id)}/runs/{_q(run_id)}"
    path = f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}"
    started, shown, state = time.monotonic(), set(), "queued"
    tasks: dict[str, str] = {}
    while True:
        state = _get(api, path)["state"]
        tasks = task_states(api, dag_id, run_id)
        done = {t for t, s in tasks.items() if s in TASK_DONE}
        for task in sorted(done - shown, key=list(tasks).index):
            say(f"    [{time.monotonic() - started:4.0f} s] {task:<32} {tasks[task]:<16}"
                f"({len(done)}/{len(tasks)} tasks done)")
        shown |= done
        if state in FINISHED:
            return RunOutcome(dag_id, run_id, state, url, time.monotonic() - started, tasks)
        if time.monotonic() - started > timeout:
            return RunOutcome(dag_id, run_id, "timeout", url, time.monotonic() - started, tasks)
        time.sleep(POLL_S)


def queue(api: ApiClient, dag_id: str, intervals: list[tuple[dt.date | None, dt.date | None, dict]]) -> list[str]:
    """Triggers one run per (start, end, conf) while the DAG is paused, then unpauses it: the scheduler starts them
    in interval order (run_after), before the run its own schedule adds on unpausing (a later run_after)."""
    set_paused(api, dag_id, True)
    ids = [trigger(api, dag_id, start, end, conf) for start, end, conf in intervals]
    set_paused(api, dag_id, False)
    return ids


def tidy_scheduler_runs(api: ApiClient, dag_id: str, ours: set[str]) -> list[str]:
    """Pauses the DAG again and deletes the unfinished runs the scheduler created while the demo had it unpaused
    (the latest interval of a daily schedule: an empty window of the seeded source). Returns their run ids."""
    set_paused(api, dag_id, True)
    removed = []
    for run in runs_of(api, dag_id):
        if run["dag_run_id"] not in ours and run.get("run_type") == "scheduled" and run["state"] not in FINISHED:
            # Airflow deletes only finished runs: mark it failed first (which also ends its running tasks).
            api.request("PATCH", f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run['dag_run_id'])}", {"state": "failed"},
                        timeout=CALL_TIMEOUT_S)
            delete_run(api, dag_id, run["dag_run_id"])
            removed.append(run["dag_run_id"])
    return removed


def xcom(api: ApiClient, dag_id: str, run_id: str, task_id: str, key: str = "return_value"):
    """A task's XCom as JSON (None when absent)."""
    import ast
    import json

    try:
        answer = _get(api, f"/api/v2/dags/{_q(dag_id)}/dagRuns/{_q(run_id)}/taskInstances/{_q(task_id)}"
                      f"/xcomEntries/{_q(key)}", {"stringify": "false", "deserialize": "true"})
    except ApiError as exc:
        if exc.status == 404:
            return None
        raise
    value = answer.get("value")
    if isinstance(value, str):
        for parse in (json.loads, ast.literal_eval):
            try:
                return parse(value)
            except (ValueError, SyntaxError):
                continue
    return value
