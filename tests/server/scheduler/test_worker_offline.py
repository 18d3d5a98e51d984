"""A worker that stops pinging: Offline after the timeout, its jobs ended after the grace period."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.utils import timezone

from lava.common import log
from lava.server.logs.store import log_store
from lava.server.scheduler import scheduling, transitions
from lava.server.scheduler.internal import services
from lava.server.scheduler.models import Device, TestJob, Worker
from lava.server.scheduler.scheduling import end_jobs_of_silent_workers, schedule_pass
from lava.server.scheduler.states import DeviceHealth, DeviceState, JobHealth, JobState, WorkerState

DEFINITION = "job_name: queued\ndevice_type: qemu\n"
OFFLINE, GRACE = 60, 300


@pytest.fixture(autouse=True)
def _short_settings(settings, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(settings.LAVA, "data_dir", tmp_path / "data")
    monkeypatch.setattr(settings.LAVA, "worker_offline_timeout", OFFLINE)
    monkeypatch.setattr(settings.LAVA, "worker_grace_period", GRACE)


def running(lab, users, *, started: bool = True, health_check: bool = False) -> TestJob:
    job = TestJob.objects.create(
        submitter=users["owner"],
        requested_device_type=lab.device_type,
        definition=DEFINITION,
        health_check=health_check,
    )
    transitions.job_scheduled(job, Device.objects.get(hostname="qemu-01"))
    job = TestJob.objects.get(id=job.id)
    if started:
        services.job_started(job)
    log_store().append(job.id, 0, log.encode("info", "a line from the worker") + "\n")
    return TestJob.objects.get(id=job.id)


def silent_for(seconds: float) -> None:
    Worker.objects.filter(hostname="worker-01").update(
        state=WorkerState.OFFLINE, last_ping=timezone.now() - datetime.timedelta(seconds=seconds)
    )


def test_running_job_of_a_silent_worker_ends_incomplete(lab, users) -> None:
    job = running(lab, users)
    silent_for(OFFLINE + GRACE + 12)
    report = schedule_pass()
    assert report.abandoned == [job.id]
    assert "1 jobs of silent workers ended" in report.summary()
    job = TestJob.objects.get(id=job.id)
    assert (job.state, job.health, job.error_type) == (
        JobState.FINISHED,
        JobHealth.INCOMPLETE,
        "Infrastructure",
    )
    assert "worker 'worker-01' sent no ping for 372 s" in job.failure_comment
    assert "Offline after 60 s, grace period 300 s" in job.failure_comment
    device = Device.objects.get(hostname="qemu-01")
    assert (device.state, device.health) == (DeviceState.IDLE, DeviceHealth.UNKNOWN)
    lines = log_store().read_lines(job.id, 0, 10)
    assert len(lines) == 2
    last = log.decode(lines[-1])
    assert last["lvl"] == "error" and "sent no ping for 372 s" in last["msg"]


def test_within_the_grace_period_nothing_happens(lab, users) -> None:
    job = running(lab, users)
    silent_for(OFFLINE + GRACE - 10)
    assert end_jobs_of_silent_workers(timezone.now()) == []
    assert TestJob.objects.get(id=job.id).state == JobState.RUNNING
    assert log_store().count(job.id) == 1


def test_a_scheduled_job_never_started_ends_too(lab, users) -> None:
    job = running(lab, users, started=False)
    silent_for(OFFLINE + GRACE + 1)
    assert end_jobs_of_silent_workers(timezone.now()) == [job.id]
    assert TestJob.objects.get(id=job.id).health == JobHealth.INCOMPLETE


def test_a_worker_that_never_pinged(lab, users) -> None:
    job = running(lab, users)
    Worker.objects.filter(hostname="worker-01").update(state=WorkerState.OFFLINE, last_ping=None)
    assert end_jobs_of_silent_workers(timezone.now()) == [job.id]
    assert "never sent a ping" in TestJob.objects.get(id=job.id).failure_comment


def test_a_canceling_job_ends_canceled(lab, users) -> None:
    job = running(lab, users)
    transitions.job_canceling(job, "a user canceled it")
    silent_for(OFFLINE + GRACE + 1)
    assert end_jobs_of_silent_workers(timezone.now()) == [job.id]
    job = TestJob.objects.get(id=job.id)
    assert (job.state, job.health) == (JobState.FINISHED, JobHealth.CANCELED)
    assert Device.objects.get(hostname="qemu-01").state == DeviceState.IDLE


def test_an_online_worker_keeps_its_jobs(lab, users) -> None:
    job = running(lab, users)
    # Online with an old ping: the pass marks it Offline first, and the grace starts then
    Worker.objects.filter(hostname="worker-01").update(
        state=WorkerState.ONLINE,
        last_ping=timezone.now() - datetime.timedelta(seconds=OFFLINE + 1),
    )
    assert end_jobs_of_silent_workers(timezone.now()) == []
    assert TestJob.objects.get(id=job.id).state == JobState.RUNNING


def test_a_worker_back_before_the_grace_ends_keeps_its_jobs(lab, users) -> None:
    job = running(lab, users)
    silent_for(OFFLINE + 30)
    schedule_pass()
    services.worker_ping(Worker.objects.get(hostname="worker-01"), "x")
    later = timezone.now() + datetime.timedelta(seconds=GRACE)
    assert end_jobs_of_silent_workers(later) == []
    assert TestJob.objects.get(id=job.id).state == JobState.RUNNING


def test_a_lost_health_check_does_not_make_the_device_bad(lab, users) -> None:
    job = running(lab, users, health_check=True)
    silent_for(OFFLINE + GRACE + 1)
    assert end_jobs_of_silent_workers(timezone.now()) == [job.id]
    assert TestJob.objects.get(id=job.id).health == JobHealth.INCOMPLETE
    device = Device.objects.get(hostname="qemu-01")
    assert (device.state, device.health) == (DeviceState.IDLE, DeviceHealth.UNKNOWN)


def test_nothing_to_do_takes_no_lock(lab, users, django_assert_max_num_queries) -> None:
    running(lab, users)
    with django_assert_max_num_queries(1):
        assert end_jobs_of_silent_workers(timezone.now()) == []


def test_a_job_that_cannot_be_ended_does_not_keep_the_others_stuck(
    lab, users, monkeypatch, caplog
) -> None:
    first = running(lab, users)
    second = TestJob.objects.create(
        submitter=users["owner"], requested_device_type=lab.device_type, definition=DEFINITION
    )
    transitions.job_scheduled(second, Device.objects.get(hostname="qemu-02"))
    real = scheduling.jobs.fail_job

    def fail_job(
        actor: Any, job: TestJob, reason: str = "", error_type: str = "Infrastructure"
    ) -> TestJob:
        if job.pk == first.id:
            raise RuntimeError("a row no version wrote like this")
        return real(actor, job, reason, error_type)

    monkeypatch.setattr(scheduling.jobs, "fail_job", fail_job)
    silent_for(OFFLINE + GRACE + 12)
    caplog.set_level("ERROR", logger="lava.server.scheduler")
    report = schedule_pass()
    assert report.abandoned == [second.id]
    assert f"job {first.id}: could not end it: RuntimeError at " in caplog.text
    assert TestJob.objects.get(id=second.id).state == JobState.FINISHED
