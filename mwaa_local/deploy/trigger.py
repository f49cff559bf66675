"""A DAG run through MWAA's InvokeRestApi (Airflow 3's REST API behind the environment), as a client of a real
MWAA environment triggers one: `trigger <dag_id> --env NAME [--conf JSON] [--wait] [--unpause]`.

A paused DAG is reported (its run would stay queued); --unpause unpauses it first. --wait follows the run until
it finishes and the result is success only if the run succeeded.

The run's logical date is now, as Airflow's trigger form fills it in: the timetable then infers the data interval (for
retail_etl's daily interval timetable, the day that ended last). Airflow 3's REST default, no logical date, gives a
run without a data interval, and every `{{ data_interval_start }}` of such a run fails.
"""

from __future__ import annotations

import datetime as dt
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mwaa_local.errors import UserError

FINISHED = ("success", "failed")


@dataclass
class Triggered:
    dag_id: str
    run_id: str
    state: str  # the last state seen ("queued" without --wait)
    paused: bool


class RestApi:
    """InvokeRestApi calls for one environment; Airflow's errors become one-line UserErrors."""

    def __init__(self, mwaa: Any, environment: str):
        self.mwaa, self.environment = mwaa, environment

    def call(self, method: str, path: str, body: Any = None, query: dict | None = None) -> tuple[int, Any]:
        params = {"Name": self.environment, "Path": path, "Method": method}
        if body is not None:
            params["Body"] = body
        if query:
            params["QueryParameters"] = query
        try:
            answer = self.mwaa.invoke_rest_api(**params)
        except self.mwaa.exceptions.RestApiClientException as exc:
            return exc.response.get("RestApiStatusCode", 400), exc.response.get("RestApiResponse")
        except self.mwaa.exceptions.RestApiServerException as exc:
            raise UserError(f"{self.environment}: {exc.response['Error'].get('Message') or exc}") from None
        except self.mwaa.exceptions.ResourceNotFoundException:
            raise UserError(f"no MWAA environment {self.environment}") from None
        return answer["RestApiStatusCode"], answer.get("RestApiResponse")

    def ok(self, method: str, path: str, body: Any = None) -> Any:
        status, answer = self.call(method, path, body)
        if status >= 400:
            detail = answer.get("detail") if isinstance(answer, dict) else answer
            raise UserError(f"{method} {path} on {self.environment}: HTTP {status}: {detail}")
        return answer


def trigger(api: RestApi, dag_id: str, conf: dict, wait: bool = False, unpause: bool = False,
            timeout: float = 1800, poll_seconds: float = 2, say: Callable[[str], None] = print) -> Triggered:
    dag = urllib.parse.quote(dag_id, safe="")
    status, found = api.call("GET", f"/dags/{dag}")
    if status == 404:
        raise UserError(f"DAG {dag_id!r} is not in environment {api.environment} (not deployed, or not parsed yet)")
    if status >= 400:
        raise UserError(f"GET /dags/{dag_id} on {api.environment}: HTTP {status}: {found}")
    paused = bool(found.get("is_paused"))
    if paused and unpause:
        api.ok("PATCH", f"/dags/{dag}", {"is_paused": False})
        say(f"DAG {dag_id} was paused: unpaused it")
        paused = False
    elif paused:
        say(f"DAG {dag_id} is paused in {api.environment}: the run stays queued until it is unpaused "
            "(--unpause does it)")
        if wait:
            raise UserError(f"DAG {dag_id} is paused: --wait would never end; add --unpause")
    logical_date = dt.datetime.now(dt.UTC).isoformat()
    run = api.ok("POST", f"/dags/{dag}/dagRuns", {"logical_date": logical_date, "conf": conf})
    run_id, state = run["dag_run_id"], run.get("state", "queued")
    say(f"triggered {dag_id} in {api.environment}: run {run_id} ({state})")
    if not wait:
        return Triggered(dag_id, run_id, state, paused)
    path = f"/dags/{dag}/dagRuns/{urllib.parse.quote(run_id, safe='')}"
    deadline = time.monotonic() + timeout
    while state not in FINISHED:
        if time.monotonic() > deadline:
            raise UserError(f"{dag_id} run {run_id} is still {state} after {timeout:.0f} s")
        time.sleep(poll_seconds)
        new = api.ok("GET", path).get("state", state)
        if new != state:
            say(f"  {new}")
        state = new
    say(f"{dag_id} run {run_id}: {state}")
    return Triggered(dag_id, run_id, state, paused)


def run_for_environment(env: str, dag_id: str, conf: dict, wait: bool, unpause: bool = False,
                        timeout: float = 1800, port: int = 4566, config_file: Path | None = None) -> int:
    """What `./mwaa-local trigger <dag_id> --env NAME` runs: exit code 0 when triggered (with --wait: succeeded)."""
    from mwaa_local.deploy import clients, config

    target = config.load(env, config_file or config.CONFIG_FILE)
    api = RestApi(clients.factory(target, port)("mwaa"), target.environment)
    result = trigger(api, dag_id, conf, wait=wait, unpause=unpause, timeout=timeout)
    return 0 if not wait or result.state == "success" else 1
