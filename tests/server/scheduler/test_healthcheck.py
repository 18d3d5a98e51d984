"""Health checks: when a device gets one, what it looks like, and what its end does."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from lava.server.scheduler import transitions
from lava.server.scheduler.healthcheck import HEALTH_USER
from lava.server.scheduler.models import Device, DeviceType, TestJob, Worker
from lava.server.scheduler.scheduling import schedule_pass
from lava.server.scheduler.states import (
    DeviceHealth,
    DeviceState,
    HealthDenominator,
    JobHealth,
    JobState,
)

HEALTH_CHECK = """job_name: qemu health check
device_type: qemu
visibility: public
priority: high
context: {arch: amd64}
timeouts: {job: {minutes: 5}}
actions:
- boot: {method: qemu, media: tmpfs, prompts: ['# ']}
"""


@pytest.fixture
def checked(lab):
    """The lab, with a health check for qemu and both devices Good after a fresh check."""
    (lab.root / "health-checks" / "qemu.yaml").write_text(HEALTH_CHECK)
    for hostname in ("qemu-01", "qemu-02"):
        give_check(hostname, timezone.now() - datetime.timedelta(hours=1))
    return lab


def give_check(hostname: str, submitted: datetime.datetime, health: int = JobHealth.COMPLETE):
    """Record a finished health check on the device, as if it ran at ``submitted``."""
    user, _ = User.objects.get_or_create(username=HEALTH_USER)
    device = Device.objects.get(hostname=hostname)
    job = TestJob.objects.create(
        submitter=user,
        definition=HEALTH_CHECK,
        health_check=True,
        requested_device=device,
        requested_device_type=device.device_type,
        submit_time=submitted,
    )
    transitions.job_scheduled(job, device)
    transitions.job_running(job)
    transitions.job_finished(job, health, reason="test")
    return job


def user_job(lab, users, **fields) -> TestJob:
    return TestJob.objects.create(
        submitter=users["owner"],
        definition="job_name: user\n",
        requested_device_type=lab.device_type,
        **fields,
    )


def checks_on(report) -> list[str]:
    return sorted(hostname for _, hostname in report.health_checks)


def test_unknown_device_gets_its_health_check_before_any_user_job(checked, users) -> None:
    Device.objects.filter(hostname="qemu-01").update(health=DeviceHealth.UNKNOWN)
    Device.objects.filter(hostname="qemu-02").update(health=DeviceHealth.MAINTENANCE)
    job = user_job(checked, users, priority=100)
    report = schedule_pass()
    assert checks_on(report) == ["qemu-01"] and report.assigned == []
    check = TestJob.objects.get(id=report.health_checks[0][0])
    assert check.health_check and check.submitter.username == HEALTH_USER
    assert (check.state, check.actual_device_id, check.requested_device_id) == (
        JobState.SCHEDULED,
        "qemu-01",
        "qemu-01",
    )
    assert check.definition == HEALTH_CHECK and check.description == "qemu health check"
    assert Device.objects.get(hostname="qemu-01").state == DeviceState.RESERVED
    assert TestJob.objects.get(id=job.id).state == JobState.SUBMITTED
    # the check passes: the device is Good and takes the user job
    transitions.job_running(check)
    transitions.job_finished(check, JobHealth.COMPLETE, reason="lava-run passed")
    device = Device.objects.get(hostname="qemu-01")
    assert (device.health, device.last_health_report_job_id) == (DeviceHealth.GOOD, check.id)
    report = schedule_pass()
    assert report.health_checks == [] and report.assigned == [(job.id, "qemu-01")]


def test_failed_health_check_makes_the_device_bad(checked, users) -> None:
    Device.objects.filter(hostname="qemu-01").update(health=DeviceHealth.UNKNOWN)
    report = schedule_pass()
    check = TestJob.objects.get(id=report.health_checks[0][0])
    transitions.job_running(check)
    transitions.job_finished(check, JobHealth.INCOMPLETE, reason="boot failed")
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.BAD
    user_job(checked, users, requested_device_id="qemu-01")
    assert schedule_pass().assigned == []


def test_health_user_is_created_when_missing(checked) -> None:
    TestJob.objects.filter(submitter__username=HEALTH_USER).delete()  # the user's jobs keep it
    User.objects.filter(username=HEALTH_USER).delete()
    report = schedule_pass()
    assert checks_on(report) == ["qemu-01", "qemu-02"]  # no previous check any more
    assert not User.objects.get(username=HEALTH_USER).has_usable_password()


def test_device_without_previous_check_gets_one(lab) -> None:
    (lab.root / "health-checks" / "qemu.yaml").write_text(HEALTH_CHECK)
    assert checks_on(schedule_pass()) == ["qemu-01", "qemu-02"]


def test_health_check_due_by_hours(checked, users) -> None:
    give_check("qemu-02", timezone.now() - datetime.timedelta(hours=25))
    job = user_job(checked, users)
    report = schedule_pass()
    assert checks_on(report) == ["qemu-02"] and report.assigned == [(job.id, "qemu-01")]
    DeviceType.objects.filter(name="qemu").update(health_frequency=48)
    Device.objects.filter(hostname="qemu-02").update(state=DeviceState.IDLE)
    TestJob.objects.filter(id=report.health_checks[0][0]).update(state=JobState.FINISHED)
    assert schedule_pass().health_checks == []


def test_health_check_due_by_jobs(checked, users) -> None:
    DeviceType.objects.filter(name="qemu").update(
        health_denominator=HealthDenominator.JOBS, health_frequency=2
    )
    device = Device.objects.get(hostname="qemu-01")
    Device.objects.filter(hostname="qemu-02").update(health=DeviceHealth.MAINTENANCE)
    for count in range(3):
        report = schedule_pass()
        if count < 2:  # fewer than 2 jobs since the check: a user job may run
            assert report.health_checks == []
            job = user_job(checked, users)
            report = schedule_pass()
            assert report.assigned == [(job.id, "qemu-01")]
            job.refresh_from_db()
            transitions.job_running(job)
            transitions.job_finished(job, JobHealth.COMPLETE, reason="test")
        else:
            assert checks_on(report) == ["qemu-01"]
    device.refresh_from_db()
    assert device.state == DeviceState.RESERVED


def test_looping_device_gets_checks_only(checked, users) -> None:
    Device.objects.filter(hostname="qemu-01").update(health=DeviceHealth.LOOPING)
    Device.objects.filter(hostname="qemu-02").update(health=DeviceHealth.MAINTENANCE)
    user_job(checked, users, requested_device_id="qemu-01")
    report = schedule_pass()
    assert checks_on(report) == ["qemu-01"] and report.assigned == []
    check = TestJob.objects.get(id=report.health_checks[0][0])
    transitions.job_running(check)
    transitions.job_finished(check, JobHealth.COMPLETE, reason="test")
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.LOOPING
    assert checks_on(schedule_pass()) == ["qemu-01"]  # again, however recent the last one


def test_device_given_a_check_gets_no_user_job_in_the_same_pass(checked, users) -> None:
    Device.objects.filter(hostname="qemu-01").update(health=DeviceHealth.UNKNOWN)
    pinned = user_job(checked, users, requested_device_id="qemu-01")
    report = schedule_pass()
    assert checks_on(report) == ["qemu-01"] and report.assigned == []
    assert TestJob.objects.get(id=pinned.id).state == JobState.SUBMITTED


def test_disabled_health_checks(checked, users) -> None:
    DeviceType.objects.filter(name="qemu").update(disable_health_check=True)
    Device.objects.update(health=DeviceHealth.UNKNOWN)
    jobs = [user_job(checked, users) for _ in range(2)]
    report = schedule_pass()
    assert report.health_checks == [] and len(report.assigned) == 2
    assert {j for j, _ in report.assigned} == {j.id for j in jobs}


def test_unknown_device_without_health_check_file_takes_user_jobs(lab, users) -> None:
    Device.objects.update(health=DeviceHealth.UNKNOWN)
    report = schedule_pass()
    assert report.health_checks == []
    job = user_job(lab, users)
    assert schedule_pass().assigned[0][0] == job.id


def test_health_check_file_follows_what_the_dictionary_extends(checked, users) -> None:
    kvm = DeviceType.objects.create(name="kvm")
    checked.device("kvm-01", device_type=kvm, health=DeviceHealth.UNKNOWN)  # extends kvm.jinja2
    report = schedule_pass()
    assert report.health_checks == []  # no health-checks/kvm.yaml
    (checked.root / "health-checks" / "kvm.yaml").write_text(HEALTH_CHECK)
    assert checks_on(schedule_pass()) == ["kvm-01"]


def test_device_that_does_not_render_goes_bad_instead_of_a_check(checked) -> None:
    Device.objects.filter(hostname="qemu-01").update(health=DeviceHealth.UNKNOWN)
    path = checked.root / "devices" / "qemu-01.jinja2"
    path.write_text("{% extends 'qemu.jinja2' %}\n{% set x = 1 + 'a' %}\n")
    report = schedule_pass()
    assert report.health_checks == [] and report.devices_bad == ["qemu-01"]
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.BAD


def test_dictionary_that_does_not_parse_goes_bad(checked) -> None:
    (checked.root / "devices" / "qemu-02.jinja2").write_text("{% extends 'qemu.jinja2' \n")
    report = schedule_pass()
    assert report.devices_bad == ["qemu-02"]
    assert Device.objects.get(hostname="qemu-02").health == DeviceHealth.BAD


def test_health_check_that_is_not_a_job_makes_the_device_bad(checked) -> None:
    (checked.root / "health-checks" / "qemu.yaml").write_text("- just\n- a list\n")
    Device.objects.filter(hostname="qemu-01").update(health=DeviceHealth.UNKNOWN)
    report = schedule_pass()
    assert report.devices_bad == ["qemu-01"] and report.health_checks == []


def test_health_checks_respect_the_worker_job_limit(checked) -> None:
    Device.objects.update(health=DeviceHealth.UNKNOWN)
    Worker.objects.filter(hostname="worker-01").update(job_limit=1)
    assert len(schedule_pass().health_checks) == 1
    assert schedule_pass().health_checks == []
