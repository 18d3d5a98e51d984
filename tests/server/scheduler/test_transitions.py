"""The state machines, tested as tables."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from lava.server.scheduler import transitions
from lava.server.scheduler.models import Device, TestJob
from lava.server.scheduler.states import DeviceHealth, DeviceState, JobHealth, JobState
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
