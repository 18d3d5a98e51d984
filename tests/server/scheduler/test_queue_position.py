"""Why a queued job waits: each reason, from the lab's own rows."""

from __future__ import annotations

import datetime

from django.contrib.auth.models import Group, User
from django.utils import timezone

from lava.server.scheduler import permissions, transitions
from lava.server.scheduler.models import (
    Device,
    DeviceType,
    GroupDeviceTypePermission,
    Tag,
    TestJob,
    Worker,
)
from lava.server.scheduler.queue_position import queue_reason
from lava.server.scheduler.scheduling import schedule_pass
from lava.server.scheduler.states import DeviceHealth, DeviceState, JobHealth, WorkerState

DEFINITION = "job_name: queued\ndevice_type: qemu\n"
START = timezone.now() - datetime.timedelta(hours=1)


def queue(user: User, minutes: int = 0, device_type: str = "qemu", **fields) -> TestJob:
    tags = fields.pop("tags", ())
    job = TestJob.objects.create(
        submitter=user,
        requested_device_type_id=device_type,
        definition=DEFINITION,
        submit_time=START + datetime.timedelta(minutes=minutes),
        **fields,
    )
    for name in tags:
        job.tags.add(Tag.objects.get_or_create(name=name)[0])
    return job


def fill(lab, user: User) -> list[TestJob]:
    """Both lab devices busy with running jobs of ``user``."""
    jobs = [queue(user, -10), queue(user, -10)]
    schedule_pass()
    for job in jobs:
        job.refresh_from_db()
        transitions.job_running(job)
    return jobs


def test_only_queued_jobs_have_a_reason(lab, users) -> None:
    (running, _) = fill(lab, users["owner"])
    running.refresh_from_db()
    assert queue_reason(running) is None
    transitions.job_finished(running, JobHealth.COMPLETE, reason="done")
    assert queue_reason(running) is None


def test_no_device_of_the_type(lab, users) -> None:
    DeviceType.objects.create(name="arm")
    job = queue(users["owner"], device_type="arm")
    assert queue_reason(job) == "No device of type arm exists."
    DeviceType.objects.filter(name="qemu").update(display=False)
    assert "device type qemu is hidden" in queue_reason(queue(users["owner"])).lower()


def test_no_device_can_run_jobs(lab, users) -> None:
    Device.objects.filter(hostname="qemu-01").update(health=DeviceHealth.MAINTENANCE)
    Worker.objects.filter(hostname="worker-01").update(state=WorkerState.OFFLINE)
    reason = queue_reason(queue(users["owner"]))
    assert reason == (
        "No device of type qemu that fits it can run jobs now: 1 Maintenance, 1 worker Offline."
    )


def test_tags_pinned_device_and_worker(lab, users) -> None:
    Device.objects.get(hostname="qemu-01").tags.add(Tag.objects.create(name="usb"))
    owner = users["owner"]
    assert queue_reason(queue(owner, tags=["usb", "wifi"])) == (
        "No device of type qemu has all its tags (usb, wifi)."
    )
    Device.objects.filter(hostname="qemu-02").update(health=DeviceHealth.BAD)
    pinned = queue(owner, requested_device_id="qemu-02")
    assert queue_reason(pinned) == "The device it asks for, qemu-02, cannot run jobs now: Bad."
    tagged = queue(owner, requested_device_id="qemu-02", tags=["usb"])
    assert queue_reason(tagged) == "The device it asks for, qemu-02, lacks some of its tags (usb)."
    Worker.objects.create(hostname="worker-02", state=WorkerState.ONLINE)
    elsewhere = queue(owner, requested_worker_id="worker-02")
    assert queue_reason(elsewhere) == (
        "No device of type qemu is on worker worker-02, which it asks for."
    )


def test_submitter_may_not_submit(lab, users) -> None:
    GroupDeviceTypePermission.objects.create(
        group=Group.objects.create(name="others"),
        devicetype=lab.device_type,
        permission=permissions.SUBMIT,
    )
    reason = queue_reason(queue(users["stranger"]))
    assert reason == "Its submitter may not submit to the devices of type qemu that fit it."


def test_a_free_device(lab, users) -> None:
    reason = queue_reason(queue(users["owner"]))
    assert reason.startswith(
        "2 of the 2 devices that fit it are free: it should start at the next scheduler pass"
    )
    assert "Ahead of it in fair-share order: 0 jobs of its device type" in reason


def test_busy_devices_and_the_submitters_turn(lab, users) -> None:
    owner, stranger = users["owner"], users["stranger"]
    fill(lab, owner)
    first = queue(owner, 1)
    second = queue(owner, 2)
    other = queue(stranger, 3)
    assert queue_reason(other) == (
        "All 2 devices that fit it are busy. Ahead of it in fair-share order: "
        "0 jobs of its device type (0 of higher priority or health checks)."
    )
    assert queue_reason(first) == (
        "All 2 devices that fit it are busy. Ahead of it in fair-share order: "
        "1 job of its device type (0 of higher priority or health checks). "
        "Waiting for its submitter's turn: user:owner holds 2 devices of this type, "
        "so 1 job submitted later by others goes first."
    )
    assert "Ahead of it in fair-share order: 2 jobs" in queue_reason(second)
    urgent = queue(stranger, 4, priority=100)
    assert "Ahead of it in fair-share order: 2 jobs of its device type (1 of higher" in (
        queue_reason(first)
    )
    assert queue_reason(urgent).startswith("All 2 devices that fit it are busy. Ahead of it")


def test_lava_order_and_weights_are_named(lab, users, settings, monkeypatch) -> None:
    owner, stranger = users["owner"], users["stranger"]
    fill(lab, owner)
    first = queue(owner, 1)
    other = queue(stranger, 3)
    monkeypatch.setattr(settings.LAVA, "fair_share_weights", {"user:owner": 0.5})
    assert "user:owner (weight 0.5) holds 2 devices" in queue_reason(first)
    monkeypatch.setattr(settings.LAVA, "scheduler_order", "lava")
    assert queue_reason(other) == (
        "All 2 devices that fit it are busy. Ahead of it in LAVA's order (priority, "
        "submit time): 1 job of its device type (0 of higher priority or health checks)."
    )
    assert "Waiting" not in queue_reason(first)


def test_the_pinned_device_free_or_busy(lab, users) -> None:
    job = queue(users["stranger"], requested_device_id="qemu-01")
    assert queue_reason(job).startswith("The device it asks for (qemu-01) is free: it should")
    Device.objects.filter(hostname="qemu-01").update(state=DeviceState.RUNNING)
    assert queue_reason(job).startswith("The device it asks for (qemu-01) is busy. Ahead")
