"""The state machines, tested as tables."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from lava.server.scheduler import transitions
from lava.server.scheduler.models import Device, HealthChange, TestJob, Worker
from lava.server.scheduler.states import (
    DeviceHealth,
    DeviceState,
    JobHealth,
    JobState,
    WorkerHealth,
)
from lava.server.scheduler.transitions import InvalidTransition


def make_job(user: User, state: int = JobState.SUBMITTED, **kwargs) -> TestJob:
    return TestJob.objects.create(submitter=user, definition="job_name: t\n", state=state, **kwargs)


ALL_STATES = list(JobState)


@pytest.mark.parametrize("old", ALL_STATES)
@pytest.mark.parametrize("new", ALL_STATES)
def test_job_move_table(old: int, new: int) -> None:
    allowed = new in transitions.JOB_MOVES[old]
    job = TestJob(id=1, state=old)
    if allowed:
        transitions._move_job(job, new, "test")
        assert job.state == new
    else:
        with pytest.raises(InvalidTransition, match="cannot go from"):
            transitions._move_job(job, new, "test")
        assert job.state == old


@pytest.mark.parametrize("old", list(DeviceState))
@pytest.mark.parametrize("new", list(DeviceState))
def test_device_state_table(old: int, new: int) -> None:
    device = Device(hostname="d", state=old)
    device.save = lambda **kwargs: None  # a table test: no database here
    allowed = old == new or new in transitions.DEVICE_MOVES[old]
    if allowed:
        transitions.move_device_state(device, new, "test")
        assert device.state == new
    else:
        with pytest.raises(InvalidTransition):
            transitions.move_device_state(device, new, "test")


def test_schedule_run_finish_frees_the_device(lab, users) -> None:
    device = Device.objects.get(hostname="qemu-01")
    job = make_job(users["owner"], requested_device_type=lab.device_type)
    transitions.job_scheduled(job, device)
    device.refresh_from_db()
    assert (job.state, device.state) == (JobState.SCHEDULED, DeviceState.RESERVED)
    transitions.job_running(job)
    device.refresh_from_db()
    assert device.state == DeviceState.RUNNING and job.start_time is not None
    transitions.job_finished(job, JobHealth.COMPLETE, reason="lava-run passed")
    job.refresh_from_db()
    device.refresh_from_db()
    assert (job.state, job.health) == (JobState.FINISHED, JobHealth.COMPLETE)
    assert (device.state, device.health) == (DeviceState.IDLE, DeviceHealth.GOOD)


@pytest.mark.parametrize(
    ("job_health", "device_health"),
    [
        (JobHealth.COMPLETE, DeviceHealth.GOOD),
        (JobHealth.INCOMPLETE, DeviceHealth.BAD),
        (JobHealth.CANCELED, DeviceHealth.BAD),
    ],
)
def test_health_check_sets_device_health(lab, users, job_health, device_health) -> None:
    device = Device.objects.get(hostname="qemu-01")
    device.health = DeviceHealth.UNKNOWN
    device.save()
    job = make_job(users["admin"], health_check=True, requested_device=device)
    transitions.job_scheduled(job, device)
    transitions.job_running(job)
    transitions.job_finished(job, job_health, reason="test")
    device.refresh_from_db()
    assert device.health == device_health
    assert device.last_health_report_job_id == job.id


def test_infrastructure_error_makes_device_health_unknown(lab, users) -> None:
    device = Device.objects.get(hostname="qemu-01")
    job = make_job(users["owner"])
    transitions.job_scheduled(job, device)
    transitions.job_running(job)
    transitions.job_finished(job, JobHealth.INCOMPLETE, reason="test", error_type="Infrastructure")
    device.refresh_from_db()
    assert device.health == DeviceHealth.UNKNOWN


def test_job_error_leaves_device_health_alone(lab, users) -> None:
    device = Device.objects.get(hostname="qemu-01")
    job = make_job(users["owner"])
    transitions.job_scheduled(job, device)
    transitions.job_finished(job, JobHealth.INCOMPLETE, reason="test", error_type="Job")
    device.refresh_from_db()
    assert (device.health, device.state) == (DeviceHealth.GOOD, DeviceState.IDLE)


def test_cancel_queued_job_finishes_it_at_once(users) -> None:
    job = make_job(users["owner"])
    transitions.job_canceling(job, "asked by owner")
    job.refresh_from_db()
    assert (job.state, job.health) == (JobState.FINISHED, JobHealth.CANCELED)


def test_canceling_job_always_ends_canceled(lab, users) -> None:
    device = Device.objects.get(hostname="qemu-01")
    job = make_job(users["owner"])
    transitions.job_scheduled(job, device)
    transitions.job_running(job)
    transitions.job_canceling(job, "asked by owner")
    assert job.state == JobState.CANCELING
    transitions.job_finished(job, JobHealth.COMPLETE, reason="worker reports pass")
    job.refresh_from_db()
    assert job.health == JobHealth.CANCELED


def test_finished_job_cannot_run_again(users) -> None:
    job = make_job(users["owner"], state=JobState.FINISHED)
    with pytest.raises(InvalidTransition):
        transitions.job_running(job)
    job.refresh_from_db()
    assert job.start_time is None


def changes(hostname: str) -> list[tuple[str, str, str]]:
    rows = HealthChange.objects.filter(kind="device", name=hostname).order_by("id")
    return [(row.old, row.new, row.reason) for row in rows]


@pytest.mark.parametrize(
    ("before", "after"),
    [
        (DeviceHealth.GOOD, DeviceHealth.UNKNOWN),
        (DeviceHealth.MAINTENANCE, DeviceHealth.UNKNOWN),
        (DeviceHealth.BAD, DeviceHealth.UNKNOWN),
        (DeviceHealth.LOOPING, DeviceHealth.UNKNOWN),
        (DeviceHealth.RETIRED, DeviceHealth.RETIRED),  # retiring stays an admin's decision
    ],
)
@pytest.mark.parametrize("error", ["Bug", "Configuration", "Infrastructure"])
def test_an_infrastructure_error_makes_any_health_unknown(lab, users, before, after, error) -> None:
    device = Device.objects.get(hostname="qemu-01")
    device.health = before
    device.save()
    job = make_job(users["owner"])
    transitions.job_scheduled(job, device)
    transitions.job_running(job)
    transitions.job_finished(job, JobHealth.INCOMPLETE, reason="test", error_type=error)
    device.refresh_from_db()
    assert device.health == after
    if before != after:
        label = DeviceHealth(before).label
        assert changes("qemu-01") == [
            (label, "Unknown", f"job {job.id} ended with a {error} error")
        ]


@pytest.mark.parametrize(
    ("job_health", "logged"),
    [
        (JobHealth.COMPLETE, []),
        (JobHealth.INCOMPLETE, [("Looping", "Looping", "Looping health check {id} failed")]),
        (JobHealth.CANCELED, []),
    ],
)
def test_a_looping_device_stays_looping(lab, users, job_health, logged) -> None:
    device = Device.objects.get(hostname="qemu-01")
    transitions.set_device_health(device, DeviceHealth.LOOPING, "soak test")
    HealthChange.objects.all().delete()
    job = make_job(users["admin"], health_check=True, requested_device=device)
    transitions.job_scheduled(job, device)
    transitions.job_running(job)
    transitions.job_finished(job, job_health, reason="test")
    device.refresh_from_db()
    assert device.health == DeviceHealth.LOOPING and device.last_health_report_job_id == job.id
    assert changes("qemu-01") == [(o, n, r.format(id=job.id)) for o, n, r in logged]


@pytest.mark.parametrize("during", [DeviceHealth.MAINTENANCE, DeviceHealth.RETIRED])
@pytest.mark.parametrize("job_health", [JobHealth.COMPLETE, JobHealth.INCOMPLETE])
def test_a_health_check_leaves_a_device_set_aside_meanwhile(lab, users, during, job_health) -> None:
    device = Device.objects.get(hostname="qemu-01")
    job = make_job(users["admin"], health_check=True, requested_device=device)
    transitions.job_scheduled(job, device)
    transitions.job_running(job)
    Device.objects.filter(hostname="qemu-01").update(health=during)  # an admin, meanwhile
    transitions.job_finished(TestJob.objects.get(pk=job.pk), job_health, reason="test")
    device.refresh_from_db()
    assert device.health == during and device.last_health_report_job_id == job.id
    assert changes("qemu-01") == []


def test_a_job_ended_in_the_queue_starts_when_it_ends(users) -> None:
    job = make_job(users["owner"])
    transitions.job_canceling(job, "asked by owner")
    job.refresh_from_db()
    assert job.start_time is not None and job.start_time == job.end_time


@pytest.mark.parametrize(
    ("old", "new", "healths"),
    [
        # back from Maintenance: Good devices need a health check; the rest keep their health
        (WorkerHealth.MAINTENANCE, WorkerHealth.ACTIVE, ["Unknown", "Bad", "Maintenance"]),
        (WorkerHealth.RETIRED, WorkerHealth.ACTIVE, ["Good", "Bad", "Maintenance"]),
        (WorkerHealth.ACTIVE, WorkerHealth.MAINTENANCE, ["Good", "Bad", "Maintenance"]),
        # retired with its worker, but a Bad device stays Bad
        (WorkerHealth.ACTIVE, WorkerHealth.RETIRED, ["Retired", "Bad", "Retired"]),
        (WorkerHealth.MAINTENANCE, WorkerHealth.RETIRED, ["Retired", "Bad", "Retired"]),
    ],
)
def test_devices_follow_their_worker(lab, old, new, healths) -> None:
    Device.objects.filter(hostname="qemu-02").update(health=DeviceHealth.BAD)
    lab.device("qemu-03", health=DeviceHealth.MAINTENANCE)
    worker = Worker.objects.get(hostname="worker-01")
    worker.health = old
    worker.save()
    transitions.set_worker_health(worker, new, "moved (by admin over REST)")
    got = Device.objects.order_by("hostname").values_list("health", flat=True)
    assert [DeviceHealth(h).label for h in got] == healths
    going = "active" if new == WorkerHealth.ACTIVE else "retired"
    for row in HealthChange.objects.filter(kind="device"):
        assert row.reason == f"worker worker-01 going {going}: moved (by admin over REST)"
