"""What the worker reports of a finished lava-run, from the result.yaml it wrote (or did not)."""

from __future__ import annotations

from lava.common.limits import limit
from lava.worker.runner import job_timeout, outcome


def test_a_result_is_reported_as_written() -> None:
    assert outcome("result: pass\n", canceled=False, exit_code=0) == {"result": "pass"}
    failed = outcome(
        "result: fail\nerror_type: Infrastructure\nerror_msg: no power\n",
        canceled=False,
        exit_code=1,
    )
    assert failed == {"result": "fail", "error_type": "Infrastructure", "errors": "no power"}
    # a cancel that lava-run caught and recorded stays as recorded
    caught = outcome("result: fail\nerror_type: Canceled\n", canceled=True, exit_code=1)
    assert caught["error_type"] == "Canceled"


def test_no_result_is_a_bug_with_the_last_output() -> None:
    report = outcome(None, canceled=False, exit_code=-9, output="Traceback ...")
    assert report["error_type"] == "Bug"
    assert "exit code -9" in report["errors"] and "Traceback" in report["errors"]
    assert outcome("{not yaml", canceled=False, exit_code=1)["error_type"] == "Bug"
    assert outcome("- a list\n", canceled=False, exit_code=1)["error_type"] == "Bug"


def test_no_result_after_a_cancel_is_a_cancel() -> None:
    # lava-run killed by the cancel's SIGTERM before it could catch it: not the device's fault
    report = outcome(None, canceled=True, exit_code=-15)
    assert report == {
        "result": "fail",
        "error_type": "Canceled",
        "errors": "canceled (exit code -15)",
    }


def test_the_watchdog_allows_the_job_timeout() -> None:
    assert job_timeout("timeouts:\n  job: {minutes: 3}\n") == 180
    assert job_timeout("timeouts:\n  job: {hours: 1, seconds: 5}\n") == 3605
    # unreadable or missing: the longest a job may have, never no limit at all
    longest = limit("job_timeout")
    for text in ("", "{not yaml", "- a list\n", "timeouts: 3\n", "timeouts: {job: {weeks: 1}}\n"):
        assert job_timeout(text) == longest, text
