"""The events of jobs, devices, workers and test cases, with LAVA's fields, read from the rows.

Built inside the transaction that changed the rows, so each event says what
that transaction wrote, whatever commits after it. Field names and values
are LAVA's (``lava_scheduler_app/signals.py``): states and healths by their
labels, a job by its integer id in ``.testjob`` and by its display id in
``.device``, times in ISO 8601.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import Any

from django.contrib.auth.models import User

from ..results.models import TestCase
from ..scheduler.models import Device, TestJob, Worker
from ..scheduler.states import (
    DeviceHealth,
    DeviceState,
    JobHealth,
    JobState,
    Visibility,
    WorkerHealth,
    WorkerState,
)
from .messages import DEVICE, EVENT, SERVER_USER, TESTCASE, TESTJOB, WORKER, Event, Scope, now

JOB_FIELDS = (
    "id",
    "sub_id",
    "description",
    "priority",
    "submit_time",
    "start_time",
    "end_time",
    "state",
    "health",
    "health_check",
    "visibility",
    "submitter_id",
    "submitter__username",
    "requested_device_type_id",
    "actual_device_id",
    "actual_device__device_type_id",
    "actual_device__worker_host_id",
)
DEVICE_FIELDS = ("actual_device__state", "actual_device__health")
BATCH = 1000  # ids a query: far under any database's parameter limit
# labels by value, read once: thousands of events a scheduler pass
LABELS = {
    enum: {int(member): str(member.label) for member in enum}
    for enum in (DeviceHealth, DeviceState, JobHealth, JobState, WorkerHealth, WorkerState)
}


def _label(enum: type, value: int) -> str:
    return LABELS[enum][value]


def _groups(rows: list[dict[str, Any]]) -> dict[int, list[int]]:
    """The viewing groups of the group-only jobs among ``rows``."""
    ids = [row["id"] for row in rows if row["visibility"] == Visibility.GROUP]
    found: dict[int, list[int]] = {job_id: [] for job_id in ids}
    if ids:
        through = TestJob.viewing_groups.through.objects.filter(testjob_id__in=ids)
        for job_id, group_id in through.values_list("testjob_id", "group_id"):
            found[job_id].append(group_id)
    return found


def _rows(ids: Sequence[int], fields: tuple[str, ...] = JOB_FIELDS) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        rows += TestJob.objects.filter(id__in=chunk).order_by("id").values(*fields)
    groups = _groups(rows)
    for row in rows:
        row["groups"] = groups.get(row["id"], [])
    return rows


def _job_scope(row: dict[str, Any]) -> Scope:
    types = (row["requested_device_type_id"], row["actual_device__device_type_id"])
    return Scope(
        types=tuple(sorted({t for t in types if t})),
        devices=(row["actual_device_id"],) if row["actual_device_id"] else (),
        job=True,
        public=row["visibility"] == Visibility.PUBLIC,
        groups=tuple(row["groups"]),
        submitter=row["submitter_id"],
    )


def _job_data(row: dict[str, Any]) -> dict[str, Any]:
    """LAVA's ``.testjob`` fields, in LAVA's order."""
    data: dict[str, Any] = {
        "health": _label(JobHealth, row["health"]),
        "state": _label(JobState, row["state"]),
        "job": row["id"],
        "description": row["description"],
        "priority": row["priority"],
        "submit_time": row["submit_time"].isoformat(),
        "submitter": row["submitter__username"],
        "health_check": row["health_check"],
    }
    if row["sub_id"]:
        data["sub_id"] = row["sub_id"]
    if row["actual_device_id"]:
        data["device"] = row["actual_device_id"]
        if row["actual_device__worker_host_id"]:
            data["worker"] = row["actual_device__worker_host_id"]
    if row["requested_device_type_id"]:
        data["device_type"] = row["requested_device_type_id"]
    if row["start_time"]:
        data["start_time"] = row["start_time"].isoformat()
    if row["end_time"]:
        data["end_time"] = row["end_time"].isoformat()
    return data


def _job_event(row: dict[str, Any], dt: str) -> Event:
    return Event(TESTJOB, row["submitter__username"], _job_data(row), _job_scope(row), dt)


def job_events(ids: Sequence[int]) -> list[Event]:
    """A ``.testjob`` event for each job, as it is now in this transaction."""
    dt = now()
    return [_job_event(row, dt) for row in _rows(list(ids))]


def job_event(job: TestJob) -> Event:
    """The ``.testjob`` event of a job whose row this transaction holds (no query for it).

    A transition has just loaded and saved the job and its device: the same
    fields as `job_events` reads, taken from them.
    """
    row = {name: _held(job, name) for name in JOB_FIELDS}
    row["groups"] = _groups([row]).get(job.id, [])
    return _job_event(row, now())


def _held(job: TestJob, name: str) -> Any:
    """A `JOB_FIELDS` value from the objects in hand (``actual_device__worker_host_id``
    follows the job's device; the submitter's name comes from `_username`)."""
    if name == "submitter__username":
        return _username(job.submitter_id)
    value: Any = job
    for part in name.split("__"):
        if value is None:  # no device yet
            return None
        value = getattr(value, part)
    return value


_USERNAMES: dict[int, tuple[float, str]] = {}
USERNAME_SECONDS = 60.0  # a renamed user shows under the new name within a minute


def _username(user_id: int) -> str:
    """A submitter's username, read at most once a minute: every job change names it."""
    found = _USERNAMES.get(user_id)
    moment = time.monotonic()
    if found is not None and moment - found[0] < USERNAME_SECONDS:
        return found[1]
    name = str(User.objects.filter(id=user_id).values_list("username", flat=True).first() or "")
    if len(_USERNAMES) > 10_000:
        _USERNAMES.clear()
    _USERNAMES[user_id] = (moment, name)
    return name


def job_scope(job_id: int) -> Scope | None:
    """Who may see the events of this job's log (its test cases, its test events)."""
    rows = _rows([job_id])
    return _job_scope(rows[0]) if rows else None


def _device_event(
    hostname: str,
    device_type: str,
    worker: str | None,
    state: int,
    health: int,
    job: str | None,
    dt: str | None = None,
) -> Event:
    data: dict[str, Any] = {
        "health": _label(DeviceHealth, health),
        "state": _label(DeviceState, state),
        "device": hostname,
        "device_type": device_type,
        "worker": worker,
    }
    if job is not None:
        data["job"] = job
    scope = Scope(types=(device_type,), devices=(hostname,))
    return Event(DEVICE, SERVER_USER, data, scope, dt or now())


def current_job(device: Device) -> str | None:
    """The display id of the job on ``device`` (LAVA's ``current_job``), None when Idle."""
    if device.state == DeviceState.IDLE:
        return None
    found = (
        TestJob.objects.filter(actual_device_id=device.pk)
        .exclude(state=JobState.FINISHED)
        .order_by("-id")
        .values_list("id", "sub_id")
        .first()
    )
    return None if found is None else found[1] or str(found[0])


UNKNOWN_JOB = "?"  # `device_event`'s default: look the device's job up


def device_event(device: Device, job: str | None = UNKNOWN_JOB) -> Event:
    """The ``.device`` event of ``device`` as it is now; ``job``: its current job's display
    id when the caller knows it (None: no job)."""
    return _device_event(
        device.hostname,
        device.device_type_id,
        device.worker_host_id,
        device.state,
        device.health,
        current_job(device) if job == UNKNOWN_JOB else job,
    )


def worker_event(worker: Worker) -> Event:
    """The ``.worker`` event of ``worker``: everyone may see workers, as in LAVA."""
    data = {
        "hostname": worker.hostname,
        "health": _label(WorkerHealth, worker.health),
        "state": _label(WorkerState, worker.state),
    }
    return Event(WORKER, SERVER_USER, data)


def scheduled_events(assignments: Sequence[tuple[int, str]]) -> list[Event]:
    """Jobs just Scheduled and their devices just Reserved: each job's event, then its device's
    (one query: the device's facts come with the job's)."""
    events = []
    dt = now()  # one moment: the commit that makes them all
    for row in _rows([job_id for job_id, _ in assignments], JOB_FIELDS + DEVICE_FIELDS):
        if not row["actual_device_id"]:
            continue
        job = _job_event(row, dt)
        events.append(job)
        events.append(
            _device_event(
                row["actual_device_id"],
                row["actual_device__device_type_id"],
                row["actual_device__worker_host_id"],
                row["actual_device__state"],
                row["actual_device__health"],
                row["sub_id"] or str(row["id"]),
                dt,
            )
        )
    return events


def testcase_events(job_id: int, scope: Scope, cases: Iterable[TestCase]) -> list[Event]:
    """A ``.testcase`` event for each new result row (ours: LAVA publishes none)."""
    events = []
    dt = now()
    for case in cases:
        data: dict[str, Any] = {
            "job": job_id,
            "suite": case.suite.name,
            "name": case.name,
            "result": case.get_result_display(),
        }
        if case.test_set is not None:
            data["set"] = case.test_set.name
        if case.measurement is not None:
            data["measurement"] = str(case.measurement)
            data["unit"] = case.units
        events.append(Event(TESTCASE, SERVER_USER, data, scope, dt))
    return events


def log_events(job_id: int, scope: Scope, messages: Iterable[Any]) -> list[Event]:
    """LAVA's ``.event`` for each ``lava-test-event`` line of the job's log."""
    return [Event(EVENT, SERVER_USER, {"message": m, "job": job_id}, scope) for m in messages]
