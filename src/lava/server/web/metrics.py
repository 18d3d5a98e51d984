"""The lab in Prometheus' text format, under LAVA's metric names.

Scraped every few seconds by monitoring, so a fixed handful of queries: two
aggregates over the (few) devices and workers, and two over jobs that read
only the jobs in one state through the ``testjob_queue`` index (state first),
never the whole table.

Numbers (LAVA's meanings): a device is *online* when its health is Good or
Unknown and its worker is online; *running* when Reserved or Running; a
device type's *idle* devices are online and Idle, *offline* ones are Idle but
not usable (worker offline or health Bad/Looping), *maintenance* ones are in
Maintenance, *queue* counts its Submitted jobs. Retired devices and workers
count nowhere. ``devices_health_check_complete`` counts devices whose last
health check ended Complete.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import Count, Q

from ..scheduler import permissions
from ..scheduler.models import Device, TestJob, Worker
from ..scheduler.states import (
    DeviceHealth,
    DeviceState,
    JobHealth,
    JobState,
    WorkerHealth,
    WorkerState,
)

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
USABLE = (DeviceHealth.GOOD, DeviceHealth.UNKNOWN)
BUSY = (DeviceState.RESERVED, DeviceState.RUNNING)
ONLINE = Q(health__in=USABLE, worker_host__state=WorkerState.ONLINE)

HELP = {
    "devices_online": "Devices not retired whose health is Good or Unknown on an online worker.",
    "devices_not_retired": "Devices not retired.",
    "devices_running": "Devices reserved for or running a job.",
    "jobs_running": "Jobs running on a device.",
    "devices_health_check_total": "Devices not retired that have run a health check.",
    "devices_health_check_complete": "Devices whose last health check ended Complete.",
    "device_type": "Devices of each type by state (idle, busy, offline, maintenance), "
    "and the type's queued jobs (queue).",
    "workers_not_retired": "Workers not retired.",
    "workers_online": "Workers not retired that are online.",
    "workers_offline": "Workers not retired that are offline.",
    "workers_maintenance": "Workers in maintenance.",
    "workers_active": "Workers whose health is Active.",
}


def _devices() -> dict[str, int]:
    return Device.objects.exclude(health=DeviceHealth.RETIRED).aggregate(
        devices_online=Count("pk", filter=ONLINE),
        devices_not_retired=Count("pk"),
        devices_running=Count("pk", filter=Q(state__in=BUSY)),
        devices_health_check_total=Count("pk", filter=Q(last_health_report_job__isnull=False)),
        devices_health_check_complete=Count(
            "pk", filter=Q(last_health_report_job__health=JobHealth.COMPLETE)
        ),
    )


def _jobs_running() -> int:
    return TestJob.objects.filter(state=JobState.RUNNING, actual_device__isnull=False).count()


def _device_types(user: Any) -> list[dict[str, Any]]:
    """Per visible device type with devices not retired: its devices by state, its queue."""
    types = permissions.visible_device_types(user).values_list("pk", flat=True)
    rows = (
        Device.objects.exclude(health=DeviceHealth.RETIRED)
        .filter(device_type__in=types)
        .values("device_type")
        .annotate(
            idle=Count("pk", filter=ONLINE & Q(state=DeviceState.IDLE)),
            busy=Count("pk", filter=Q(state__in=BUSY)),
            offline=Count(
                "pk",
                filter=Q(state=DeviceState.IDLE)
                & ~Q(health=DeviceHealth.MAINTENANCE)
                & (Q(worker_host__state=WorkerState.OFFLINE) | ~Q(health__in=USABLE)),
            ),
            maintenance=Count("pk", filter=Q(health=DeviceHealth.MAINTENANCE)),
        )
        .order_by("device_type")
    )
    queued = dict(
        TestJob.objects.filter(state=JobState.SUBMITTED, requested_device_type__isnull=False)
        .values("requested_device_type")
        .annotate(n=Count("pk"))
        .values_list("requested_device_type", "n")
    )
    return [{**row, "queue": queued.get(row["device_type"], 0)} for row in rows]


def _workers() -> dict[str, int]:
    return Worker.objects.exclude(health=WorkerHealth.RETIRED).aggregate(
        workers_not_retired=Count("pk"),
        workers_online=Count("pk", filter=Q(state=WorkerState.ONLINE)),
        workers_offline=Count("pk", filter=Q(state=WorkerState.OFFLINE)),
        workers_maintenance=Count("pk", filter=Q(health=WorkerHealth.MAINTENANCE)),
        workers_active=Count("pk", filter=Q(health=WorkerHealth.ACTIVE)),
    )


def label(value: object) -> str:
    """A label value as the text format quotes it."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _family(name: str) -> Iterator[str]:
    yield f"# HELP {name} {HELP[name]}"
    yield f"# TYPE {name} gauge"


def _lines(user: Any) -> Iterator[str]:
    values = {**_devices(), "jobs_running": _jobs_running()}
    for name in (
        "devices_online",
        "devices_not_retired",
        "devices_running",
        "jobs_running",
        "devices_health_check_total",
        "devices_health_check_complete",
    ):
        yield from _family(name)
        yield f"{name} {values[name]}"
    yield from _family("device_type")
    for row in _device_types(user):
        for state in ("idle", "busy", "offline", "maintenance", "queue"):
            labels = f"name={label(row['device_type'])},state={label(state)}"
            yield f"device_type{{{labels}}} {row[state]}"
    for name, value in _workers().items():
        yield from _family(name)
        yield f"{name} {value}"


def exposition(user: Any) -> str:
    """The metrics as ``user`` (anonymous: public device types only) may see them."""
    return "\n".join(_lines(user)) + "\n"
