"""Every scheduled job gets its own 32-character token, by each path that schedules it."""

from __future__ import annotations

import pytest
from django.db import transaction

from lava.server.scheduler import transitions
from lava.server.scheduler.models import Device, TestJob
from lava.server.scheduler.scheduling import schedule_pass

DEFINITION = "job_name: queued\ndevice_type: qemu\n"


def queue(lab, users) -> TestJob:
    return TestJob.objects.create(
        submitter=users["owner"], requested_device_type=lab.device_type, definition=DEFINITION
    )


def tokens(*jobs: TestJob) -> list[str]:
    return [TestJob.objects.get(id=job.id).token for job in jobs]


def test_job_scheduled_sets_a_token(lab, users) -> None:
    job = queue(lab, users)
    assert job.token == ""
    transitions.job_scheduled(job, Device.objects.get(hostname="qemu-01"))
    (token,) = tokens(job)
    assert len(token) == 32 and token == job.token


@pytest.mark.parametrize("old_sqlite", [False, True])
def test_bulk_schedule_sets_distinct_tokens(lab, users, monkeypatch, old_sqlite) -> None:
    if old_sqlite:  # the CASE path taken before SQLite 3.33
        monkeypatch.setattr(transitions.sqlite3, "sqlite_version_info", (3, 31, 1))
    jobs = [queue(lab, users) for _ in range(2)]
    with transaction.atomic():
        transitions.jobs_scheduled([(jobs[0].id, "qemu-01"), (jobs[1].id, "qemu-02")])
    first, second = tokens(*jobs)
    assert len(first) == len(second) == 32 and first != second


def test_scheduler_pass_and_health_checks_set_tokens(lab, users) -> None:
    (lab.root / "health-checks" / "qemu.yaml").write_text(
        "job_name: qemu health check\ndevice_type: qemu\n"
    )
    schedule_pass()
    checks = TestJob.objects.filter(health_check=True).exclude(actual_device=None)
    assert checks.count() == 2
    assert all(len(token) == 32 for token in checks.values_list("token", flat=True))


def test_scheduler_pass_sets_a_token(lab, users) -> None:
    job = queue(lab, users)
    schedule_pass()
    assert len(tokens(job)[0]) == 32
