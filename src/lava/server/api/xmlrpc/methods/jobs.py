"""``scheduler.jobs.*`` (and LAVA's older ``scheduler.*_job`` names): submit, read, cancel jobs."""

from __future__ import annotations

import datetime
import xmlrpc.client
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from lava.common import yamlio

from ....logs.store import log_store
from ....results.models import TestCase
from ....scheduler import permissions
from ....scheduler.definitions import shown, shown_definition
from ....scheduler.models import TestJob
from ....scheduler.states import JobHealth, JobState, Visibility
from ....services import jobs as job_services
from ....services import notifications as notification_services
from ....services.names import choice
from ...bounds import bounded
from ..registry import Call, Text, method

Fault = xmlrpc.client.Fault
MAX_LIST = 100


def visible_job(call: Call, job_id: Any) -> TestJob:
    """The job, if the caller may see it; 404 otherwise (a hidden job reads as a missing one)."""
    return job_services.visible_job(call.actor, job_id)


def _job_case(job: Any) -> QuerySet[TestCase]:
    """The ``lava``/``job`` result: where error_msg and error_type come from."""
    return TestCase.objects.filter(suite__job=job, suite__name="lava", name="job").order_by("id")


def job_case_metadata(job: TestJob) -> dict[str, Any]:
    """The ``lava``/``job`` result's metadata (its error_msg and error_type)."""
    return _metadata(_job_case(job).values_list("metadata", flat=True).first())


def _metadata(text: str | None) -> dict[str, Any]:
    if not text:
        return {}
    try:
        data = yamlio.load(text)
    except yamlio.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def visibility(job: TestJob, listed: bool) -> str:
    """LAVA's words for who sees the job (``listed``: whether it may list groups)."""
    if job.visibility == Visibility.PUBLIC:
        return "Public"
    groups = [group.name for group in job.viewing_groups.order_by("name")] if listed else []
    return f"Group ({', '.join(groups)})" if groups else "Personal"


@method("scheduler.jobs.submit", ["int", "str"], aliases=["scheduler.submit_job"])
def submit(call: Call, definition: Text) -> int:
    """Submit a job definition (YAML); the new job's id. Needs a user and token."""
    call.need_user()
    text = definition.data.decode("utf-8", "replace") if hasattr(definition, "data") else definition
    return job_services.submit(call.actor, text).id


@method("scheduler.jobs.resubmit", ["int", "int"], aliases=["scheduler.resubmit_job"])
def resubmit(call: Call, job_id: int | str) -> int:
    """Submit a job's original definition again; the new job's id."""
    call.need_user()
    return job_services.resubmit_job(call.actor, visible_job(call, job_id)).id


@method("scheduler.jobs.cancel", ["bool", "int"], aliases=["scheduler.cancel_job"])
def cancel(call: Call, job_id: int | str) -> bool:
    """Cancel a job: a queued one at once, a running one through its worker."""
    call.need_user()
    job_services.cancel_job(call.actor, visible_job(call, job_id))
    return True


@method("scheduler.jobs.validate", ["struct", "str", "bool"])
def validate(call: Call, definition: str, strict: bool = False) -> dict[str, str]:
    """Check a definition as submission would, and against the full schema: {} when valid,
    else {path, msg}."""
    problem = job_services.validate(definition, bool(strict))
    return {} if problem is None else {"path": problem.path, "msg": problem.msg}


@method("scheduler.jobs.show", ["struct", "int"])
def show(call: Call, job_id: int) -> dict[str, Any]:
    """A job's details: state, health, device, times, visibility, failure."""
    found = job_services.shown_job(call.actor, job_id)
    job, metadata = found.job, _metadata(found.case_metadata)
    return {
        "id": job.id,
        "description": job.description,
        "device": job.actual_device_id,  # the device's hostname is its key
        "device_type": job.requested_device_type_id,
        "health_check": job.health_check,
        "pipeline": True,
        "health": JobHealth(job.health).label,
        "state": JobState(job.state).label,
        "submitter": found.submitter_name,
        "submit_time": job.submit_time,
        "start_time": job.start_time,
        "end_time": job.end_time,
        "tags": sorted(job.tags.values_list("name", flat=True)) if found.tagged else [],
        "visibility": visibility(job, bool(found.groups)),
        "failure_comment": job.failure_comment,
        "error_msg": metadata.get("error_msg"),
        "error_type": metadata.get("error_type"),
    }


@method("scheduler.jobs.notifications", ["array", "int"])
def notifications(call: Call, job_id: int) -> list[dict[str, Any]]:
    """The job's notifications (callbacks, mail) and how their delivery went: kind, target,
    event, status (Pending, Sent, Failed), attempts, times, last HTTP answer, error."""
    return notification_services.delivery_log(call.actor, job_id)


def _named(enum: Any, value: Any, what: str) -> int | None:
    return choice(enum, value, what) if value else None


@method("scheduler.jobs.list", ["array", "str", "str", "int", "int", "int", "bool"])
def list_jobs(
    call: Call,
    state: str | None = None,
    health: str | None = None,
    start: int = 0,
    limit: int = 25,
    since: int = 0,
    verbose: bool = False,
    duration_at_least: int | None = None,
) -> list[dict[str, Any]]:
    """The latest jobs the caller may see, newest first (at most 100 a call)."""
    jobs = permissions.visible_jobs(call.user).select_related(
        "submitter", "requested_device_type", "actual_device"
    )
    if (wanted := _named(JobState, state, "state")) is not None:
        jobs = jobs.filter(state=wanted)
    if (wanted := _named(JobHealth, health, "health")) is not None:
        jobs = jobs.filter(health=wanted)
    now = timezone.now()
    if since:
        jobs = jobs.filter(end_time__range=(now - datetime.timedelta(minutes=int(since)), now))
    start, limit = bounded(int(start), min(int(limit), MAX_LIST))
    rows = []
    for job in jobs.order_by("-id")[start : start + limit * (3 if duration_at_least else 1)]:
        if duration_at_least is not None:
            if job.start_time is None:
                continue
            lasted = (job.end_time or now) - job.start_time
            if lasted <= datetime.timedelta(minutes=int(duration_at_least)):
                continue
        row: dict[str, Any] = {
            "id": job.id,
            "description": job.description,
            "device_type": job.requested_device_type_id,
            "health": JobHealth(job.health).label,
            "state": JobState(job.state).label,
            "submitter": job.submitter.username,
        }
        if verbose:
            metadata = job_case_metadata(job)
            row.update(
                actual_device=job.actual_device.hostname if job.actual_device else None,
                start_time=str(job.start_time) if job.start_time else None,
                end_time=str(job.end_time) if job.end_time else None,
                error_msg=metadata.get("error_msg"),
                error_type=metadata.get("error_type"),
            )
        rows.append(row)
        if len(rows) == limit:
            break
    return rows


@method("scheduler.jobs.queue", ["array", "array", "int", "int"])
def queue(
    call: Call, device_types: list[str] | None = None, start: int = 0, limit: int = 25
) -> list[dict[str, Any]]:
    """Queued jobs the caller may see, oldest first, optionally for some device types."""
    jobs = permissions.visible_jobs(call.user).filter(state=JobState.SUBMITTED)
    if device_types:
        jobs = jobs.filter(requested_device_type__in=[str(name) for name in device_types])
    start, limit = bounded(int(start), min(int(limit), MAX_LIST))
    return [
        {
            "id": job.id,
            "description": job.description,
            "requested_device_type": job.requested_device_type_id,
            "submitter": job.submitter.username,
        }
        for job in jobs.select_related("submitter").order_by("id")[start : start + limit]
    ]


@method("scheduler.jobs.logs", ["array", "int", "int", "int"])
def logs(call: Call, job_id: int, start: int = 0, end: int | None = None) -> list[Any]:
    """[finished, log lines start..end as YAML (base64)]: what lavacli follows."""
    job = visible_job(call, job_id)
    finished = job.state == JobState.FINISHED
    first = max(0, int(start))
    last = None if end is None else max(first, int(end))
    data = log_store().read(job.id, first, last)
    return [finished, xmlrpc.client.Binary(data)]


@method("scheduler.jobs.definition", ["str", "int"])
def definition(call: Call, job_id: int) -> str:
    """The job's definition as submitted (its secrets masked for all but its submitter)."""
    return shown_definition(visible_job(call, job_id), call.user)


@method("scheduler.jobs.configuration", ["array", "int"])
def configuration(call: Call, job_id: int) -> list[str | None]:
    """[definition, device, dispatcher, env, env-dut] as the worker received them."""
    job = visible_job(call, job_id)
    store = log_store()
    device = store.read_file(job.id, "device.yaml")
    if device is None:
        raise Fault(404, f"Job '{job_id}' has no configuration yet: it has not started")
    return [
        shown(job, call.user)["definition"],
        device,
        store.read_file(job.id, "dispatcher.yaml"),
        store.read_file(job.id, "env.yaml"),
        store.read_file(job.id, "env-dut.yaml"),
    ]
