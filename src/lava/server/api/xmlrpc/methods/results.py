"""``results.*``: a visible job's test results as YAML or CSV strings, as LAVA exports them."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from ....results import exports
from ....scheduler.definitions import shown
from ...bounds import bounded
from ..registry import Call, method
from .jobs import visible_job

Fault = xmlrpc.client.Fault


def _cases(call: Call, job_id: Any, suite: str | None = None) -> Any:
    job = visible_job(call, job_id)
    cases = exports.job_cases(job)
    if suite is not None:
        cases = exports.job_cases(job, str(suite))
        if not cases.exists():
            raise Fault(404, f"Suite '{suite}' of job '{job_id}' was not found.")
    return cases


def _page(cases: Any, limit: Any, offset: Any) -> Any:
    try:
        start, size = bounded(int(offset or 0), int(limit) if limit else None)
    except (TypeError, ValueError):
        raise Fault(400, f"limit and offset must be numbers, not {limit!r}, {offset!r}") from None
    return cases[start : start + size] if size else cases[start:]


@method("results.get_testjob_results_yaml", ["str", "int"])
def job_results(call: Call, job_id: int) -> str:
    """Every test case of the job, as a YAML list."""
    return exports.cases_yaml(_cases(call, job_id))


@method("results.get_testjob_results_csv", ["str", "int"])
def job_results_csv(call: Call, job_id: int) -> str:
    """Every test case of the job, as CSV with LAVA's columns."""
    return exports.cases_csv(_cases(call, job_id))


@method("results.get_testjob_suites_list_yaml", ["str", "int"])
def job_suites(call: Call, job_id: int) -> str:
    """The job's test suites (name, job, id), as a YAML list."""
    return exports.suites_yaml(visible_job(call, job_id))


@method("results.get_testjob_suites_list_csv", ["str", "int"])
def job_suites_csv(call: Call, job_id: int) -> str:
    """The job's test suites (name, job, id), as CSV."""
    return exports.suites_csv(visible_job(call, job_id))


@method("results.get_testjob_metadata", ["array", "int"])
def job_metadata(call: Call, job_id: int) -> list[dict[str, str]]:
    """The job definition's metadata, as a list of single-key structs."""
    return exports.job_metadata(shown(visible_job(call, job_id), call.user)["metadata"])


@method("results.get_testsuite_results_yaml", ["str", "int", "str", "int", "int"])
def suite_results(
    call: Call, job_id: int, suite: str, limit: int | None = None, offset: int | None = None
) -> str:
    """The test cases of one suite of the job, as a YAML list (``limit``/``offset`` pages it)."""
    return exports.cases_yaml(_page(_cases(call, job_id, suite), limit, offset))


@method("results.get_testsuite_results_csv", ["str", "int", "str", "int", "int"])
def suite_results_csv(
    call: Call, job_id: int, suite: str, limit: int | None = None, offset: int | None = None
) -> str:
    """The test cases of one suite of the job, as CSV (``limit``/``offset`` pages it)."""
    return exports.cases_csv(_page(_cases(call, job_id, suite), limit, offset))


@method("results.get_testsuite_results_count", ["int", "int", "str"])
def suite_count(call: Call, job_id: int, suite: str) -> int:
    """How many test cases one suite of the job has."""
    return _cases(call, job_id, suite).count()


def _named_cases(call: Call, job_id: Any, suite: str, case: str) -> Any:
    cases = _cases(call, job_id, suite).filter(name=str(case))
    if not cases.exists():
        raise Fault(404, f"Test case '{case}' of suite '{suite}' of job '{job_id}' was not found.")
    return cases


@method("results.get_testcase_results_yaml", ["str", "int", "str", "str"])
def case_results(call: Call, job_id: int, suite: str, case: str) -> str:
    """The test cases of that name in one suite of the job, as a YAML list."""
    return exports.cases_yaml(_named_cases(call, job_id, suite, case))


@method("results.get_testcase_results_csv", ["str", "int", "str", "str"])
def case_results_csv(call: Call, job_id: int, suite: str, case: str) -> str:
    """The test cases of that name in one suite of the job, as CSV."""
    return exports.cases_csv(_named_cases(call, job_id, suite, case))
