"""A job's page (/scheduler/job/<id>); its sub-resources and actions live beside it.

The page reads the job row, a bounded slice of its results and a few small
files kept beside its log; it never reads the log itself (the viewer pages
through it, the pipeline tab asks ``timing``), so it costs the same for a job
of ten lines as for one of a million.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.views.decorators.http import require_safe

from lava.server.logs.store import log_store
from lava.server.results.models import TestCase, TestSuite
from lava.server.scheduler import permissions
from lava.server.scheduler.definitions import hides_secrets, shown
from lava.server.scheduler.models import FavoriteJob, TestJob
from lava.server.scheduler.queue_position import queue_reason
from lava.server.scheduler.states import JobHealth, JobState, Visibility
from lava.server.services import jobs as job_services

from ..access import actor
from ..jobstatus import duration, status_label
from . import job_actions, job_files

MAX_SUITES = 50
MAX_CASES = 50  # a table page, as LAVA's 25-row tables; the rest are on /results/<job>
MAX_SHOWN = 256 * 1024  # characters of a kept file or definition shown inline
ACTIVE = (JobState.SUBMITTED, JobState.SCHEDULING, JobState.SCHEDULED, JobState.RUNNING)
RESULT_CLASS = {0: "success", 1: "danger", 2: "secondary", 3: "warning"}
RESULT_LABEL = dict(TestCase.Result.choices)


def allowed_actions(request: HttpRequest, job: TestJob) -> dict[str, bool]:
    """Which action buttons the reader may use (the services decide again on POST)."""
    user = request.user
    signed_in = bool(user.is_authenticated)
    may_change = signed_in and permissions.can_change_job(user, job)
    return {
        "cancel": may_change and job.state in ACTIVE,
        "fail": bool(signed_in and user.is_superuser and job.state == JobState.CANCELING),
        "resubmit": signed_in and not hides_secrets(job, user),
        "favorite": signed_in,
        "priority": may_change and job.state == JobState.SUBMITTED,
    }


def results(job: TestJob) -> dict[str, Any]:
    """The job's suites and its first test cases in log order, each with its log line.

    One query a suite, each walking the (suite, log_line) index and stopping at the
    page's bound: a job with a million results costs what one with ten does.
    """
    suites = list(TestSuite.objects.filter(job=job).order_by("id")[: MAX_SUITES + 1])
    cases: list[TestCase] = []
    for suite in suites[:MAX_SUITES]:
        wanted = MAX_CASES + 1 - len(cases)
        if wanted <= 0:
            break
        rows = (
            TestCase.objects.filter(suite=suite)
            .select_related("test_set")
            .defer("metadata")
            .order_by("log_line", "id")[:wanted]
        )
        for case in rows:
            case.suite = suite
            cases.append(case)
    for suite in suites:
        suite.url = f"/results/{job.display_id}/{quote(suite.name, safe='')}"
    return {
        "suites": suites[:MAX_SUITES],
        "more_suites": len(suites) > MAX_SUITES,
        "cases": cases[:MAX_CASES],
        "case_rows": case_rows(job, cases[:MAX_CASES]),
        "more_cases": len(cases) > MAX_CASES,
    }


ROW = (
    '<tr><td><a href="{}">{}</a></td><td>{}</td><td class="text-break"><a href="{}">{}</a></td>'
    '<td><span class="badge text-bg-{}">{}</span></td><td class="text-end">{}{}</td>'
    "<td>{}</td></tr>"
)
LOG_LINK = '<a href="#L{}" class="log-link">L{}</a>'


def case_rows(job: TestJob, cases: list[TestCase]) -> SafeString:
    """The results table's rows, escaped here: the template engine costs ~0.4 ms a row."""
    return format_html_join("\n", ROW, (case_row(job, case) for case in cases))


def case_row(job: TestJob, case: TestCase) -> tuple[object, ...]:
    suite_url = f"/results/{job.display_id}/{quote(case.suite.name, safe='')}"
    name = case.name if len(case.name) <= 200 else f"{case.name[:199]}…"
    index = case.log_line if case.log_line is not None else case.start_log_line
    # the log viewer numbers lines from 1 (#L1 is index 0), as LAVA's does
    link = "" if index is None else format_html(LOG_LINK, index + 1, index + 1)
    measurement = (
        "" if case.measurement is None else f"{format(case.measurement.normalize(), 'f')} "
    )
    return (
        suite_url,
        case.suite.name,
        case.test_set.name if case.test_set_id else "",
        f"{suite_url}/{quote(case.name, safe='')}",
        name,
        RESULT_CLASS.get(case.result, "secondary"),
        RESULT_LABEL.get(case.result, "unknown"),
        measurement,
        case.units if case.measurement is not None else "",
        link,
    )


def clipped(text: str | None) -> tuple[str | None, bool]:
    """``text`` cut to what a page shows inline, and whether it was cut."""
    if text is None or len(text) <= MAX_SHOWN:
        return text, False
    return text[:MAX_SHOWN], True


def page_context(request: HttpRequest, job: TestJob) -> dict[str, Any]:
    """Everything the job page shows, from bounded reads."""
    who = actor(request)
    store = log_store()
    fields = shown(job, request.user)
    definition, definition_cut = clipped(fields["original_definition"] or fields["definition"])
    device_yaml, device_cut = clipped(store.read_file(job.id, "device.yaml"))
    label, css = status_label(job)
    favorite = bool(
        request.user.is_authenticated
        and FavoriteJob.objects.filter(user=request.user, job=job).exists()
    )
    return {
        "job": job,
        "status_label": label,
        "status_class": css,
        "state_label": JobState(job.state).label,
        "health_label": JobHealth(job.health).label,
        "finished": job.state == JobState.FINISHED,
        "visibility_label": Visibility(job.visibility).label,
        "viewing_groups": list(job.viewing_groups.values_list("name", flat=True)[:20])
        if job.visibility == Visibility.GROUP
        else [],
        "tags": list(job.tags.values_list("name", flat=True)[:50]),
        "duration": duration(job),
        "sub_jobs": job_services.sub_jobs(who, job),
        "actions": allowed_actions(request, job),
        "queue_reason": queue_reason(job),
        "is_favorite": favorite,
        "definition": definition,
        "definition_cut": definition_cut,
        "has_multinode": bool(job.multinode_definition),
        "device_yaml": device_yaml,
        "device_cut": device_cut,
        "has_description": store.has_file(job.id, "description.yaml"),
        "log_lines": (lines := store.count(job.id)),
        "log_lines_label": f"{lines:,}",
        "log_size": store.size(job.id),
        **results(job),
    }


@require_safe
def job_page(request: HttpRequest, pk: str) -> HttpResponse:
    """The job page: header, actions, log viewer, results, pipeline, definition, device."""
    job = job_services.visible_job_by_display_id(actor(request), pk)
    return render(request, "web/job/job.html", page_context(request, job))


urlpatterns: list[URLPattern] = [
    path("scheduler/job/<str:pk>", job_page, name="job"),
    *job_files.urlpatterns,
    *job_actions.urlpatterns,
]
