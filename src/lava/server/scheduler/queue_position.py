"""Why a queued job is not running yet, in a sentence or two, for its page and the API.

The reason follows the scheduler's own rules (``snapshot``, ``matching``,
``fair_share``): first whether any device could take the job at all (type,
pinned device, worker, tags, health, worker state, submit rights), then where
it stands in the queue of its device type, in the order the scheduler serves
it. Other submitters are counted, never named.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from django.conf import settings

from . import permissions
from .fair_share import fair_order, fair_share_on, load_shares
from .matching import QueuedJob, queued_jobs
from .models import Device, DeviceType, TestJob
from .snapshot import JOB_HEALTH, worker_capacity
from .states import DeviceHealth, DeviceState, JobState, WorkerHealth, WorkerState


@dataclass(frozen=True)
class _Device:
    hostname: str
    state: int
    health: int
    worker: str | None
    worker_state: int | None
    worker_health: int | None
    tags: frozenset[int]

    def problem(self) -> str | None:
        """Why the device cannot take a user job whatever is queued; None when it can."""
        if self.health not in JOB_HEALTH:
            return DeviceHealth(self.health).label
        if self.worker is None:
            return "on no worker"
        if self.worker_health != WorkerHealth.ACTIVE:
            return f"worker {WorkerHealth(self.worker_health).label}"
        if self.worker_state != WorkerState.ONLINE:
            return "worker Offline"
        return None


def _devices(device_type: str) -> list[_Device]:
    tags: dict[str, set[int]] = {}
    through = Device.tags.through.objects.filter(device__device_type=device_type)
    for hostname, tag in through.values_list("device_id", "tag_id"):
        tags.setdefault(hostname, set()).add(tag)
    rows = Device.objects.filter(device_type=device_type).values_list(
        "hostname", "state", "health", "worker_host_id", "worker_host__state", "worker_host__health"
    )
    return [_Device(*row, frozenset(tags.get(row[0], ()))) for row in rows.order_by("hostname")]


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}" if n == 1 else f"{n:,} {word}s"


def _unusable(job: TestJob, devices: list[_Device]) -> str | None:
    """Why no device can take the job whatever else is queued; None when some can."""
    device_type = job.requested_device_type_id
    if not DeviceType.objects.filter(name=device_type, display=True).exists():
        return f"device type {device_type} is hidden (display off): the scheduler skips it"
    if not devices:
        return f"no device of type {device_type} exists"
    pinned = job.requested_device_id
    if pinned is not None:
        devices = [d for d in devices if d.hostname == pinned]
        if not devices:
            return f"the device it asks for, {pinned}, is not a device of type {device_type}"
    # the subject of each sentence: the one device the job asks for, or those of its type
    none = f"the device it asks for, {pinned}," if pinned else f"no device of type {device_type}"
    if job.requested_worker_id is not None:
        devices = [d for d in devices if d.worker == job.requested_worker_id]
        if not devices:
            verb = "is not" if pinned else "is"
            return f"{none} {verb} on worker {job.requested_worker_id}, which it asks for"
    wanted = frozenset(job.tags.values_list("id", flat=True))
    fitting = [d for d in devices if wanted <= d.tags]
    if not fitting:
        names = ", ".join(sorted(job.tags.values_list("name", flat=True)))
        return f"{none} {'lacks some of' if pinned else 'has all'} its tags ({names})"
    problems = Counter(p for p in (d.problem() for d in fitting) if p is not None)
    if sum(problems.values()) == len(fitting):
        listed = ", ".join(f"{n} {p}" for p, n in sorted(problems.items()))
        if pinned:
            return f"{none} cannot run jobs now: {next(iter(problems))}"
        return f"{none} that fits it can run jobs now: {listed}"
    usable = [d.hostname for d in fitting if d.problem() is None]
    allowed = permissions.submittable_devices(job.submitter).filter(hostname__in=usable)
    if not allowed.exists():
        where = pinned or f"the devices of type {device_type} that fit it"
        return f"its submitter may not submit to {where}"
    return None


def _free(job: TestJob, devices: list[_Device]) -> tuple[int, int]:
    """How many devices fit the job and could take a job, and how many of them are free now."""
    wanted = frozenset(job.tags.values_list("id", flat=True))
    fitting = [
        d
        for d in devices
        if wanted <= d.tags
        and d.problem() is None
        and job.requested_device_id in (None, d.hostname)
        and job.requested_worker_id in (None, d.worker)
    ]
    capacity = worker_capacity()
    free = [d for d in fitting if d.state == DeviceState.IDLE and capacity.get(d.worker, 0) > 0]
    return len(fitting), len(free)


def _position(job: TestJob) -> str:
    """Where the job stands among its type's queued jobs, and why there."""
    queued = queued_jobs([job.requested_device_type_id])
    lava_index = {q.id: n for n, q in enumerate(queued)}
    if job.id not in lava_index:
        return "It is being scheduled."
    shares = None
    order: list[QueuedJob] = queued
    if fair_share_on():
        weights = settings.LAVA.fair_share_weights
        shares = load_shares([job.requested_device_type_id], {q.submitter for q in queued}, weights)
        order = fair_order(queued, shares)
    ahead = order[: [q.id for q in order].index(job.id)]
    first = {q.id for q in ahead if q.health_check or q.priority > job.priority}
    name = "fair-share order" if shares is not None else "LAVA's order (priority, submit time)"
    text = (
        f"Ahead of it in {name}: {_plural(len(ahead), 'job')} of its device type "
        f"({len(first):,} of higher priority or health checks)."
    )
    later = [q for q in ahead if q.id not in first and lava_index[q.id] > lava_index[job.id]]
    if shares is not None and later:
        share = shares.share(job.submitter_id)
        busy = shares.busy.get((job.requested_device_type_id, share), 0)
        weight = f" (weight {shares.weight(share):g})" if share in shares.weights else ""
        text += (
            f" Waiting for its submitter's turn: {share}{weight} holds "
            f"{_plural(busy, 'device')} of this type, so {_plural(len(later), 'job')} "
            f"submitted later by others {'goes' if len(later) == 1 else 'go'} first."
        )
    return text


def _busy(job: TestJob, fitting: int) -> str:
    if job.requested_device_id is not None:
        return f"The device it asks for ({job.requested_device_id}) is busy."
    if fitting == 1:
        return "The one device that fits it is busy."
    return f"All {fitting:,} devices that fit it are busy."


def queue_reason(job: TestJob) -> str | None:
    """Why a Submitted job is not running yet; None for a job in any other state."""
    if job.state != JobState.SUBMITTED:
        return None
    devices = _devices(job.requested_device_type_id)
    blocked = _unusable(job, devices)
    if blocked is not None:
        return blocked[0].upper() + blocked[1:] + "."
    fitting, free = _free(job, devices)
    if free and job.requested_device_id is not None:
        now = (
            f"The device it asks for ({job.requested_device_id}) is free: it should start "
            f"at the next scheduler pass unless a job ahead takes it."
        )
    elif free:
        now = (
            f"{free:,} of the {_plural(fitting, 'device')} that fit it "
            f"{'is' if free == 1 else 'are'} free: it should start at the next scheduler "
            f"pass unless jobs ahead take {'it' if free == 1 else 'them'}."
        )
    else:
        now = _busy(job, fitting)
    return f"{now} {_position(job)}"
