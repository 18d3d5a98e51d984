"""Thin HTTP views of the worker API: authenticate with ``LAVA-Token``, call the services."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

import lava

from ...events import emit
from ...logs.store import LogConflict, LogGap, log_store
from ...results.ingest import ingest
from ...services.names import whole_number
from ..models import TestJob, Worker
from ..states import JobHealth, JobState
from . import services

# Lines per log batch; a bigger one gets 413 and the sender halves it (LAVA's worker: 1000).
MAX_LOG_LINES = 5000


def _error(message: str, status: int) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def _token_error(request: HttpRequest, expected: str) -> JsonResponse | None:
    token = request.headers.get("LAVA-Token")
    if not token:
        return _error("Missing 'token'", 400)
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        return _error("Invalid 'token'", 400)
    return None


def _worker(request: HttpRequest, hostname: str) -> Worker | JsonResponse:
    """The worker whose token the request carries, else the refusal.

    An unknown name gets the same answer as a bad token: answering "unknown
    worker" first told anyone which names exist.
    """
    found = Worker.objects.filter(hostname=hostname).first()
    failure = _token_error(request, found.token if found else "")
    return failure or found  # type: ignore[return-value]


def _has_nul(request: HttpRequest, *values: str) -> bool:
    """PostgreSQL cannot store or compare NUL bytes: such input is refused up front."""
    fields = [*values, *request.GET.values(), *request.POST.values()]
    return any("\x00" in value for value in fields)


def _job(request: HttpRequest, job_id: str) -> TestJob | JsonResponse:
    """The job whose token the request carries, else the refusal.

    An unknown job and a wrong token get one answer, 404: answering "unknown
    job" before checking the token told anyone which job ids exist, private
    ones included. On a 404 the worker drops the job, which is right for both:
    the server has no job of that id for that token.
    """
    if not request.headers.get("LAVA-Token"):
        return _error("Missing 'token'", 400)  # whatever the job: this tells nothing
    number = whole_number(job_id)
    found = None
    if number is not None:
        found = TestJob.objects.select_related("actual_device").filter(id=number).first()
    if _token_error(request, found.token if found else "") is not None:
        return _error(f"Unknown job '{job_id[:40]}', or not with this 'token'", 404)
    return found  # type: ignore[return-value]


@csrf_exempt
def worker(request: HttpRequest, hostname: str) -> JsonResponse:
    """GET: a worker's ping; the jobs to start, cancel and keep.

    ``wait`` and ``seen`` make it a long poll (see ``services.worker_ping``).
    """
    if request.method != "GET":
        return _error(f"Method {request.method} not allowed", 405)
    if _has_nul(request, hostname):
        return _error("NUL byte in the request", 400)
    found = _worker(request, hostname)
    if isinstance(found, JsonResponse):
        return found
    version = request.GET.get("version", "")
    if version != lava.__version__:
        services.worker_version_mismatch(found, version)
        return _error(
            f"Version mismatch: worker has '{version}', server has '{lava.__version__}'", 409
        )
    wait = request.GET.get("wait", "0")
    try:
        seconds = float(wait)
    except ValueError:
        return _error(f"Invalid 'wait': {wait[:40]!r}", 400)
    if not 0 <= seconds <= services.MAX_PING_WAIT:
        return _error(f"Invalid 'wait': {wait[:40]!r} (0 to {services.MAX_PING_WAIT:g} s)", 400)
    answer = services.worker_ping(found, version, seconds, request.GET.get("seen", ""))
    return JsonResponse(answer)


def _job_view(handler: Callable[[HttpRequest, TestJob], JsonResponse]) -> Callable[..., Any]:
    """Find the job its token opens, call the handler, turn a service's BadRequest into 400."""

    @csrf_exempt
    def view(request: HttpRequest, job_id: str) -> JsonResponse:
        try:
            nul = _has_nul(request, job_id)  # reads the body
        except RequestDataTooBig:
            # 413: the worker halves its batches until they fit (a 400 would drop the job)
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return _error(f"Request body too large: at most {limit} bytes", 413)
        if nul:
            return _error("NUL byte in the request", 400)
        job = _job(request, job_id)
        if isinstance(job, JsonResponse):
            return job
        try:
            return handler(request, job)
        except services.BadRequest as exc:
            return _error(str(exc), 400)

    view.__name__ = handler.__name__
    view.__doc__ = handler.__doc__
    return view


@_job_view
def job(request: HttpRequest, job: TestJob) -> JsonResponse:
    """GET: the job's files; POST state=RUNNING or state=FINISHED."""
    if request.method == "GET":
        try:
            return JsonResponse(services.job_files(job))
        except services.dispatcher_config.DeviceDictionaryError as exc:
            return _error(str(exc), 400)
    if request.method != "POST":
        return _error(f"Method {request.method} not allowed", 405)
    state = request.POST.get("state", "").capitalize()  # LAVA accepts any case
    if state == "Running":
        services.job_started(job)
    elif state == "Finished":
        services.job_finished(
            job,
            request.POST.get("result", ""),
            error_type=request.POST.get("error_type", ""),
            errors=request.POST.get("errors", ""),
            description=request.POST.get("description", ""),
        )
    else:
        return _error(f"Invalid state '{state}'", 400)
    return JsonResponse({})


@_job_view
def logs(request: HttpRequest, job: TestJob) -> JsonResponse:
    """POST ``lines`` from line ``index``: store them, derive results; the new line count."""
    if request.method != "POST":
        return _error(f"Method {request.method} not allowed", 405)
    lines = request.POST.get("lines", "")
    index = request.POST.get("index", "")
    start = whole_number(index)
    if start is None:
        return _error(f"Invalid 'index': {index[:40]!r}", 400)
    if lines.count("\n") >= MAX_LOG_LINES:
        return _error(f"Too many lines: at most {MAX_LOG_LINES} a batch", 413)
    if job.state == JobState.FINISHED:
        # the server ended it (a silent worker, an admin): its log is closed
        label = JobHealth(job.health).label
        return _error(f"Job {job.id} has ended ({label}): its log takes no more lines", 409)
    # lines of lava-test-event already stored (a batch sent again) are published once
    stored = log_store().count(job.id) if emit.may_hold_test_events(lines) else start
    try:
        count = log_store().append(job.id, start, lines)
    except LogGap as exc:
        return _error(str(exc), 400)
    except LogConflict as exc:
        return _error(str(exc), 409)
    except ValueError as exc:
        return _error(f"Invalid 'lines': {exc}", 400)
    if lines:
        ingest(job, start, lines)  # safe to re-send: rows already derived are not doubled
        emit.test_events_in(job.id, start, lines, stored)
    return JsonResponse({"line_count": count})
