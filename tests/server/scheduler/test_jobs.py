"""Job services: cancel, resubmit, fail a stuck job, remove finished jobs."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from lava.common import log
from lava.server.logs.store import log_store
from lava.server.results.models import TestSuite
from lava.server.scheduler import transitions
from lava.server.scheduler.models import Device, TestJob
from lava.server.scheduler.states import (
    DeviceHealth,
    DeviceState,
    JobHealth,
    JobState,
    Visibility,
)
from lava.server.scheduler.submission import SubmissionError
from lava.server.services import Actor, Missing, Refused, ServiceError
from lava.server.services.jobs import (
    cancel_job,
    fail_job,
    remove_jobs,
    resubmit_job,
)

CONSOLE = Actor.console()

DEFINITION = """job_name: resubmitted
device_type: qemu
visibility: public
timeouts: {job: {minutes: 5}}
actions:
- boot: {method: qemu, media: tmpfs, prompts: ['# ']}
"""


def job_in(state: int, user: User, device_type, *, health_check: bool = False) -> TestJob:
    """A job brought to ``state`` the way the scheduler and the worker would (on qemu-01)."""
    job = TestJob.objects.create(
        submitter=user,
        definition=DEFINITION,
        original_definition=DEFINITION,
        requested_device_type=device_type,
        health_check=health_check,
    )
    device = Device.objects.get(hostname="qemu-01")
    if state == JobState.SCHEDULING:
        job.state = JobState.SCHEDULING
        job.save()
    if state in (JobState.SCHEDULED, JobState.RUNNING, JobState.CANCELING):
        transitions.job_scheduled(job, device)
    if state in (JobState.RUNNING, JobState.CANCELING):
        transitions.job_running(job)
    if state == JobState.CANCELING:
        transitions.job_canceling(job, "test")
    if state == JobState.FINISHED:
        transitions.job_finished(job, JobHealth.COMPLETE, reason="test")
    job.refresh_from_db()
    return job


def device_state() -> tuple[int, int]:
    device = Device.objects.get(hostname="qemu-01")
    return device.state, device.health


def label(value: object) -> str | None:
    """Test ids from enum names (tuples fall back to pytest's own)."""
    return getattr(value, "name", None)


# cancel

CANCEL_TABLE = [
    # before, after (state, health), device state after
    (JobState.SUBMITTED, (JobState.FINISHED, JobHealth.CANCELED), DeviceState.IDLE),
    (JobState.SCHEDULING, (JobState.CANCELING, JobHealth.UNKNOWN), DeviceState.IDLE),
    (JobState.SCHEDULED, (JobState.CANCELING, JobHealth.UNKNOWN), DeviceState.RESERVED),
    (JobState.RUNNING, (JobState.CANCELING, JobHealth.UNKNOWN), DeviceState.RUNNING),
    (JobState.CANCELING, (JobState.CANCELING, JobHealth.UNKNOWN), DeviceState.RUNNING),
]


@pytest.mark.parametrize(("before", "after", "device_after"), CANCEL_TABLE, ids=label)
def test_cancel_table(lab, users, before, after, device_after) -> None:
    job = job_in(before, users["owner"], lab.device_type)
    returned = cancel_job(Actor(users["owner"], "XML-RPC"), job, reason="not needed")
    job.refresh_from_db()
    assert (job.state, job.health) == after
    assert (returned.state, returned.health) == after
    assert device_state()[0] == device_after


def test_a_finished_job_cannot_be_canceled(lab, users) -> None:
    job = job_in(JobState.FINISHED, users["owner"], lab.device_type)
    with pytest.raises(ServiceError, match=f"job {job.id} has already finished"):
        cancel_job(Actor(users["owner"], "XML-RPC"), job)
    job.refresh_from_db()
    assert job.health == JobHealth.COMPLETE


@pytest.mark.parametrize(
    ("name", "allowed"), [("owner", True), ("admin", True), ("stranger", False)]
)
def test_who_may_cancel(lab, users, name, allowed) -> None:
    job = job_in(JobState.SUBMITTED, users["owner"], lab.device_type)
    if allowed:
        cancel_job(Actor(users[name], "XML-RPC"), job)
    else:
        with pytest.raises(Refused, match="may not cancel"):
            cancel_job(Actor(users[name], "XML-RPC"), job)
    job.refresh_from_db()
    assert (job.state == JobState.FINISHED) is allowed


def test_the_console_admin_cancels_anything(lab, users) -> None:
    job = job_in(JobState.RUNNING, users["owner"], lab.device_type)
    assert cancel_job(CONSOLE, job).state == JobState.CANCELING


# resubmit


def test_resubmit_queues_the_original_definition_again(lab, users) -> None:
    old = job_in(JobState.FINISHED, users["owner"], lab.device_type)
    new = resubmit_job(Actor(users["stranger"], "XML-RPC"), old)
    assert new.pk != old.pk
    assert (new.state, new.submitter) == (JobState.SUBMITTED, users["stranger"])
    assert new.original_definition == DEFINITION
    assert new.description == "resubmitted"


def test_resubmit_runs_every_submission_check(lab, users) -> None:
    old = job_in(JobState.FINISHED, users["owner"], lab.device_type)
    Device.objects.update(health=DeviceHealth.RETIRED)
    with pytest.raises(SubmissionError, match="no devices of type 'qemu'"):
        resubmit_job(Actor(users["owner"], "XML-RPC"), old)
    assert TestJob.objects.count() == 1


def test_a_job_one_cannot_see_is_not_resubmitted(lab, users) -> None:
    old = job_in(JobState.FINISHED, users["owner"], lab.device_type)
    TestJob.objects.filter(pk=old.pk).update(visibility=Visibility.PERSONAL, is_public=False)
    old.refresh_from_db()
    with pytest.raises(Missing, match=f"Job '{old.id}' was not found"):
        resubmit_job(Actor(users["stranger"], "XML-RPC"), old)
    assert TestJob.objects.count() == 1


# fail a stuck job

# before, job health after, device health after (the job's device is Idle again)
FAIL_TABLE = [
    (JobState.SCHEDULING, JobHealth.INCOMPLETE, DeviceHealth.GOOD),  # no device yet
    (JobState.SCHEDULED, JobHealth.INCOMPLETE, DeviceHealth.UNKNOWN),
    (JobState.RUNNING, JobHealth.INCOMPLETE, DeviceHealth.UNKNOWN),
    (JobState.CANCELING, JobHealth.CANCELED, DeviceHealth.UNKNOWN),  # canceled stays canceled
]


@pytest.mark.parametrize(("before", "health", "device_health"), FAIL_TABLE, ids=label)
def test_fail_table(lab, users, before, health, device_health) -> None:
    job = job_in(before, users["owner"], lab.device_type)
    fail_job(CONSOLE, job, reason="worker-01 died")
    job.refresh_from_db()
    assert (job.state, job.health) == (JobState.FINISHED, health)
    assert job.failure_comment == "worker-01 died"
    assert job.error_type == "Infrastructure"
    assert job.end_time is not None
    # the device is free again; its health is checked before its next job
    assert device_state() == (DeviceState.IDLE, device_health)


@pytest.mark.parametrize(
    ("before", "words"),
    [(JobState.SUBMITTED, "is Submitted, not stuck: cancel it"), (JobState.FINISHED, "Finished")],
)
def test_fail_refuses_jobs_that_are_not_stuck(lab, users, before, words) -> None:
    job = job_in(before, users["owner"], lab.device_type)
    with pytest.raises(ServiceError, match=words):
        fail_job(CONSOLE, job)
    job.refresh_from_db()
    assert job.state == before


def test_a_failed_health_check_makes_its_device_bad(lab, users) -> None:
    job = job_in(JobState.RUNNING, users["admin"], lab.device_type, health_check=True)
    fail_job(CONSOLE, job, error_type="Job")
    job.refresh_from_db()
    assert job.failure_comment == "the job was stuck"
    assert device_state() == (DeviceState.IDLE, DeviceHealth.BAD)


# remove


@pytest.fixture
def own_logs(data_dir) -> None:
    """Job logs under this test's own directory."""


def test_remove_finished_jobs_and_their_results(lab, users, own_logs) -> None:
    done = job_in(JobState.FINISHED, users["owner"], lab.device_type)
    TestSuite.objects.create(job=done, name="lava")
    kept = job_in(JobState.FINISHED, users["owner"], lab.device_type)
    store = log_store()
    for job in (done, kept):
        store.append(job.id, 0, log.encode("info", f"job {job.id}") + "\n")
    assert remove_jobs(CONSOLE, [done.id]) == [done.id]
    assert list(TestJob.objects.values_list("id", flat=True)) == [kept.id]
    assert not TestSuite.objects.exists()
    assert not store.exists(done.id)
    assert store.count(kept.id) == 1


def test_remove_a_queryset_dry_run(lab, users, own_logs) -> None:
    ids = [job_in(JobState.FINISHED, users["owner"], lab.device_type).id for _ in range(3)]
    log_store().append(ids[0], 0, log.encode("info", "kept by a dry run") + "\n")
    assert remove_jobs(CONSOLE, TestJob.objects.all(), dry_run=True) == ids
    assert TestJob.objects.count() == 3
    assert log_store().count(ids[0]) == 1
    assert remove_jobs(CONSOLE, TestJob.objects.all()) == ids
    assert not TestJob.objects.exists()


def test_remove_refuses_unfinished_jobs_and_removes_none(lab, users) -> None:
    done = job_in(JobState.FINISHED, users["owner"], lab.device_type)
    running = job_in(JobState.RUNNING, users["owner"], lab.device_type)
    with pytest.raises(ServiceError, match=f"not finished: job {running.id}"):
        remove_jobs(CONSOLE, [done.id, running.id])
    assert TestJob.objects.count() == 2


def test_remove_names_missing_jobs(lab, users) -> None:
    done = job_in(JobState.FINISHED, users["owner"], lab.device_type)
    with pytest.raises(ServiceError, match="no such job: 9999"):
        remove_jobs(CONSOLE, [done.id, 9999])
    assert TestJob.objects.count() == 1


def test_removing_a_health_check_keeps_its_device(lab, users) -> None:
    job = job_in(JobState.RUNNING, users["admin"], lab.device_type, health_check=True)
    transitions.job_finished(job, JobHealth.COMPLETE, reason="test")
    remove_jobs(CONSOLE, [job.id])
    device = Device.objects.get(hostname="qemu-01")
    assert device.last_health_report_job is None
