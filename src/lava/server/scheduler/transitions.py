"""Every change of a job's, device's or worker's state or health goes through here.

Each model has a table of allowed moves; a move outside it raises
``InvalidTransition`` and nothing is saved. Every move is logged with its
reason. Callers own the transaction (and the row locks) around these calls.
"""

from __future__ import annotations

import logging
import secrets
import sqlite3
from collections.abc import Sequence

from django.db import transaction
from django.db.models import Case, CharField, Value, When
from django.utils import timezone

from ..events import emit
from ..events.facts import UNKNOWN_JOB
from ..notifications import outbox
from .models import Device, HealthChange, TestJob, Worker
from .reasons import short
from .states import DeviceHealth, DeviceState, JobHealth, JobState, WorkerHealth, WorkerState

LOG = logging.getLogger("lava.server.scheduler")

# error types after which a device's health is no longer known (LAVA's rule)
INFRASTRUCTURE_ERRORS = frozenset({"Bug", "Configuration", "Infrastructure"})

# healths a health check's result replaces (Looping, Maintenance and Retired stay)
CHECKED_HEALTH = frozenset({DeviceHealth.GOOD, DeviceHealth.UNKNOWN, DeviceHealth.BAD})

# states a job can hang in when its worker lost it; Submitted jobs are canceled instead
STUCK_STATES = frozenset(
    {JobState.SCHEDULING, JobState.SCHEDULED, JobState.RUNNING, JobState.CANCELING}
)

JOB_MOVES: dict[int, frozenset[int]] = {
    JobState.SUBMITTED: frozenset({JobState.SCHEDULING, JobState.SCHEDULED, JobState.FINISHED}),
    JobState.SCHEDULING: frozenset({JobState.SCHEDULED, JobState.CANCELING, JobState.FINISHED}),
    JobState.SCHEDULED: frozenset({JobState.RUNNING, JobState.CANCELING, JobState.FINISHED}),
    JobState.RUNNING: frozenset({JobState.CANCELING, JobState.FINISHED}),
    JobState.CANCELING: frozenset({JobState.FINISHED}),
    JobState.FINISHED: frozenset(),
}

DEVICE_MOVES: dict[int, frozenset[int]] = {
    DeviceState.IDLE: frozenset({DeviceState.RESERVED}),
    DeviceState.RESERVED: frozenset({DeviceState.RUNNING, DeviceState.IDLE}),
    DeviceState.RUNNING: frozenset({DeviceState.IDLE}),
}


class InvalidTransition(ValueError):
    """A state change the tables above do not allow."""


class ConcurrentChange(RuntimeError):
    """A row changed under a bulk move: another process got there first; roll back, retry."""


def _label(enum: type, value: int) -> str:
    return str(enum(value).label)


def _check(kind: str, name: str, moves: dict[int, frozenset[int]], enum: type, old: int, new: int):
    if new not in moves[old]:
        raise InvalidTransition(
            f"{kind} {name}: cannot go from {_label(enum, old)} to {_label(enum, new)}"
        )


def _set(
    obj: Device | Worker,
    field: str,
    enum: type,
    new: int,
    reason: str,
    job: str | None = UNKNOWN_JOB,
) -> None:
    """Save one state/health field of a device or worker, logging the move and why.

    ``job``: the device's current job, when the caller knows it (UNKNOWN_JOB: look it up).
    """
    old = getattr(obj, field)
    if old == new:
        return
    what = "" if field == "state" else f"{field} "
    kind = type(obj).__name__.lower()
    LOG.info(
        "%s %s: %s%s -> %s (%s)", kind, obj.pk, what, _label(enum, old), _label(enum, new), reason
    )
    setattr(obj, field, new)
    obj.save(update_fields=[field])
    if isinstance(obj, Device):
        emit.device(obj, job)
    else:
        emit.worker(obj)
    if field == "health":
        _log_health(obj, enum, old, new, reason)


def _log_health(obj: Device | Worker, enum: type, old: int, new: int, reason: str) -> None:
    """One row of the device's or worker's health history (old may equal new: Looping)."""
    HealthChange.objects.create(
        kind=type(obj).__name__.lower(),
        name=obj.pk,
        old=_label(enum, old),
        new=_label(enum, new),
        reason=short(reason),
    )


def move_device_state(device: Device, new: int, reason: str, job: str | None = UNKNOWN_JOB) -> None:
    """Set a device's state (Idle/Reserved/Running) if the table allows it; save and log.

    ``job``: the display id of the device's job, when the caller knows it (UNKNOWN_JOB: look it up).
    """
    if device.state != new:
        _check("device", device.hostname, DEVICE_MOVES, DeviceState, device.state, new)
    _set(device, "state", DeviceState, new, reason, job)


def set_device_health(device: Device, new: int, reason: str) -> None:
    """Set a device's health; any value may follow any other (admins and health checks)."""
    _set(device, "health", DeviceHealth, new, reason)


def set_worker_state(worker: Worker, new: int, reason: str) -> None:
    """Online/Offline, from pings (or their absence)."""
    _set(worker, "state", WorkerState, new, reason)


def set_worker_health(worker: Worker, new: int, reason: str) -> None:
    """Active/Maintenance/Retired, set by admins; its devices follow, as in LAVA.

    Maintenance -> Active sets its Good devices Unknown (a health check before
    more jobs); Retired retires its devices. Bad and Retired devices keep
    their health. Call inside ``transaction.atomic()``: the devices are locked.
    """
    old = worker.health
    _set(worker, "health", WorkerHealth, new, reason)
    if old == new:
        return
    devices = Device.objects.filter(worker_host=worker).select_for_update().order_by("hostname")
    if new == WorkerHealth.ACTIVE and old == WorkerHealth.MAINTENANCE:
        devices = devices.filter(health=DeviceHealth.GOOD)
        health, going = DeviceHealth.UNKNOWN, "active"
    elif new == WorkerHealth.RETIRED:
        devices = devices.exclude(health__in=(DeviceHealth.BAD, DeviceHealth.RETIRED))
        health, going = DeviceHealth.RETIRED, "retired"
    else:
        return
    for device in devices:  # the worker's reason ends with who asked: it signs these too
        set_device_health(device, health, f"worker {worker.pk} going {going}: {reason}")


def _move_job(job: TestJob, new: int, reason: str) -> None:
    _check("job", str(job.id), JOB_MOVES, JobState, job.state, new)
    LOG.info(
        "job %s: %s -> %s (%s)",
        job.id,
        _label(JobState, job.state),
        _label(JobState, new),
        reason,
    )
    job.state = new


def new_job_token() -> str:
    """The 32-character secret a worker and lava-run present for one job (LAVA-Token)."""
    return secrets.token_hex(16)


def job_scheduled(job: TestJob, device: Device, reason: str = "assigned by the scheduler") -> None:
    """Submitted -> Scheduled on ``device``; the device becomes Reserved (jobs_scheduled of one)."""
    _check("job", str(job.id), JOB_MOVES, JobState, job.state, JobState.SCHEDULED)
    with transaction.atomic():
        jobs_scheduled([(job.id, device.hostname)], reason)
    job.refresh_from_db(fields=["state", "actual_device", "token"])
    device.refresh_from_db(fields=["state"])


# Rows per UPDATE in jobs_scheduled: few enough for any database's parameter limit.
BULK_BATCH = 1000


def _schedule_batch(batch: Sequence[tuple[int, str]]) -> int:
    """One UPDATE of Submitted jobs to Scheduled on their devices; the number of rows moved."""
    connection = transaction.get_connection()
    if connection.vendor == "sqlite" and sqlite3.sqlite_version_info < (3, 33):
        # no UPDATE ... FROM before SQLite 3.33: one CASE branch per job instead
        device_of = Case(
            *(When(id=job_id, then=Value(hostname)) for job_id, hostname in batch),
            output_field=CharField(),
        )
        token_of = Case(
            *(When(id=job_id, then=Value(new_job_token())) for job_id, _ in batch),
            output_field=CharField(),
        )
        ids = [job_id for job_id, _ in batch]
        return TestJob.objects.filter(id__in=ids, state=JobState.SUBMITTED).update(
            state=JobState.SCHEDULED, actual_device_id=device_of, token=token_of
        )
    # A join on the (job, device) pairs: Django's CASE costs ~0.2 ms per job to build.
    quote = connection.ops.quote_name
    meta = TestJob._meta
    table = quote(meta.db_table)
    state = quote(meta.get_field("state").column)
    device = quote(meta.get_field("actual_device").column)
    token = quote(meta.get_field("token").column)
    pk = quote(meta.pk.column)
    values = ", ".join(["(%s, %s, %s)"] * len(batch))
    if connection.vendor == "sqlite":  # SQLite names VALUES columns column1, column2...
        chosen = (
            "(SELECT column1 AS job_id, column2 AS hostname, column3 AS token "
            f"FROM (VALUES {values})) chosen"
        )
    else:
        chosen = f"(VALUES {values}) AS chosen (job_id, hostname, token)"
    # no WITH in front: the statement must start with UPDATE for sqlite3 to count its rows
    sql = (
        f"UPDATE {table} SET {state} = %s, {device} = chosen.hostname, {token} = chosen.token "
        f"FROM {chosen} WHERE {table}.{pk} = chosen.job_id AND {table}.{state} = %s"
    )
    params: list[object] = [int(JobState.SCHEDULED)]
    for job_id, hostname in batch:
        params += [job_id, hostname, new_job_token()]
    params.append(int(JobState.SUBMITTED))
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def jobs_scheduled(
    assignments: Sequence[tuple[int, str]], reason: str = "assigned by the scheduler"
) -> None:
    """Many job_scheduled() at once: jobs Submitted -> Scheduled, their devices Idle -> Reserved.

    ``assignments`` are (job id, device hostname) pairs, each job and device once.
    Compare-and-set: the UPDATEs only touch jobs still Submitted and devices
    still Idle; if a row count falls short, another process changed one of
    them and ``ConcurrentChange`` is raised. Call it inside ``transaction.atomic()``
    with the rows locked (or under SQLite's write lock), so that a short count
    rolls everything back.
    """
    if not assignments:
        return
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("jobs_scheduled() must run inside transaction.atomic()")
    _check("job", "(bulk)", JOB_MOVES, JobState, JobState.SUBMITTED, JobState.SCHEDULED)
    _check("device", "(bulk)", DEVICE_MOVES, DeviceState, DeviceState.IDLE, DeviceState.RESERVED)
    jobs = {job_id for job_id, _ in assignments}
    devices = {hostname for _, hostname in assignments}
    if len(jobs) != len(assignments) or len(devices) != len(assignments):
        raise ValueError("jobs_scheduled(): a job or a device appears twice")
    for start in range(0, len(assignments), BULK_BATCH):
        batch = assignments[start : start + BULK_BATCH]
        moved = _schedule_batch(batch)
        if moved != len(batch):
            raise ConcurrentChange(
                f"{len(batch) - moved} of {len(batch)} jobs were no longer Submitted"
            )
        hostnames = [hostname for _, hostname in batch]
        reserved = Device.objects.filter(hostname__in=hostnames, state=DeviceState.IDLE).update(
            state=DeviceState.RESERVED
        )
        if reserved != len(batch):
            raise ConcurrentChange(
                f"{len(batch) - reserved} of {len(batch)} devices were no longer Idle"
            )
    emit.scheduled(assignments)
    if LOG.isEnabledFor(logging.INFO):
        for job_id, hostname in assignments:
            LOG.info("job %s: Submitted -> Scheduled (%s, on %s)", job_id, reason, hostname)
            LOG.info("device %s: Idle -> Reserved (job %s scheduled)", hostname, job_id)


def job_running(job: TestJob, reason: str = "the worker started it") -> None:
    """Scheduled -> Running; the device becomes Running."""
    _move_job(job, JobState.RUNNING, reason)
    job.start_time = timezone.now()
    job.save(update_fields=["state", "start_time"])
    emit.job(job)
    outbox.job_changed(job)
    if job.actual_device is not None:
        move_device_state(
            job.actual_device, DeviceState.RUNNING, f"job {job.id} running", job.display_id
        )


def job_canceling(job: TestJob, reason: str) -> None:
    """Ask a job to stop: a queued job ends Canceled at once, a started one goes Canceling."""
    if job.state in (JobState.SUBMITTED,):
        job_finished(job, JobHealth.CANCELED, reason=reason)
        return
    if job.state == JobState.CANCELING:
        return
    _move_job(job, JobState.CANCELING, reason)
    job.save(update_fields=["state"])
    emit.job(job)


def job_finished(
    job: TestJob,
    health: int,
    *,
    reason: str,
    error_type: str = "",
    failure_comment: str | None = None,
) -> None:
    """End a job; free its device and set the device's health as LAVA does.

    A job that was Canceling always ends Canceled, whatever the worker reports;
    one that never left the queue starts when it ends (LAVA's start_time = end_time).
    A health check sets a Good, Unknown or Bad device Good or Bad; a Looping
    device stays Looping (a failed check is logged "Looping -> Looping"); one
    put in Maintenance or Retired meanwhile keeps that. After a Bug,
    Configuration or Infrastructure error any other job sets its device
    Unknown, whatever its health (Maintenance, Bad and Looping too), except
    Retired: LAVA would bring a retired device back that way, here retiring
    stays an admin's decision.
    """
    if job.state == JobState.CANCELING:
        health = JobHealth.CANCELED
    queued = job.state == JobState.SUBMITTED
    _move_job(job, JobState.FINISHED, reason)
    job.health = health
    job.end_time = timezone.now()
    fields = ["state", "health", "end_time", "error_type", "failure_comment"]
    if queued:
        job.start_time = job.end_time
        fields.append("start_time")
    if error_type:
        job.error_type = error_type
    if failure_comment:
        job.failure_comment = failure_comment
    job.save(update_fields=fields)
    emit.job(job)
    outbox.job_changed(job)
    device = job.actual_device
    if device is None:
        return
    if device.state != DeviceState.IDLE:
        move_device_state(device, DeviceState.IDLE, f"job {job.id} finished", None)
    if job.health_check:
        device.last_health_report_job = job
        device.save(update_fields=["last_health_report_job"])
        _health_check_ended(job, device, health)
    elif job.error_type in INFRASTRUCTURE_ERRORS and device.health != DeviceHealth.RETIRED:
        set_device_health(
            device, DeviceHealth.UNKNOWN, f"job {job.id} ended with a {job.error_type} error"
        )


def _health_check_ended(job: TestJob, device: Device, health: int) -> None:
    """The device's health after its health check ``job`` ended with ``health``."""
    if device.health == DeviceHealth.LOOPING:
        if health == JobHealth.INCOMPLETE:  # logged, and the loop goes on
            reason = f"Looping health check {job.id} failed"
            _log_health(device, DeviceHealth, device.health, device.health, reason)
        return
    if device.health not in CHECKED_HEALTH:  # set Maintenance or Retired during the check
        return
    if health == JobHealth.COMPLETE:
        set_device_health(device, DeviceHealth.GOOD, f"health check {job.id} complete")
    else:
        label = _label(JobHealth, health).lower()
        set_device_health(device, DeviceHealth.BAD, f"health check {job.id} {label}")


def lock_job(job: TestJob) -> TestJob:
    """The job's row and then its device's row, locked (the order every writer takes them in).

    Call inside ``transaction.atomic()``; the fresh job is returned.
    """
    locked = TestJob.objects.select_for_update().get(pk=job.pk)
    if locked.actual_device_id is not None:
        locked.actual_device = Device.objects.select_for_update().get(pk=locked.actual_device_id)
    return locked
