"""The home page and the scheduler's overview (/, /scheduler/).

Both count only small sets: the devices (hundreds), and the jobs that are
queued or running, which the ``testjob_queue`` index (state first) finds
without touching the finished millions. Nothing counts all jobs.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_safe

from lava.server.scheduler import permissions
from lava.server.scheduler.models import TestJob, Worker
from lava.server.scheduler.states import (
    DeviceHealth,
    DeviceState,
    JobState,
    WorkerHealth,
    WorkerState,
)

from .. import jobtable
from ..jobtable import device_type_url
from ..tables import Header

LATEST = 10
LATEST_COLUMNS = ("id", "state", "device", "device_type", "description", "submitter")
LATEST_COLUMNS += ("submit_time",)
USABLE = (DeviceHealth.GOOD, DeviceHealth.UNKNOWN)
WAITING = (JobState.SUBMITTED, JobState.SCHEDULING, JobState.SCHEDULED)
RUNNING = (JobState.RUNNING, JobState.CANCELING)


@dataclass
class TypeSummary:
    """A device type's line in the overview; the kinds are LAVA's (as in its metrics)."""

    name: str
    url: str
    idle: int = 0
    busy: int = 0
    offline: int = 0
    maintenance: int = 0
    queue: int = 0
    running: int = 0
    devices: int = 0  # not retired


@dataclass
class DeviceRow:
    """What the overview needs of one device (one small query for them all)."""

    device_type: str
    state: int
    health: int
    worker_ok: bool


def kind(device: DeviceRow) -> str:
    """Where a device counts: busy, maintenance, idle (can take a job now) or offline."""
    if device.state != DeviceState.IDLE:
        return "busy"
    if device.health == DeviceHealth.MAINTENANCE:
        return "maintenance"
    if device.health in USABLE and device.worker_ok:
        return "idle"
    return "offline"  # bad, looping, or its worker is offline or not active


def _devices(request: HttpRequest) -> list[DeviceRow]:
    found = (
        permissions.visible_devices(request.user)
        .exclude(health=DeviceHealth.RETIRED)
        .filter(device_type__display=True)
        .values_list(
            "device_type_id", "state", "health", "worker_host__state", "worker_host__health"
        )
    )
    return [
        DeviceRow(
            dt, state, health, w_state == WorkerState.ONLINE and w_health == WorkerHealth.ACTIVE
        )
        for dt, state, health, w_state, w_health in found
    ]


def _job_counts(jobs: QuerySet[TestJob]) -> dict[tuple[str | None, int], int]:
    """(requested device type, state) → number of ``jobs``, for unfinished states only."""
    jobs = jobs.filter(state__in=WAITING + RUNNING)
    grouped = jobs.values_list("requested_device_type_id", "state").annotate(n=Count("id"))
    return {(dt, state): n for dt, state, n in grouped.order_by()}


@dataclass
class Summary:
    """The lab at a glance."""

    devices: Counter[str] = field(default_factory=Counter)
    health: Counter[str] = field(default_factory=Counter)
    jobs: Counter[str] = field(default_factory=Counter)
    workers: Counter[str] = field(default_factory=Counter)
    types: list[TypeSummary] = field(default_factory=list)


def summary(request: HttpRequest, jobs: QuerySet[TestJob]) -> Summary:
    """Device counts by kind and health, counts of unfinished ``jobs``, per device type too."""
    result = Summary()
    shown = permissions.visible_device_types(request.user).filter(display=True)
    types = {
        name: TypeSummary(name, device_type_url(name))
        for name in shown.values_list("name", flat=True)
    }
    for device in _devices(request):
        name = device.device_type  # setdefault: a type made visible since the query above
        line = types.setdefault(name, TypeSummary(name, device_type_url(name)))
        where = kind(device)
        setattr(line, where, getattr(line, where) + 1)
        line.devices += 1
        result.devices[where] += 1
        result.health[DeviceHealth(device.health).label] += 1
    for (dt, state), n in _job_counts(jobs).items():
        group = "queued" if state == JobState.SUBMITTED else "scheduled"
        group = "running" if state in RUNNING else group
        result.jobs[group] += n
        line = types.get(dt or "")
        if line is not None and group != "scheduled":
            attr = "queue" if group == "queued" else "running"
            setattr(line, attr, getattr(line, attr) + n)
    for state, health in Worker.objects.values_list("state", "health"):
        if health != WorkerHealth.RETIRED:
            result.workers["online" if state == WorkerState.ONLINE else "offline"] += 1
    result.types = sorted(types.values(), key=lambda line: line.name)
    return result


def index(request: HttpRequest) -> HttpResponse:
    """``/``: devices and jobs at a glance, and the latest jobs the user may see."""
    jobs = permissions.visible_jobs(request.user)
    latest = jobs.select_related("submitter").only(*jobtable.ROW_FIELDS).order_by("-id")
    result = summary(request, jobs)
    context = {
        "summary": result,
        "headers": [Header(jobtable.COLUMNS[c].label) for c in LATEST_COLUMNS],
        "rows": jobtable.rows(list(latest[:LATEST]), LATEST_COLUMNS),
        "device_health": [
            (str(h.label), result.health[h.label])
            for h in DeviceHealth
            if h != DeviceHealth.RETIRED
        ],
    }
    return render(request, "web/home.html", context)


def scheduler(request: HttpRequest) -> HttpResponse:
    """``/scheduler/``: each device type's devices by kind and its queue, as LAVA's overview."""
    result = summary(request, permissions.visible_jobs(request.user))
    total = sum(result.devices.values())
    online = total - result.devices["offline"] - result.devices["maintenance"]
    context = {
        "summary": result,
        "total": total,
        "online": online,
        "passing": result.health["Good"],
    }
    return render(request, "web/scheduler.html", context)


urlpatterns: list[URLPattern] = [
    path("", require_safe(index), name="home"),
    path("scheduler/", require_safe(scheduler), name="scheduler"),
]
