"""The job table of every job list: its columns, its filters and its cells.

Columns follow LAVA's job tables (AllJobsTable, ActiveJobsTable,
QueuedJobsTable, JobErrorsTable). Filters come from the query string, so a
filtered page is a bookmark; every name a filter takes is checked against what
the user may see, and an unknown one is a 400 that says which.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from lava.server.scheduler import permissions
from lava.server.scheduler.models import Tag, TestJob
from lava.server.scheduler.states import JobHealth, JobState, parse_choice
from lava.server.services import Invalid

from .tables import Cell, SortKey, param, row_html

SORT_KEYS = {
    key.name: key
    for key in (
        SortKey("id", "id"),
        SortKey("submit_time", "submit_time", datetime),
        SortKey("end_time", "end_time", datetime, nullable=True),
        SortKey("start_time", "start_time", datetime, nullable=True),
        SortKey("device", "actual_device_id", str, nullable=True),
        SortKey("device_type", "requested_device_type_id", str, nullable=True),
        SortKey("state", "state", values=tuple(JobState.values)),
        SortKey("health", "health"),
        SortKey("priority", "priority"),
    )
}
# The fields a row needs: never the definitions, which may be megabytes each.
ROW_FIELDS = (
    "id",
    "sub_id",
    "description",
    "state",
    "health",
    "priority",
    "submit_time",
    "start_time",
    "end_time",
    "actual_device_id",
    "requested_device_type_id",
    "submitter__username",
    "error_type",
    "failure_comment",
    "health_check",
)
JOB_ID = re.compile(r"\d{1,18}(\.\d{1,9})?", re.ASCII)
MAX_TEXT = 200  # a description's length: a longer search could match nothing


def job_url(job: TestJob) -> str:
    return f"/scheduler/job/{job.display_id}"


def device_url(hostname: str) -> str:
    return f"/scheduler/device/{quote(hostname, safe='')}"


def device_type_url(name: str) -> str:
    return f"/scheduler/device_type/{quote(name, safe='')}"


def _label(enum: type, value: int) -> str:
    return str(enum(value).label)


def status(job: TestJob) -> Cell:
    """The state, or the health once the job has finished, with its colour class."""
    if job.state == JobState.FINISHED:
        text = _label(JobHealth, job.health)
        return Cell(text, css=f"health-{text.lower()}")
    text = _label(JobState, job.state)
    return Cell(text, css=f"state-{text.lower()}")


def _duration(job: TestJob) -> Cell:
    if job.start_time is None:
        return Cell()
    end = job.end_time or timezone.now()
    seconds = max(int((end - job.start_time).total_seconds()), 0)
    hours, rest = divmod(seconds, 3600)
    return Cell(f"{hours}:{rest // 60:02d}:{rest % 60:02d}")


def _device(job: TestJob) -> Cell:
    name = job.actual_device_id
    return Cell(name, device_url(name)) if name else Cell()


def _device_type(job: TestJob) -> Cell:
    name = job.requested_device_type_id
    return Cell(name, device_type_url(name)) if name else Cell()


def _id(job: TestJob) -> Cell:
    return Cell(job.display_id, job_url(job), "text-nowrap")


def _health(job: TestJob) -> Cell:
    text = _label(JobHealth, job.health)
    return Cell(text, css=f"health-{text.lower()}")


def _error(job: TestJob) -> Cell:
    comment = job.failure_comment or ""
    return Cell(comment if len(comment) <= 160 else comment[:159] + "…")


@dataclass(frozen=True)
class Column:
    """A job table column: heading, sort key (None: not sortable) and its cell."""

    label: str
    sort: str | None
    cell: Callable[[TestJob], Cell]


COLUMNS: dict[str, Column] = {
    "id": Column("ID", "id", _id),
    "state": Column("State", "state", status),
    "health": Column("Health", "health", _health),
    "device": Column("Device", "device", _device),
    "device_type": Column("Device type", "device_type", _device_type),
    "description": Column("Description", None, lambda job: Cell(job.description)),
    "submitter": Column("Submitter", None, lambda job: Cell(job.submitter.username)),
    "submit_time": Column("Submitted", "submit_time", lambda job: Cell(time=job.submit_time)),
    "start_time": Column("Started", "start_time", lambda job: Cell(time=job.start_time)),
    "end_time": Column("Ended", "end_time", lambda job: Cell(time=job.end_time)),
    "duration": Column("Duration", None, _duration),
    "priority": Column("Priority", "priority", lambda job: Cell(str(job.priority))),
    "in_queue": Column(
        "In queue", None, lambda job: Cell("for " + timesince(job.submit_time), css="text-nowrap")
    ),
    "error_type": Column("Error type", None, lambda job: Cell(job.error_type)),
    "error_msg": Column("Error", None, _error),
}


def rows(jobs: list[TestJob], columns: tuple[str, ...]) -> list[SafeString]:
    """Each job's row of cells (HTML, escaped), in column order."""
    cells = [COLUMNS[name].cell for name in columns]
    return [row_html([cell(job) for cell in cells]) for job in jobs]


@dataclass(frozen=True)
class JobFilters:
    """The filters of a job list as the query string gave them, checked."""

    state: str = ""
    health: str = ""
    device_type: str = ""
    device: str = ""
    submitter: str = ""
    tag: str = ""
    q: str = ""

    @property
    def active(self) -> bool:
        return any(vars(self).values())


def filters(request: HttpRequest) -> JobFilters:
    """The filter values of ``request``; length and NUL checked here, names in ``apply``."""
    names = ("state", "health", "device_type", "device", "submitter", "tag")
    values = {name: param(request, name) for name in names}
    return JobFilters(**values, q=param(request, "q", MAX_TEXT))


def _choice(enum: type, name: str, text: str) -> int:
    try:
        return parse_choice(enum, text)
    except ValueError as error:
        raise Invalid(f"{name}: {error}") from None


def _text(text: str) -> Q:
    """A job id (``123`` or a multinode ``123.1``), else words of the description."""
    if JOB_ID.fullmatch(text):
        return Q(sub_id=text) if "." in text else Q(id=int(text))
    return Q(description__icontains=text)


def apply(jobs: QuerySet[TestJob], wanted: JobFilters, user: permissions.AnyUser) -> QuerySet:
    """``jobs`` narrowed by ``wanted``; a name the user cannot see is refused like a missing one."""
    if wanted.state:
        jobs = jobs.filter(state=_choice(JobState, "state", wanted.state))
    if wanted.health:
        jobs = jobs.filter(health=_choice(JobHealth, "health", wanted.health))
    if wanted.device_type:
        if not permissions.visible_device_types(user).filter(pk=wanted.device_type).exists():
            raise Invalid(f"device_type: there is no device type {wanted.device_type!r}")
        jobs = jobs.filter(requested_device_type_id=wanted.device_type)
    if wanted.device:
        if not permissions.visible_devices(user).filter(pk=wanted.device).exists():
            raise Invalid(f"device: there is no device {wanted.device!r}")
        jobs = jobs.filter(actual_device_id=wanted.device)
    if wanted.submitter:
        found = User.objects.filter(username=wanted.submitter).values_list("pk", flat=True)
        if not found:
            raise Invalid(f"submitter: there is no user {wanted.submitter!r}")
        jobs = jobs.filter(submitter_id=found[0])
    if wanted.tag:
        tag = Tag.objects.filter(name=wanted.tag).values_list("pk", flat=True)
        if not tag:
            raise Invalid(f"tag: there is no tag {wanted.tag!r}")
        jobs = jobs.filter(tags=tag[0])
    if wanted.q:
        jobs = jobs.filter(_text(wanted.q))
    return jobs


def choices() -> dict[str, list[str]]:
    """The values the state and health filters offer."""
    return {
        "states": [str(s.label) for s in JobState],
        "healths": [str(h.label) for h in JobHealth],
    }
