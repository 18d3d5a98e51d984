"""Thin HTTP views of the worker API: authenticate with ``LAVA-Token``, call the services."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

import lava

from ...events import emit
from ...logs.store import LogConflict, LogGap, log_store, parse_batch
from ...results.ingest import ingest
from ...services.names import whole_number
from ..models import TestJob, Worker
from ..states import JobHealth, JobState
from . import form, services

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


def _job(request: HttpRequest, job_id: str, fields: tuple[str, ...] = ()) -> TestJob | JsonResponse:
    """The job whose token the request carries (only ``fields`` loaded, if given), else the
    refusal.

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
        query = TestJob.objects.filter(id=number)
        query = query.only("token", *fields) if fields else query.select_related("actual_device")
        found = query.first()
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


Handler = Callable[[HttpRequest, TestJob], JsonResponse]


def _job_view(*, fields: tuple[str, ...] = ()) -> Callable[[Handler], Callable[..., Any]]:
    """Find the job its token opens, call the handler, turn a service's BadRequest into 400.

    ``fields``: the only ones the handler reads (a log batch: loading the
    whole job and its device took a millisecond a batch); all when empty.
    """
    return functools.partial(_wrap, fields=fields)


def _wrap(handler: Handler, fields: tuple[str, ...]) -> Callable[..., Any]:
    @csrf_exempt
    def view(request: HttpRequest, job_id: str) -> JsonResponse:
        try:
            form.read_form(request)  # a log batch's body, parsed fast
            nul = _has_nul(request, job_id)  # reads the body
        except RequestDataTooBig:
            # 413: the worker halves its batches until they fit (a 400 would drop the job)
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            return _error(f"Request body too large: at most {limit} bytes", 413)
        if nul:
            return _error("NUL byte in the request", 400)
        job = _job(request, job_id, fields)
        if isinstance(job, JsonResponse):
            return job
        try:
            return handler(request, job)
        except services.BadRequest as exc:
            return _error(str(exc), 400)

    view.__name__ = handler.__name__
    view.__doc__ = handler.__doc__
    return view


@_job_view()
def job(request: HttpRequest, job: TestJob) -> JsonResponse:
    """GET: the job's files; POST state=RUNNING (with ``files``: and its files) or
    state=FINISHED (with ``index`` and ``lines``: the log's last lines first)."""
    if request.method == "GET":
        return _files(job)
    if request.method != "POST":
        return _error(f"Method {request.method} not allowed", 405)
    state = request.POST.get("state", "").capitalize()  # LAVA accepts any case
    answer: dict[str, Any] = {}
    if state == "Running":
        if request.POST.get("files"):  # the worker's start: one call instead of two
            files = _files(job)
            if files.status_code != 200:
                return files
            services.job_started(job)
            return files
        services.job_started(job)
    elif state == "Finished":
        if "lines" in request.POST and job.state != JobState.FINISHED:  # not a retried end
            stored = _store_lines(job, request.POST.get("index", ""), request.POST["lines"])
            if isinstance(stored, JsonResponse):
                return stored
            answer["line_count"] = stored
        services.job_finished(
            job,
            request.POST.get("result", ""),
            error_type=request.POST.get("error_type", ""),
            errors=request.POST.get("errors", ""),
            description=request.POST.get("description", ""),
        )
    else:
        return _error(f"Invalid state '{state}'", 400)
    return JsonResponse(answer)


def _files(job: TestJob) -> JsonResponse:
    try:
        return JsonResponse(services.job_files(job))
    except services.dispatcher_config.DeviceDictionaryError as exc:
        return _error(str(exc), 400)


@_job_view(fields=("state", "health"))
def logs(request: HttpRequest, job: TestJob) -> JsonResponse:
    """POST ``lines`` from line ``index`` (a form, or a JSON object as the worker sends): store
    them, derive results; the new line count."""
    if request.method != "POST":
        return _error(f"Method {request.method} not allowed", 405)
    try:
        index, lines = form.log_batch(request)
    except form.BodyError as exc:
        return _error(str(exc), 400)
    if "\x00" in lines:  # a form's NUL is refused before; JSON writes it \u0000
        return _error("NUL byte in the request", 400)
    stored = _store_lines(job, index, lines)
    if isinstance(stored, JsonResponse):
        return stored
    return JsonResponse({"line_count": stored})


def _store_lines(job: TestJob, index: str, lines: str) -> int | JsonResponse:
    """Store ``lines`` from line ``index`` and derive their results; the job's line count,
    or the refusal."""
    start = whole_number(index)
    if start is None:
        return _error(f"Invalid 'index': {index[:40]!r}", 400)
    if lines.count("\n") >= MAX_LOG_LINES:
        return _error(f"Too many lines: at most {MAX_LOG_LINES} a batch", 413)
    if job.state == JobState.FINISHED:
        # the server ended it (a silent worker, an admin): its log is closed
        label = JobHealth(job.health).label
        return _error(f"Job {job.id} has ended ({label}): its log takes no more lines", 409)
    store = log_store()
    # lines of lava-test-event already stored (a batch sent again) are published once
    stored = store.count(job.id) if emit.may_hold_test_events(lines) else start
    try:
        batch = parse_batch(lines.encode("utf-8"))  # once: the store and the results share it
        count = store.append(job.id, start, batch)
    except LogGap as exc:
        return _error(str(exc), 400)
    except LogConflict as exc:
        return _error(str(exc), 409)
    except ValueError as exc:
        return _error(f"Invalid 'lines': {exc}", 400)
    if lines:
        # safe to re-send: rows already derived are not doubled
        ingest(job, start, batch.records, want_rows=False)
        emit.test_events_in(job.id, start, lines, stored)
    return count
