"""A job's log for the viewer: pages of lines through the line index, and new lines live.

``log_pipeline_incremental`` is LAVA's (its clients poll it); the others are the
viewer's own: ``log_lines`` (a page by line number), ``log_stream`` (server-sent
events while the job runs), ``log_find`` (the next line of a level, or the end
of an action, found by a bounded byte search) and ``log`` (the viewer on a page
of its own, full height). A hidden job reads exactly like a missing one.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from lava.server.logs.store import log_store
from lava.server.scheduler.models import TestJob
from lava.server.scheduler.states import JobState
from lava.server.services import Invalid
from lava.server.services.jobs import visible_job, visible_job_by_display_id
from lava.server.services.names import whole_number

from .. import logread, logstream
from ..access import actor

# LAVA's LOG_SIZE_LIMIT (MB): over it, log_pipeline_incremental answers [] and a warning.
LOG_SIZE_LIMIT = 5
# Lines one log_pipeline_incremental answer holds at most: LAVA's clients ask again from
# where the answer ended, and only an answer that reaches the end says X-Is-Finished.
INCREMENTAL_PAGE = 2000
DEFAULT_PAGE = 500


def find_job(request: HttpRequest, pk: str) -> TestJob:
    """The job ``pk`` (``N``, or a multinode ``N.M``) if the reader may see it, else Missing."""
    if "." in pk:
        return visible_job_by_display_id(actor(request), pk)
    return visible_job(actor(request), pk, related=False)  # the log needs no related rows


def _number(request: HttpRequest, name: str, default: int) -> int:
    """Query parameter ``name`` as a line number or count (0 to 10**18), else Invalid."""
    value = request.GET.get(name)
    if value is None or value == "":
        return default
    number = whole_number(value)
    if number is None:
        raise Invalid(f"{name} must be a whole number from 0, not {value[:40]!r}")
    return number


def _finished(job: TestJob) -> bool:
    return job.state == JobState.FINISHED


@require_GET
def log_pipeline_incremental(request: HttpRequest, pk: str) -> HttpResponse:
    """LAVA's: the lines from ``line`` (0-based) as a JSON array of {dt, lvl, msg}.

    ``X-Is-Finished: 1`` once the job is Finished and the answer reaches the end;
    ``X-Size-Warning: 1`` and ``[]`` for a log over ``LOG_SIZE_LIMIT`` MB; a line
    that is not an integer reads as 0, and an unreadable log as ``[]``.
    """
    job = find_job(request, pk)
    try:
        first = max(0, int(request.GET.get("line", 0)))
    except ValueError:
        first = 0
    finished = _finished(job)
    store = log_store()
    limit = getattr(settings, "LOG_SIZE_LIMIT", LOG_SIZE_LIMIT)
    data: list = []
    try:
        if store.size(job.id) >= limit * 1024 * 1024:
            response = JsonResponse([], safe=False)
            response["X-Size-Warning"] = "1"
            return response
        total = store.count(job.id)
        stop = min(total, first + INCREMENTAL_PAGE)
        if first < stop:
            data = logread.records(store.read(job.id, first, stop), strict=True)
    except (OSError, ValueError):
        data, stop, total = [], 0, 0
    response = JsonResponse(data, safe=False, json_dumps_params={"default": str})
    if finished and stop >= total:
        response["X-Is-Finished"] = "1"
    return response


def _page(job: TestJob, start: int, count: int) -> HttpResponse:
    finished = _finished(job)  # before the count: a Finished job's count is final
    store = log_store()
    total = store.count(job.id)
    stop = min(total, start + count)
    blob = store.read(job.id, start, stop) if start < stop else b""
    lines = logread.page_json(blob)
    head = {"start": start, "total": total, "finished": finished}
    body = json.dumps(head)[:-1].encode() + b',"lines":' + lines + b"}"
    response = HttpResponse(body, content_type="application/json")
    response["Cache-Control"] = "private, max-age=300" if finished else "no-cache"
    return response


@require_GET
def log_lines(request: HttpRequest, pk: str) -> HttpResponse:
    """A page of lines: ``start`` (0-based) and ``count`` (1..1000), the total, finished."""
    job = find_job(request, pk)
    start = _number(request, "start", 0)
    count = _number(request, "count", DEFAULT_PAGE)
    if not 1 <= count <= logread.MAX_PAGE:
        raise Invalid(f"count must be from 1 to {logread.MAX_PAGE} lines, not {count}")
    return _page(job, start, count)


@require_GET
def log_find(request: HttpRequest, pk: str) -> JsonResponse:
    """The next line from ``from`` of level ``lvl``, or ending action ``end`` (a bounded search).

    ``{"line": n or null, "next": where to search on, "total", "finished"}``: with
    no match yet and ``next`` < ``total``, the client asks again from ``next``.
    """
    job = find_job(request, pk)
    start = _number(request, "from", 0)
    lvl = request.GET.get("lvl", "")
    end = request.GET.get("end", "")
    try:
        logread.patterns(lvl, end)
    except ValueError as exc:
        raise Invalid(str(exc)) from None
    finished = _finished(job)
    line, after, total = logread.find(log_store(), job.id, start, lvl=lvl, end=end)
    return JsonResponse({"line": line, "next": after, "total": total, "finished": finished})


@require_GET
def log_stream(request: HttpRequest, pk: str) -> StreamingHttpResponse:
    """Server-sent events: new lines from ``line`` (or ``Last-Event-ID``) as they come."""
    job = find_job(request, pk)
    resumed = request.headers.get("Last-Event-ID")
    if resumed is not None and whole_number(resumed) is not None:
        line = whole_number(resumed) or 0
    else:
        line = _number(request, "line", 0)
    job_id = job.id

    def finished() -> bool:
        return TestJob.objects.filter(pk=job_id, state=JobState.FINISHED).exists()

    events = logstream.stream(log_store(), job_id, line, finished)
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx passes each event on at once
    return response


@require_GET
def job_log(request: HttpRequest, pk: str) -> HttpResponse:
    """The log viewer on a page of its own, as tall as the window."""
    job = find_job(request, pk)
    return render(request, "web/job/log.html", {"job": job})


urlpatterns: list[URLPattern] = [
    path(
        "scheduler/job/<str:pk>/log_pipeline_incremental",
        log_pipeline_incremental,
        name="log_pipeline_incremental",
    ),
    path("scheduler/job/<str:pk>/log_lines", log_lines, name="log_lines"),
    path("scheduler/job/<str:pk>/log_find", log_find, name="log_find"),
    path("scheduler/job/<str:pk>/log_stream", log_stream, name="log_stream"),
    path("scheduler/job/<str:pk>/log", job_log, name="job_log"),
]
