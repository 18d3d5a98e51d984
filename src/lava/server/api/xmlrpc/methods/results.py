"""``results.*``: a visible job's test results as YAML strings, as LAVA exports them."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from lava.common import yamlio

from ....results.ingest import export_testcase
from ....results.models import TestCase
from ..registry import Call, method
from .jobs import visible_job

Fault = xmlrpc.client.Fault


def _cases(call: Call, job_id: Any, suite: str | None = None) -> Any:
    job = visible_job(call, job_id)
    cases = TestCase.objects.filter(suite__job=job).select_related("suite").order_by("id")
    if suite is not None:
        if not cases.filter(suite__name=str(suite)).exists():
            raise Fault(404, f"Suite '{suite}' of job '{job_id}' was not found.")
        cases = cases.filter(suite__name=str(suite))
    return cases


def _yaml(cases: Any) -> str:
    return yamlio.dump([export_testcase(case) for case in cases])


@method("results.get_testjob_results_yaml", ["str", "int"])
def job_results(call: Call, job_id: int) -> str:
    """Every test case of the job, as a YAML list."""
    return _yaml(_cases(call, job_id))


@method("results.get_testsuite_results_yaml", ["str", "int", "str", "int", "int"])
def suite_results(
    call: Call, job_id: int, suite: str, limit: int | None = None, offset: int | None = None
) -> str:
    """The test cases of one suite of the job, as a YAML list (``limit``/``offset`` pages it)."""
    cases = _cases(call, job_id, suite)
    start = max(0, int(offset or 0))
    cases = cases[start : start + int(limit)] if limit else cases[start:]
    return _yaml(cases)


@method("results.get_testcase_results_yaml", ["str", "int", "str", "str"])
def case_results(call: Call, job_id: int, suite: str, case: str) -> str:
    """The test cases of that name in one suite of the job, as a YAML list."""
    cases = _cases(call, job_id, suite).filter(name=str(case))
    if not cases.exists():
        raise Fault(404, f"Test case '{case}' of suite '{suite}' of job '{job_id}' was not found.")
    return _yaml(cases)
