"""What a scheduler pass reads from the database before it decides anything.

A handful of queries, each returning plain tuples: the device types, the
workers that may take jobs and how many more, and the idle devices on them
with their tags. Nothing here writes or locks; the claim re-checks every row.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count

from .models import Device, DeviceType, TestJob, Worker
from .states import DeviceHealth, DeviceState, JobState, WorkerHealth, WorkerState

# Device health that may take a health check, and that may take a user job.
HEALTH_CHECK_HEALTH = (DeviceHealth.GOOD, DeviceHealth.UNKNOWN, DeviceHealth.LOOPING)
JOB_HEALTH = (DeviceHealth.GOOD, DeviceHealth.UNKNOWN)
# Job states that occupy one of a worker's job_limit slots.
BUSY_STATES = (JobState.SCHEDULED, JobState.RUNNING, JobState.CANCELING)


@dataclass(slots=True, frozen=True)
class TypeInfo:
    """The scheduling fields of a device type."""

    name: str
    disable_health_check: bool
    health_frequency: int
    health_denominator: int
    display: bool


@dataclass(slots=True)
class IdleDevice:
    """An Idle device, on a worker that may take jobs, that could take a job now."""

    hostname: str
    device_type: str
    worker: str
    health: int
    last_health_check: int | None  # the id of its last health-check job
    tags: frozenset[int]


@dataclass
class Snapshot:
    """The database as one pass sees it."""

    types: dict[str, TypeInfo]
    capacity: dict[str, float]  # usable worker -> jobs it may still take (inf: no limit)
    devices: list[IdleDevice]


def worker_capacity() -> dict[str, float]:
    """Online, Active workers and how many more jobs each may take (job_limit 0: unlimited)."""
    rows = Worker.objects.filter(state=WorkerState.ONLINE, health=WorkerHealth.ACTIVE)
    limits = dict(rows.values_list("hostname", "job_limit"))
    limited = [hostname for hostname, limit in limits.items() if limit]
    busy: dict[str, int] = {}
    if limited:
        busy = dict(
            TestJob.objects.filter(state__in=BUSY_STATES, actual_device__worker_host__in=limited)
            .values_list("actual_device__worker_host")
            .annotate(n=Count("id"))
            .order_by()
        )
    return {
        hostname: (limit - busy.get(hostname, 0)) if limit else math.inf
        for hostname, limit in limits.items()
    }


def load() -> Snapshot:
    """Device types, usable workers and the idle devices on them (of displayed types)."""
    types = {
        row[0]: TypeInfo(*row)
        for row in DeviceType.objects.values_list(
            "name", "disable_health_check", "health_frequency", "health_denominator", "display"
        )
    }
    capacity = worker_capacity()
    shown = [name for name, info in types.items() if info.display]
    idle = Device.objects.filter(
        state=DeviceState.IDLE,
        health__in=HEALTH_CHECK_HEALTH,
        worker_host__in=list(capacity),
        device_type__in=shown,
    )
    rows = list(
        idle.order_by("hostname").values_list(
            "hostname", "device_type_id", "worker_host_id", "health", "last_health_report_job_id"
        )
    )
    tags: dict[str, set[int]] = defaultdict(set)
    if rows:
        through = Device.tags.through.objects.filter(
            device__state=DeviceState.IDLE, device__health__in=HEALTH_CHECK_HEALTH
        )
        for hostname, tag in through.values_list("device_id", "tag_id"):
            tags[hostname].add(tag)
    devices = [
        IdleDevice(hostname, device_type, worker, health, last, frozenset(tags.get(hostname, ())))
        for hostname, device_type, worker, health, last in rows
    ]
    return Snapshot(types=types, capacity=capacity, devices=devices)
