"""Results (/results/...): jobs, suites, test cases, LAVA's exports and a case's chart.

Exports are the bytes of ``results.exports``, the same code the REST API and
XML-RPC answer from. A job the reader may not see is found by
``visible_job_by_display_id`` and reads exactly like a missing one, on the
pages and the exports alike; suite and case lookups happen under that job.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_safe

from lava.common import yamlio
from lava.server.results import exports, history
from lava.server.results.models import TestCase, TestSet, TestSuite
from lava.server.scheduler.definitions import shown
from lava.server.scheduler.models import TestJob
from lava.server.services import Invalid, Missing
from lava.server.services.jobs import visible_job_by_display_id
from lava.server.services.names import whole_number

from ..access import actor

CASES_PAGE = 100  # test cases on a page of a suite
SAME_NAME = 100  # cases of one name shown on a test case's page
MAX_NAME = 20_000  # longer suite/case names in a URL are not looked up at all
# what may go into a download's file name: the rest becomes "_"
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]")


# -- lookups: each raises Missing, worded as for an object that does not exist


def _job(request: HttpRequest, job: str) -> TestJob:
    return visible_job_by_display_id(actor(request), job)


def _checked_name(kind: str, name: str, where: str) -> str:
    if "\x00" in name or len(name) > MAX_NAME or not name:
        raise Missing(f"{kind} '{name[:40]!r}' of {where} was not found.")
    return name


def _suite(job: TestJob, name: str) -> TestSuite:
    _checked_name("Suite", name, f"job '{job.display_id}'")
    suite = TestSuite.objects.filter(job=job, name=name).first() if len(name) <= 200 else None
    if suite is None:
        raise Missing(f"Suite '{name[:200]}' of job '{job.display_id}' was not found.")
    return suite


def _cases(suite: TestSuite, name: str, test_set: TestSet | None = None) -> list[TestCase]:
    """The cases called ``name`` in ``suite`` (LAVA also takes a case's id there)."""
    where = f"suite '{suite.name}' of job '{suite.job_id}'"
    _checked_name("Test case", name, where)
    cases = TestCase.objects.filter(suite=suite).select_related("suite", "test_set")
    if test_set is not None:
        cases = cases.filter(test_set=test_set)
    found = list(history.named(cases, name).order_by("pk")[:SAME_NAME])
    number = whole_number(name)
    if not found and number is not None:
        found = list(cases.filter(pk=number))
    if not found:
        raise Missing(f"Test case '{name[:200]}' of {where} was not found.")
    return found


def _case_by_id(request: HttpRequest, pk: str) -> tuple[TestJob, TestCase]:
    number = whole_number(pk)
    case = None
    if number is not None:
        case = TestCase.objects.select_related("suite", "test_set").filter(pk=number).first()
    if case is None:
        raise Missing(f"Test case '{pk[:40]}' was not found.")
    try:
        job = _job(request, str(case.suite.job_id))
    except Missing:  # hidden: the same words as for a case that does not exist
        raise Missing(f"Test case '{pk[:40]}' was not found.") from None
    return job, case


def _older(request: HttpRequest, key: str) -> int | None:
    value = request.GET.get(key)
    if value in (None, ""):
        return None
    number = whole_number(value)
    if number is None:
        raise Invalid(f"'{key}' must be a job or case number, not {value[:40]!r}")
    return number


# -- exports: LAVA's file names and content types, the API's bytes


def download(text: str | bytes, content_type: str, filename: str) -> HttpResponse:
    """``text`` as a download; the file name keeps only characters safe in a header."""
    response = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
    safe = _UNSAFE_FILENAME.sub("_", filename)[:120]
    response["Content-Disposition"] = f'attachment; filename="{safe}"'
    return response


def job_csv(request: HttpRequest, job: str) -> HttpResponse:
    found = _job(request, job)
    return download(exports.cases_csv(exports.job_cases(found)), "text/csv", f"lava_{job}.csv")


def job_yaml(request: HttpRequest, job: str) -> HttpResponse:
    found = _job(request, job)
    text = exports.cases_yaml(exports.job_cases(found))
    return download(text, "text/yaml", f"lava_{job}.yaml")


def job_yaml_summary(request: HttpRequest, job: str) -> HttpResponse:
    """The job's suites (name, job, id), as ``results.get_testjob_suites_list_yaml``."""
    found = _job(request, job)
    return download(exports.suites_yaml(found), "text/yaml", f"lava_{job}_summary.yaml")


def job_metadata(request: HttpRequest, job: str) -> HttpResponse:
    """The definition's metadata as one YAML mapping, secrets masked as for any reader."""
    found = _job(request, job)
    metadata = shown(found, request.user)["metadata"] or {}
    text = yamlio.dump({key: metadata[key] for key in sorted(metadata)})
    return download(text, "text/yaml", f"lava_metadata_{job}.yaml")


def suite_csv(request: HttpRequest, job: str, suite: str) -> HttpResponse:
    found = _suite(_job(request, job), suite)
    text = exports.cases_csv(exports.job_cases(found.job, found.name))
    return download(text, "text/csv", f"lava_{found.name}.csv")


def suite_yaml(request: HttpRequest, job: str, suite: str) -> HttpResponse:
    found = _suite(_job(request, job), suite)
    text = exports.cases_yaml(exports.job_cases(found.job, found.name))
    return download(text, "text/yaml", f"lava_{found.name}.yaml")


def suite_count(request: HttpRequest, job: str, suite: str) -> HttpResponse:
    found = _suite(_job(request, job), suite)
    return HttpResponse(str(found.testcases.count()), content_type="text/plain; charset=utf-8")


def testcase_yaml(request: HttpRequest, pk: str) -> HttpResponse:
    """One case as a YAML mapping (LAVA's ``/results/testcase/<id>/yaml``)."""
    _, case = _case_by_id(request, pk)
    text = yamlio.dump(exports.export_testcase(case))
    return download(text, "text/yaml", f"lava_{case.name[:100]}.yaml")


# -- pages


def index(request: HttpRequest) -> HttpResponse:
    """The latest visible jobs with results, newest first; "older" pages by job number."""
    older = _older(request, "older")
    jobs = history.latest_jobs(request.user, older)
    more = len(jobs) > history.PAGE
    jobs = jobs[: history.PAGE]
    counts = history.job_counts([job.pk for job in jobs])
    rows = [(job, counts.get(job.pk, {})) for job in jobs]
    context = {"rows": rows, "older": jobs[-1].pk if more else None, "newer": older is not None}
    return render(request, "web/results/index.html", context)


def testjob(request: HttpRequest, job: str) -> HttpResponse:
    """A job's suites with their counts, and what changed since its previous run."""
    found = _job(request, job)
    suites = list(exports.job_suites(found)[:1000])
    counts = history.suite_counts(found)
    changes = history.changes(request.user, found)
    context = {
        "job": found,
        "suites": [(suite, counts.get(suite.pk, {}), _linkable(suite.name)) for suite in suites],
        "changes": changes,
        "regressions": _case_links(found, changes.regressions),
        "fixed": _case_links(found, changes.fixed),
        "metadata": sorted((shown(found, request.user)["metadata"] or {}).items()),
    }
    return render(request, "web/results/job.html", context)


def suite(request: HttpRequest, job: str, suite: str) -> HttpResponse:
    """A suite's test cases, a page of ``CASES_PAGE`` at a time (``?after=<case id>``)."""
    found = _suite(_job(request, job), suite)
    after = _older(request, "after")
    page = list(history.suite_page(found, after, CASES_PAGE + 1))
    more = len(page) > CASES_PAGE
    page = page[:CASES_PAGE]
    changes = history.changes(request.user, found.job)
    rows = [
        (case, changes.of(found.name, case.name), _linkable(case.name), _label(case.result))
        for case in page
    ]
    context = {
        "job": found.job,
        "suite": found,
        "rows": rows,
        "after": page[-1].pk if more else None,
        "suite_link": _linkable(found.name),
        "previous": changes.previous,
    }
    return render(request, "web/results/suite.html", context)


def testcase(request: HttpRequest, job: str, suite: str, case: str) -> HttpResponse:
    found = _suite(_job(request, job), suite)
    return _case_page(request, found.job, found, _cases(found, case))


def testset_case(
    request: HttpRequest, job: str, suite: str, testset: str, case: str
) -> HttpResponse:
    found = _suite(_job(request, job), suite)
    test_set = TestSet.objects.filter(suite=found, name=testset[:200]).first()
    if test_set is None or "\x00" in testset:
        raise Missing(f"Test set '{testset[:200]}' of suite '{found.name}' was not found.")
    return _case_page(request, found.job, found, _cases(found, case, test_set))


def testcase_by_id(request: HttpRequest, pk: str) -> HttpResponse:
    job, case = _case_by_id(request, pk)
    return _case_page(request, job, case.suite, _cases(case.suite, case.name))


def _case_page(
    request: HttpRequest, job: TestJob, suite: TestSuite, cases: list[TestCase]
) -> HttpResponse:
    """The cases of one name in a suite, and that case's history on the job's device type."""
    name = cases[0].name
    points = history.case_history(request.user, job, suite.name, name)
    changes = history.changes(request.user, job)
    chart = {
        "suite": suite.name,
        "case": name,
        "job": job.pk,
        "device_type": job.requested_device_type.name if job.requested_device_type else None,
        "points": [_chart_point(point, suite.name, name) for point in points],
    }
    context = {
        "job": job,
        "suite": suite,
        "name": name,
        "suite_link": _linkable(suite.name),
        "cases": [(case, exports.export_testcase(case)) for case in cases],
        "change": changes.of(suite.name, name),
        "previous": changes.previous,
        "tally": sorted(history.tally(points).items()),
        "chart": chart,
        "limit": history.HISTORY,
    }
    return render(request, "web/results/case.html", context)


def _case_links(job: TestJob, keys: frozenset[tuple[str, str]]) -> list[tuple[str, str, str]]:
    """(suite, case, URL of its page) in name order; a name LAVA's paths cannot carry is
    found by its suite on the job's page instead."""
    return [
        (suite, case, _case_url(job.pk, suite, case) or f"/results/{job.pk}")
        for suite, case in sorted(keys)
    ]


def _case_url(job_id: int, suite: str, case: str) -> str | None:
    if _linkable(suite) and _linkable(case):
        return f"/results/{job_id}/{_quoted(suite)}/{_quoted(case)}"
    return None


def _label(result: int) -> tuple[str, str]:
    """A result's name and its badge's classes."""
    name = TestCase.Result(result).label
    return name, history.BADGES[name]


def _chart_point(point: history.Point, suite: str, case: str) -> dict[str, Any]:
    data = point.as_json()
    data["url"] = _case_url(point.job, suite, case) or f"/results/testcase/{point.case}"
    return data


def _quoted(name: str) -> str:
    return quote(name, safe="")


def _linkable(name: str) -> bool:
    """Whether a name fits in one segment of LAVA's URLs (no "/", not too long for a server)."""
    return "/" not in name and len(name) <= 1000 and name not in EXPORT_WORDS


# names the URL map gives to exports, not to a suite or case
EXPORT_WORDS = frozenset({"csv", "yaml", "yaml_summary", "metadata", "+testcase-count", "stream"})

J = "results/<str:job>"
S = f"{J}/<str:suite>"
urlpatterns: list[URLPattern] = [
    path("results/", require_safe(index), name="results"),
    path("results/testcase/<str:pk>", require_safe(testcase_by_id), name="results_testcase_id"),
    path(
        "results/testcase/<str:pk>/yaml", require_safe(testcase_yaml), name="results_testcase_yaml"
    ),
    path(J, require_safe(testjob), name="results_job"),
    path(f"{J}/csv", require_safe(job_csv), name="results_job_csv"),
    path(f"{J}/yaml", require_safe(job_yaml), name="results_job_yaml"),
    path(f"{J}/yaml_summary", require_safe(job_yaml_summary), name="results_job_yaml_summary"),
    path(f"{J}/metadata", require_safe(job_metadata), name="results_job_metadata"),
    path(S, require_safe(suite), name="results_suite"),
    path(f"{S}/csv", require_safe(suite_csv), name="results_suite_csv"),
    path(f"{S}/stream/csv", require_safe(suite_csv), name="results_suite_stream_csv"),
    path(f"{S}/yaml", require_safe(suite_yaml), name="results_suite_yaml"),
    path(f"{S}/+testcase-count", require_safe(suite_count), name="results_suite_count"),
    path(f"{S}/<str:case>", require_safe(testcase), name="results_case"),
    path(f"{S}/<str:testset>/<str:case>", require_safe(testset_case), name="results_set_case"),
]
