"""The e2e tests' ordering (tests/e2e/conftest.py ETLHarness.require): an earlier step never turns a later test
into a skip. It is established when its test did not run, and fails the later test when its test failed."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import ETLHarness


def _harness() -> ETLHarness:
    harness = ETLHarness.__new__(ETLHarness)  # the ordering state only: no stack, no cloud
    harness.passed, harness.attempted = set(), set()
    return harness


def test_a_passed_step_is_not_established_again():
    harness, calls = _harness(), []
    harness.begin("clean")
    harness.done("clean")
    harness.require("clean", calls.append)
    assert calls == []


def test_a_step_that_did_not_run_is_established_once_then_counts_as_passed():
    harness, calls = _harness(), []
    harness.require("clean", calls.append)
    harness.require("clean", calls.append)
    assert calls == [harness] and harness.passed == {"clean"}


def test_a_step_that_failed_fails_the_later_test_instead_of_skipping_it():
    harness, calls = _harness(), []
    harness.begin("clean")  # its test started and never reached done()
    with pytest.raises(pytest.fail.Exception, match="'clean' failed in this session"):
        harness.require("clean", calls.append)
    assert calls == []


def test_a_failing_establishment_fails_the_later_test_and_every_one_after_it():
    harness = _harness()

    def broken(_):
        raise AssertionError("interval 0 failed")

    with pytest.raises(AssertionError, match="interval 0 failed"):
        harness.require("clean", broken)
    with pytest.raises(pytest.fail.Exception, match="'clean' failed"):
        harness.require("clean", broken)


def test_a_step_that_cannot_be_established_fails_naming_the_module_to_run():
    with pytest.raises(pytest.fail.Exception, match="tests/e2e/test_retail_etl.py"):
        _harness().require("clean")
