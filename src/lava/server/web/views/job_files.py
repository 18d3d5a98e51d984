"""A job's sub-resources: definitions, description, configuration, log download, timing, status.

Each reads the job through the services first, so a hidden job answers
exactly as a missing one; definitions and kept files are shown with the
job's secrets masked for those who may not read them.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Iterator

from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import URLPattern, path
from django.utils.timesince import timesince
from django.views.decorators.http import require_safe

from lava.server.logs.store import log_store
from lava.server.scheduler.definitions import shown
from lava.server.scheduler.models import TestJob
from lava.server.scheduler.states import JobState
from lava.server.services import Missing
from lava.server.services import jobs as job_services
from lava.server.services import notifications as notification_services

from .. import jobtiming
from ..access import actor
from ..jobstatus import duration, status_label

LOG_SLICE = 20_000  # lines a chunk of the streamed log download
# what LAVA's configuration archive holds, in its order
CONFIGURATION = ("device.yaml", "dispatcher.yaml", "env.yaml", "env-dut.yaml")


def the_job(request: HttpRequest, pk: str) -> TestJob:
    return job_services.visible_job_by_display_id(actor(request), pk)


def attachment(body: str | bytes, content_type: str, filename: str) -> HttpResponse:
    response = HttpResponse(body, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def definition_text(request: HttpRequest, job: TestJob, multinode: bool) -> str:
    fields = shown(job, request.user)
    if multinode:
        if not fields["multinode_definition"]:
            raise Missing(f"Job {job.display_id} is not a multinode job: no multinode definition.")
        return str(fields["multinode_definition"])
    return str(fields["original_definition"] or fields["definition"])


@require_safe
def definition(request: HttpRequest, pk: str, multinode: bool = False) -> HttpResponse:
    """The definition as a page, with a link to the plain text."""
    job = the_job(request, pk)
    text = definition_text(request, job, multinode)
    context = {"job": job, "text": text, "multinode": multinode}
    return render(request, "web/job/definition.html", context)


@require_safe
def definition_plain(request: HttpRequest, pk: str, multinode: bool = False) -> HttpResponse:
    """The definition as submitted (secrets masked for those who may not read them)."""
    job = the_job(request, pk)
    text = definition_text(request, job, multinode)
    name = f"multinode_job_{job.id}.yaml" if multinode else f"job_{job.id}.yaml"
    return attachment(text, "text/plain; charset=utf-8", name)


@require_safe
def description(request: HttpRequest, pk: str) -> HttpResponse:
    """The pipeline description the dispatcher wrote, kept at the job's end."""
    job = the_job(request, pk)
    text = job_services.shown_kept_file(actor(request), job, "description.yaml")
    if text is None:
        raise Missing(f"Job {job.display_id} has no pipeline description: it has not finished.")
    return attachment(text, "application/yaml", f"job_description_{job.id}.yaml")


@require_safe
def configuration(request: HttpRequest, pk: str) -> HttpResponse:
    """``configuration.tar.bz2``: the job, device, dispatcher and environment the job ran with."""
    job = the_job(request, pk)
    who = actor(request)
    files = {name: job_services.shown_kept_file(who, job, name) for name in CONFIGURATION}
    if files["device.yaml"] is None:
        raise Missing(f"Job {job.display_id} has no configuration yet: it has not started.")
    files = {"job.yaml": str(shown(job, request.user)["definition"])} | files
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:bz2") as archive:
        for name, text in files.items():
            if text is None:
                continue
            data = text.encode("utf-8")
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            if job.end_time or job.start_time:
                info.mtime = int((job.end_time or job.start_time).timestamp())
            archive.addfile(info, io.BytesIO(data))
    return attachment(buffer.getvalue(), "application/x-tar", "configuration.tar.bz2")


def log_chunks(job_id: int, count: int) -> Iterator[bytes]:
    store = log_store()
    for start in range(0, count, LOG_SLICE):
        yield store.read(job_id, start, min(count, start + LOG_SLICE))


@require_safe
def log_plain(request: HttpRequest, pk: str) -> StreamingHttpResponse:
    """The whole log as YAML, streamed a slice of lines at a time (never whole in memory)."""
    job = the_job(request, pk)
    store = log_store()
    if not store.exists(job.id):
        raise Missing(f"Job {job.display_id} has no log yet.")
    count = store.count(job.id)
    response = StreamingHttpResponse(log_chunks(job.id, count), content_type="application/yaml")
    response["Content-Disposition"] = f'attachment; filename="job_{job.id}.log"'
    return response


@require_safe
def timing(request: HttpRequest, pk: str) -> JsonResponse:
    """LAVA's ``{"timing": <HTML table>, "graph": [[level, name, duration, timeout, near]...]}``."""
    job = the_job(request, pk)
    found = jobtiming.job_timing(job.id)
    html = render_to_string("web/job/timing.html", {"timing": found, "job": job})
    return JsonResponse({"timing": html, "graph": found.graph()})


@require_safe
def job_status(request: HttpRequest, pk: str) -> JsonResponse:
    """LAVA's live header: state, health, device, duration; ``X-JobState`` once finished."""
    job = the_job(request, pk)
    finished = job.state == JobState.FINISHED
    label, css = status_label(job)
    device = job.actual_device.hostname if job.actual_device_id else ""
    body = {
        "actual_device": render_to_string("web/job/device_link.html", {"job": job}).strip(),
        "device": device,
        "duration": str(duration(job) or ""),
        "job_state": render_to_string(
            "web/job/status_badge.html", {"status_label": label, "status_class": css}
        ).strip()
        if finished
        else JobState(job.state).label,
        "state": JobState(job.state).label,
        "status_label": label,
        "status_class": css,
        "failure_comment": job.failure_comment or "",
        "job_health": job.health,
        "started": f"{timesince(job.start_time)} ago" if job.start_time else "",
        "subjobs": [[sub.display_id, JobState(sub.state).label] for sub in sub_jobs(request, job)],
    }
    if finished:
        body["X-JobState"] = "1"
    return JsonResponse(body)


@require_safe
def job_data(request: HttpRequest, pk: str) -> HttpResponse:
    """The body of the job's first POST callback, gzip'd, for its submitter and staff."""
    data = notification_services.kept_job_data(actor(request), pk)
    return attachment(data, "application/gzip", "job_data.gz")


def sub_jobs(request: HttpRequest, job: TestJob) -> list[TestJob]:
    return job_services.sub_jobs(actor(request), job)


JOB = "scheduler/job/<str:pk>/"
urlpatterns: list[URLPattern] = [
    path(f"{JOB}definition", definition, name="job_definition"),
    path(f"{JOB}definition/plain", definition_plain, name="job_definition_plain"),
    path(
        f"{JOB}multinode_definition",
        definition,
        {"multinode": True},
        name="job_multinode_definition",
    ),
    path(
        f"{JOB}multinode_definition/plain",
        definition_plain,
        {"multinode": True},
        name="job_multinode_definition_plain",
    ),
    path(f"{JOB}description", description, name="job_description"),
    path(f"{JOB}configuration", configuration, name="job_configuration"),
    path(f"{JOB}log_file/plain", log_plain, name="job_log_file_plain"),
    path(f"{JOB}timing", timing, name="job_timing"),
    path(f"{JOB}job_status", job_status, name="job_status"),
    path(f"{JOB}job_data", job_data, name="job_data"),
]
