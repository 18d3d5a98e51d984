"""What the device, device-type, worker and lab-health pages read: bounded, indexed queries.

Every list here has a fixed bound, and every job query starts from an index
(``actual_device`` first, or the queue's ``state`` first), so a page costs the
same with a thousand jobs as with a million. Visibility is the APIs': a
device or type the user may not see is treated as missing by the callers.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from lava.server.scheduler import permissions
from lava.server.scheduler.models import Device, DeviceType, HealthChange, TestJob
from lava.server.scheduler.states import DeviceHealth, DeviceState, JobState
from lava.server.services import Actor, Missing
from lava.server.web.jobtable import ROW_FIELDS

RECENT = 25  # jobs on a device or type page, as LAVA's default table length
HISTORY = 50  # health changes on a page
PAGE = 100  # devices per page of a device table
LONGEST_NAME = 200  # the hostname and device-type fields' length

# The device lists of LAVA's URL map: which healths each one shows.
DEVICE_LISTS: dict[str, tuple[str, Q]] = {
    "all": ("All devices", Q()),
    "active": ("Active devices", ~Q(health=DeviceHealth.RETIRED)),
    "online": ("Online devices", Q(health__in=(DeviceHealth.GOOD, DeviceHealth.UNKNOWN))),
    "passing": ("Devices passing health checks", Q(health=DeviceHealth.GOOD)),
    "maintenance": (
        "Devices in maintenance",
        Q(health__in=(DeviceHealth.MAINTENANCE, DeviceHealth.BAD, DeviceHealth.LOOPING)),
    ),
}
# every state but Finished, as a list: "state <> 5" cannot use the (device, state) index
UNFINISHED = [s for s in JobState.values if s != JobState.FINISHED]
# a job row of the device pages: the job tables' fields, and whether it is a health check
JOB_FIELDS = (*ROW_FIELDS, "health_check")


def plain_name(kind: str, text: str) -> str:
    """``text`` if it could name a ``kind``; Missing otherwise (a NUL byte or an overlong
    name names nothing, and must not reach the database)."""
    if not text or "\x00" in text or len(text) > LONGEST_NAME:
        raise Missing(f"{kind} {text[:80]!r} does not exist")
    return text


def device(actor: Actor, hostname: str) -> Device:
    """The device, if the actor may see it (a hidden one is Missing, as a missing one)."""
    plain_name("device", hostname)
    found = (
        permissions.visible_devices(actor.user)
        .select_related("device_type", "worker_host", "physical_owner", "physical_group")
        .filter(hostname=hostname)
        .first()
    )
    if found is None:
        raise Missing(f"device {hostname!r} does not exist")
    return found


def device_type(actor: Actor, name: str) -> DeviceType:
    """The device type, if the actor may see it (a hidden one is Missing too)."""
    plain_name("device type", name)
    found = permissions.visible_device_types(actor.user).filter(name=name).first()
    if found is None:
        raise Missing(f"device type {name!r} does not exist")
    return found


def _last_end() -> Subquery:
    """The end time of a device's newest finished job: one probe of the device's jobs."""
    newest = TestJob.objects.filter(actual_device=OuterRef("pk"), state=JobState.FINISHED)
    return Subquery(newest.order_by("-id").values("end_time")[:1])


def device_rows(devices: QuerySet[Device], after: str = "") -> tuple[list[Device], str]:
    """One page of ``devices`` in hostname order after ``after``, and the next page's key."""
    page = (
        devices.filter(hostname__gt=after)
        .prefetch_related("tags")
        .annotate(last_end=_last_end())
        .order_by("hostname")[: PAGE + 1]
    )
    rows = list(page)
    more = len(rows) > PAGE
    rows = rows[:PAGE]
    return rows, (rows[-1].hostname if more else "")


def device_list(actor: Actor, which: str) -> QuerySet[Device]:
    """The devices of one of LAVA's device lists that the actor may see."""
    return permissions.visible_devices(actor.user).filter(DEVICE_LISTS[which][1])


def my_devices(actor: Actor) -> QuerySet[Device]:
    """Devices the signed-in user physically owns, themselves or through a group."""
    user = actor.user
    if user is None or not user.is_authenticated:
        return Device.objects.none()
    mine = Q(physical_owner=user) | Q(physical_group__in=user.groups.all())
    return permissions.visible_devices(user).filter(mine)


def _jobs(actor: Actor) -> QuerySet[TestJob]:
    return permissions.visible_jobs(actor.user).select_related("submitter").only(*JOB_FIELDS)


def device_jobs(
    actor: Actor, hostname: str, health_checks: bool = False
) -> tuple[list[TestJob], list[TestJob]]:
    """The device's unfinished jobs, and its newest jobs (those first, then finished ones),
    that the actor may see; each read is a prefix of the (device, state, -id) index."""
    visible = _jobs(actor).filter(actual_device_id=hostname)
    if health_checks:
        visible = visible.filter(health_check=True)
    current = list(visible.filter(state__in=UNFINISHED).order_by("-id")[:5])
    finished = visible.filter(state=JobState.FINISHED).order_by("-id")[:RECENT]
    return current, (current + list(finished))[:RECENT]


def recent_type_jobs(actor: Actor, name: str) -> list[TestJob]:
    """The newest jobs asking for the device type, that the actor may see."""
    jobs = _jobs(actor).filter(requested_device_type_id=name)
    return list(jobs.order_by("-id")[:RECENT])


def history(kind: str, names: Iterable[str], limit: int = HISTORY) -> list[HealthChange]:
    """The newest health changes of these devices or workers (index: kind, name, -time)."""
    wanted = list(names)
    if not wanted:
        return []
    rows = HealthChange.objects.filter(kind=kind, name__in=wanted)
    return list(rows.order_by("-time", "-id")[:limit])


def type_summary(actor: Actor) -> list[dict[str, Any]]:
    """Per visible device type: its visible devices by state and health, and its queue."""
    types = list(permissions.visible_device_types(actor.user).order_by("name"))
    counts: dict[str, dict[str, int]] = {t.name: {} for t in types}
    devices = permissions.visible_devices(actor.user).values("device_type", "state", "health")
    for row in devices.annotate(n=Count("pk")):
        bucket = counts.setdefault(row["device_type"], {})
        for key in _buckets(row["state"], row["health"]):
            bucket[key] = bucket.get(key, 0) + row["n"]
    queued = (
        TestJob.objects.filter(state=JobState.SUBMITTED, requested_device_type__in=counts)
        .values("requested_device_type")
        .annotate(n=Count("pk"))
    )
    queue = {row["requested_device_type"]: row["n"] for row in queued}
    return [{"type": t, "queue": queue.get(t.name, 0), **counts[t.name]} for t in types]


def _buckets(state: int, health: int) -> tuple[str, ...]:
    """The device-type table's columns a device counts in."""
    if health == DeviceHealth.RETIRED:
        return ("retired",)
    if health in (DeviceHealth.MAINTENANCE, DeviceHealth.BAD, DeviceHealth.LOOPING):
        return ("devices", "offline")
    if state == DeviceState.IDLE:
        return ("devices", "idle")
    return ("devices", "busy")
