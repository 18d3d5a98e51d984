"""A test definition's parse pattern that backtracks for years ends with the job's timeouts.

Patterns are the submitter's, and Python's ``re`` has no time limit of its
own; it checks for signals as it backtracks, so lava-run's deadlines still
end the test shell on time and the device comes back. (Were lava-run ever
stuck where no signal reaches it, the worker stops it after the job timeout
and its cancel grace: tests/worker/test_faults.py.)
"""

from __future__ import annotations

from typing import Any

import pytest

from lava.common import yamlio

pytestmark = pytest.mark.slow

# 64 letters before the mismatch: for either pattern, years of backtracking
STUCK = "a" * 64 + "b"


def stuck_job(security_lab: Any, pattern: str) -> str:
    definition = yamlio.load(security_lab.quick_job("backtracking pattern"))
    definition["timeouts"]["job"] = {"minutes": 1}
    definition["timeouts"]["action"] = {"minutes": 1}
    test = definition["actions"][2]["test"]
    test["timeout"] = {"seconds": 20}
    repository = test["definitions"][0]["repository"]
    repository["run"]["steps"] = [f"echo {STUCK}"]
    repository["parse"] = {"pattern": pattern}
    return yamlio.dump(definition)


@pytest.mark.parametrize(
    "pattern",
    [r"^(?P<test_case_id>(a+)+)(?P<result>pass)$", r"^(?P<test_case_id>(a|aa)+)(?P<result>c)$"],
)
def test_a_backtracking_pattern_ends_with_the_timeouts(security_lab: Any, pattern: str) -> None:
    job_id = security_lab.submit(stuck_job(security_lab, pattern))
    record = security_lab.wait(job_id, timeout=180)
    assert record["health"] == "Incomplete", record
    assert record["error_type"] in ("Job", "Test"), record
    assert "timed out" in record["failure_comment"], record
    assert record["end_time"] - record["start_time"] < 55, record  # the job timeout is 60 s
    assert record["device_state"] == "Idle" and record["device_health"] == "Good", record
    assert not [p for p in security_lab.job_processes(job_id) if p["argv"]], "processes left"
    security_lab.assert_runs_jobs()
