"""InvokeRestApi through the local cloud to the local Airflow's REST API, and the --env trigger logic on top of
it. The Airflow API is a small stand-in server here (the boundary: `up`'s real Airflow is exercised by the
runtime's own tests); it checks the login and the bearer token as Airflow 3's API does."""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from botocore.exceptions import ClientError

from mwaa_local.cloud import process
from mwaa_local.deploy import trigger
from mwaa_local.errors import UserError

PASSWORD = "s3cret"
BLOCK_ALL = {k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}


class FakeAirflowApi(BaseHTTPRequestHandler):
    """/auth/token, /api/v2/dags/{id} (GET, PATCH), /dags/{id}/dagRuns (POST), /dags/{id}/dagRuns/{run} (GET):
    a run of DAG `failing` fails, any other succeeds, each after one `running` poll."""

    state: dict = {}

    def log_message(self, *args) -> None:
        pass

    def _answer(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length)) if length else None

    def _route(self, method: str) -> None:
        body = self._body()
        self.state["requests"].append((method, self.path, body))
        if self.path == "/auth/token":
            ok = body == {"username": "admin", "password": PASSWORD}
            return self._answer(201 if ok else 401, {"access_token": "tok"} if ok else {"detail": "bad login"})
        if self.headers.get("Authorization") != "Bearer tok":
            return self._answer(401, {"detail": "Not authenticated"})
        parts = self.path.split("?")[0].strip("/").split("/")  # api v2 dags <id> [dagRuns [run]]
        if parts[:2] != ["api", "v2"]:
            return self._answer(404, {"detail": "Not Found"})
        if parts[2:] == ["boom"]:
            return self._answer(500, {"detail": "internal"})
        if len(parts) < 4 or parts[2] != "dags" or parts[3] not in self.state["dags"]:
            return self._answer(404, {"detail": f"The Dag with ID: `{parts[3] if len(parts) > 3 else ''}` was not found"})
        dag = self.state["dags"][parts[3]]
        if len(parts) == 4 and method == "GET":
            return self._answer(200, {"dag_id": parts[3], "is_paused": dag["paused"]})
        if len(parts) == 4 and method == "PATCH":
            dag["paused"] = body["is_paused"]
            return self._answer(200, {"dag_id": parts[3], "is_paused": dag["paused"]})
        if parts[4:] == ["dagRuns"] and method == "POST":
            run_id = f"manual__{len(dag['runs']) + 1}"
            dag["runs"][run_id] = ["queued", "running", "failed" if parts[3] == "failing" else "success"]
            return self._answer(200, {"dag_run_id": run_id, "state": "queued", "conf": body.get("conf")})
        if len(parts) == 6 and method == "GET":
            states = dag["runs"][parts[5]]
            if len(states) > 1:
                states.pop(0)
            return self._answer(200, {"dag_run_id": parts[5], "state": states[0]})
        return self._answer(405, {"detail": "Method Not Allowed"})

    def do_GET(self) -> None:  # noqa: N802
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")

    def do_PATCH(self) -> None:  # noqa: N802
        self._route("PATCH")


def _settled(mwaa, name: str) -> None:
    deadline = time.monotonic() + 120
    while mwaa.get_environment(Name=name)["Environment"]["Status"] == "CREATING":
        assert time.monotonic() < deadline, f"{name} still CREATING"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def airflow_env(tmp_path_factory):
    """A local cloud whose MWAA environment `mwaa-local` is served by the stand-in API (found as `up` leaves it:
    <MWAA_LOCAL_STATE>/mwaa/ready.json and passwords.json)."""
    state = tmp_path_factory.mktemp("mwaa-state")
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeAirflowApi)
    FakeAirflowApi.state = {"requests": [], "dags": {}}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    (state / "mwaa").mkdir()
    (state / "mwaa" / "ready.json").write_text(json.dumps({"api_url": f"http://127.0.0.1:{server.server_port}"}))
    (state / "mwaa" / "passwords.json").write_text(json.dumps({"admin": PASSWORD}))
    mp = pytest.MonkeyPatch()
    mp.setenv("MWAA_LOCAL_STATE", str(state))  # the cloud process inherits it
    cloud = process.start(ephemeral=True, log_file=state / "cloud.log")
    mp.undo()
    client = process.clients(cloud.endpoint_url)
    s3, mwaa = client("s3"), client("mwaa")
    s3.create_bucket(Bucket="mwaa-local-dags")
    s3.put_bucket_versioning(Bucket="mwaa-local-dags", VersioningConfiguration={"Status": "Enabled"})
    s3.put_public_access_block(Bucket="mwaa-local-dags", PublicAccessBlockConfiguration=BLOCK_ALL)
    mwaa.create_environment(Name="mwaa-local", ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
                            SourceBucketArn="arn:aws:s3:::mwaa-local-dags", DagS3Path="dags", NetworkConfiguration={})
    _settled(mwaa, "mwaa-local")
    yield mwaa, FakeAirflowApi.state, server.server_port
    cloud.stop()
    server.shutdown()


@pytest.fixture
def api(airflow_env):
    mwaa, state, _ = airflow_env
    state["requests"].clear()
    state["dags"] = {"retail_etl": {"paused": False, "runs": {}}, "failing": {"paused": False, "runs": {}},
                     "sleepy": {"paused": True, "runs": {}}}
    return trigger.RestApi(mwaa, "mwaa-local"), state


def test_invoke_rest_api_forwards_with_a_token(api):
    rest, state = api
    answer = rest.mwaa.invoke_rest_api(Name="mwaa-local", Path="/dags/retail_etl", Method="GET",
                                       QueryParameters={"fields": "is_paused"})
    assert answer["RestApiStatusCode"] == 200
    assert answer["RestApiResponse"] == {"dag_id": "retail_etl", "is_paused": False}
    assert [r[:2] for r in state["requests"]] == [("POST", "/auth/token"),
                                                  ("GET", "/api/v2/dags/retail_etl?fields=is_paused")]


def test_airflow_errors_become_rest_api_exceptions(api):
    rest, _ = api
    with pytest.raises(ClientError) as client_error:
        rest.mwaa.invoke_rest_api(Name="mwaa-local", Path="/dags/nope", Method="GET")
    assert client_error.value.response["Error"]["Code"] == "RestApiClientException"
    assert client_error.value.response["RestApiStatusCode"] == 404
    assert "was not found" in client_error.value.response["RestApiResponse"]["detail"]
    with pytest.raises(ClientError) as server_error:
        rest.mwaa.invoke_rest_api(Name="mwaa-local", Path="/boom", Method="GET")
    assert server_error.value.response["Error"]["Code"] == "RestApiServerException"
    assert server_error.value.response["RestApiStatusCode"] == 500


def test_trigger_waits_for_success(api):
    rest, state = api
    said = []
    result = trigger.trigger(rest, "retail_etl", {"k": 1}, wait=True, poll_seconds=0.05, say=said.append)
    assert (result.run_id, result.state, result.paused) == ("manual__1", "success", False)
    posted = [body for method, path, body in state["requests"] if (method, path) == ("POST", "/api/v2/dags/retail_etl/dagRuns")]
    assert len(posted) == 1 and posted[0]["conf"] == {"k": 1}
    # A logical date (now), so a data-interval timetable gives the run its interval, as the UI's trigger form does.
    assert abs(dt.datetime.fromisoformat(posted[0]["logical_date"]) - dt.datetime.now(dt.UTC)) < dt.timedelta(hours=1)
    assert said[-3:] == ["  running", "  success", "retail_etl run manual__1: success"]


def test_trigger_reports_a_failed_run(api):
    rest, _ = api
    assert trigger.trigger(rest, "failing", {}, wait=True, poll_seconds=0.05, say=lambda _: None).state == "failed"


def test_paused_dag_is_reported(api):
    rest, state = api
    said = []
    result = trigger.trigger(rest, "sleepy", {}, say=said.append)
    assert result.paused and result.state == "queued"
    assert "sleepy is paused" in said[0] and "--unpause" in said[0]
    with pytest.raises(UserError, match="paused"):
        trigger.trigger(rest, "sleepy", {}, wait=True, say=lambda _: None)
    unpaused = trigger.trigger(rest, "sleepy", {}, wait=True, unpause=True, poll_seconds=0.05, say=lambda _: None)
    assert unpaused.state == "success" and state["dags"]["sleepy"]["paused"] is False


def test_unknown_dag_is_a_clear_error(api):
    rest, _ = api
    with pytest.raises(UserError, match="'nope' is not in environment mwaa-local"):
        trigger.trigger(rest, "nope", {}, say=lambda _: None)


def test_run_for_environment_exit_codes(api):
    port = int(api[0].mwaa.meta.endpoint_url.rsplit(":", 1)[1])
    assert trigger.run_for_environment("local", "retail_etl", {}, wait=False, port=port) == 0
    assert trigger.run_for_environment("local", "failing", {}, wait=True, port=port) == 1


def test_no_local_airflow_is_a_clear_error(airflow_env):
    mwaa, _, _ = airflow_env
    mwaa.create_environment(Name="other-env", ExecutionRoleArn="arn:aws:iam::123456789012:role/x",
                            SourceBucketArn="arn:aws:s3:::mwaa-local-dags", DagS3Path="dags",
                            NetworkConfiguration={})
    _settled(mwaa, "other-env")
    with pytest.raises(UserError, match="no local Airflow is running for environment other-env"):
        trigger.trigger(trigger.RestApi(mwaa, "other-env"), "retail_etl", {}, say=lambda _: None)
