"""Matching queued jobs to free devices, in memory, in queue order.

``queued_jobs`` gives LAVA's order (health checks, then higher priority, then
earlier submission), which ``fair_share`` may reorder within a priority; in
that order, each job takes a free device of its requested type that
carries all of its tags, is the pinned device or on the requested worker if
it names them, sits on a worker under its job_limit, and that its submitter
may submit to. Among fitting devices a job takes one with the fewest tags, so
tagged devices stay free for the jobs that need them; ties are broken at
random so wear spreads over a type's devices, as LAVA does; a device that a
queued job is pinned to is the last choice of the others.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db import DatabaseError

from . import permissions
from .models import GroupDevicePermission, GroupDeviceTypePermission, TestJob
from .snapshot import IdleDevice
from .states import JobState


@dataclass(slots=True, frozen=True)
class QueuedJob:
    """The matching fields of a Submitted job."""

    id: int
    device_type: str
    device: str | None
    worker: str | None
    submitter: int
    tags: frozenset[int]
    priority: int = 0
    health_check: bool = False


def queued_jobs(device_types: Collection[str], exclude: Collection[int] = ()) -> list[QueuedJob]:
    """Submitted jobs for these device types, in the order they are served."""
    if not device_types:
        return []
    queued = TestJob.objects.filter(
        state=JobState.SUBMITTED, requested_device_type__in=list(device_types)
    )
    tags: dict[int, set[int]] = defaultdict(set)
    through = TestJob.tags.through.objects.filter(
        testjob__state=JobState.SUBMITTED, testjob__requested_device_type__in=list(device_types)
    )
    for job_id, tag in through.values_list("testjob_id", "tag_id"):
        tags[job_id].add(tag)
    rows = queued.order_by("-health_check", "-priority", "submit_time", "id").values_list(
        "id",
        "requested_device_type_id",
        "requested_device_id",
        "requested_worker_id",
        "submitter_id",
        "priority",
        "health_check",
    )
    empty: frozenset[int] = frozenset()
    return [
        QueuedJob(
            job_id,
            dt,
            device,
            worker,
            submitter,
            frozenset(tags[job_id]) if job_id in tags else empty,
            priority,
            health_check,
        )
        for job_id, dt, device, worker, submitter, priority, health_check in rows
        if job_id not in exclude
    ]


class SubmitRights:
    """Who may submit to which of the pass's devices: ``permissions.can_submit_to_device``, in bulk.

    A device with no permission rows on it or its type is open to every active
    user; for the others each submitter's rights come from one query of the
    permissions module, made the first time that submitter meets one.
    """

    def __init__(self, submitters: Iterable[int], devices: Collection[IdleDevice]) -> None:
        self._users = {u.pk: u for u in User.objects.filter(pk__in=set(submitters))}
        hostnames = [d.hostname for d in devices]
        types = {d.device_type for d in devices}
        restricted_types = set(
            GroupDeviceTypePermission.objects.filter(devicetype__in=types).values_list(
                "devicetype_id", flat=True
            )
        )
        self._restricted = set(
            GroupDevicePermission.objects.filter(device__in=hostnames).values_list(
                "device_id", flat=True
            )
        ) | {d.hostname for d in devices if d.device_type in restricted_types}
        self._granted: dict[int, set[str]] = {}

    def restricted(self, device: IdleDevice) -> bool:
        return device.hostname in self._restricted

    def allows(self, submitter: int, device: IdleDevice) -> bool:
        """Whether the submitter may submit to the device (the scheduler's only rights check)."""
        user = self._users.get(submitter)
        if user is None or not user.is_active:
            return False
        if user.is_superuser or device.hostname not in self._restricted:
            return True
        granted = self._granted.get(submitter)
        if granted is None:
            granted = set(
                permissions.submittable_devices(user)
                .filter(hostname__in=self._restricted)
                .values_list("hostname", flat=True)
            )
            self._granted[submitter] = granted
        return device.hostname in granted


class _Pool:
    """Free devices by type and tag set, taken one at a time."""

    def __init__(
        self, devices: Iterable[IdleDevice], capacity: dict[str, float], pinned: Collection[str]
    ) -> None:
        self.capacity = capacity
        self.by_host: dict[str, IdleDevice] = {}
        buckets: dict[str, dict[frozenset[int], list[IdleDevice]]] = defaultdict(dict)
        for device in devices:
            self.by_host[device.hostname] = device
            buckets[device.device_type].setdefault(device.tags, []).append(device)
        for by_tags in buckets.values():
            for members in by_tags.values():
                random.shuffle(members)
                # taken from the end: devices a queued job is pinned to go last
                members.sort(key=lambda d: d.hostname not in pinned)
        self.buckets = buckets
        self.free = {dt: sum(map(len, b.values())) for dt, b in buckets.items()}
        self.total = len(self.by_host)
        self.taken: set[str] = set()
        self._fitting: dict[tuple[str, frozenset[int]], list[list[IdleDevice]]] = {}

    def fitting(self, device_type: str, tags: frozenset[int]) -> list[list[IdleDevice]]:
        """The buckets of a type whose devices carry all ``tags``, fewest tags first."""
        key = (device_type, tags)
        found = self._fitting.get(key)
        if found is None:
            by_tags = self.buckets.get(device_type, {})
            found = [by_tags[t] for t in sorted(by_tags, key=len) if tags <= t]
            self._fitting[key] = found
        return found

    def usable(self, device: IdleDevice) -> bool:
        return device.hostname not in self.taken and self.capacity[device.worker] > 0

    def take(self, device: IdleDevice) -> None:
        self.taken.add(device.hostname)
        self.capacity[device.worker] -= 1
        self.free[device.device_type] -= 1
        self.total -= 1


def _pick(pool: _Pool, job: QueuedJob, rights: SubmitRights) -> IdleDevice | None:
    if job.device is not None:
        device = pool.by_host.get(job.device)
        if (
            device is None
            or device.device_type != job.device_type
            or not pool.usable(device)
            or not job.tags <= device.tags
            or (job.worker is not None and device.worker != job.worker)
            or not rights.allows(job.submitter, device)
        ):
            return None
        return device
    for bucket in pool.fitting(job.device_type, job.tags):
        index = len(bucket) - 1
        while index >= 0:
            device = bucket[index]
            if not pool.usable(device):  # taken, or its worker is full for this pass
                bucket.pop(index)
            elif (job.worker is None or device.worker == job.worker) and rights.allows(
                job.submitter, device
            ):
                bucket.pop(index)
                return device
            index -= 1
    return None


def match_jobs(
    jobs: Iterable[QueuedJob],
    devices: Iterable[IdleDevice],
    capacity: dict[str, float],
    rights: SubmitRights,
    unmatched: dict[int, str] | None = None,
) -> list[tuple[QueuedJob, IdleDevice]]:
    """Give each job, in order, a free fitting device; spends ``capacity``.

    A job whose matching raises is left out, the error put in ``unmatched``
    (when given) by job id: one job must not stop the others.
    """
    jobs = list(jobs)
    pool = _Pool(devices, capacity, {job.device for job in jobs if job.device is not None})
    pairs: list[tuple[QueuedJob, IdleDevice]] = []
    for job in jobs:
        if pool.total <= 0:
            break
        if pool.free.get(job.device_type, 0) <= 0:
            continue
        try:
            device = _pick(pool, job, rights)
        except DatabaseError:
            raise  # the database's, not the job's: the pass ends
        except Exception as exc:
            if unmatched is None:
                raise
            unmatched[job.id] = f"{type(exc).__name__}: {exc}"
            continue
        if device is not None:
            pool.take(device)
            pairs.append((job, device))
    return pairs
