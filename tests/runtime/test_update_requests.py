"""The files through which the local MWAA API asks the running `up` to apply an UpdateEnvironment: a request is
taken once, answered with its id, and a waiter gives up with a clear error when `up` stops or time runs out.
(The whole path, cloud -> `up` -> restarted components, runs in tests/deploy/test_deploy_live.py.)"""

from __future__ import annotations

import threading

from mwaa_local.runtime import update_requests as ur


def test_a_request_is_taken_once_and_answered_by_id(tmp_path):
    request = ur.UpdateRequest("mwaa-local", "bucket", {"requirements": "requirements.txt"}, {"requirements": "v2"})
    ur.submit(tmp_path, request)
    taken = ur.take(tmp_path)
    assert taken == request and ur.take(tmp_path) is None

    def answer_later():
        ur.answer(tmp_path, ur.UpdateResult("someone-else"))  # an older request's answer is not ours
        ur.answer(tmp_path, ur.UpdateResult(request.id, "requirements.txt could not be installed"))

    threading.Thread(target=answer_later).start()
    result = ur.wait(tmp_path, request.id, alive=lambda: True, timeout=60, poll=0.05)
    assert (result.id, result.error) == (request.id, "requirements.txt could not be installed")


def test_a_waiter_gives_up_when_up_stops_and_the_request_is_withdrawn(tmp_path):
    request = ur.UpdateRequest("mwaa-local", "bucket")
    ur.submit(tmp_path, request)
    result = ur.wait(tmp_path, request.id, alive=lambda: False, timeout=60, poll=0.05)
    assert "stopped before it applied the update" in result.error
    assert ur.take(tmp_path) is None  # a later `up` does not apply a stale request


def test_a_waiter_gives_up_after_the_timeout(tmp_path):
    request = ur.UpdateRequest("mwaa-local", "bucket")
    ur.submit(tmp_path, request)
    result = ur.wait(tmp_path, request.id, alive=lambda: True, timeout=0.2, poll=0.05)
    assert "did not apply the update within" in result.error


def test_a_garbled_request_is_dropped(tmp_path):
    (tmp_path / ur.REQUEST).write_text("{not json")
    assert ur.take(tmp_path) is None and not (tmp_path / ur.REQUEST).exists()
