"""The worker API's services: ping, job files, started and finished, retried safely."""

from __future__ import annotations

import datetime
import os
import time

import pytest
import yaml

from lava.server.logs.store import log_store
from lava.server.scheduler.internal import services
from lava.server.scheduler.models import Device, TestJob, Worker
from lava.server.scheduler.scheduling import schedule_pass
from lava.server.scheduler.states import DeviceHealth, DeviceState, JobHealth, JobState, WorkerState

DEFINITION = "job_name: queued\ndevice_type: qemu\n"


@pytest.fixture(autouse=True)
def _job_output(data_dir) -> None:
    """Job output directories (saved files) under this test's own directory."""


def scheduled(lab, users, count: int = 1) -> list[TestJob]:
    jobs = [
        TestJob.objects.create(
            submitter=users["owner"], requested_device_type=lab.device_type, definition=DEFINITION
        )
        for _ in range(count)
    ]
    schedule_pass()
    return [TestJob.objects.get(id=job.id) for job in jobs]


def test_ping_lists_start_cancel_running(lab, users) -> None:
    first, second = scheduled(lab, users, 2)
    Worker.objects.filter(pk="worker-01").update(state=WorkerState.OFFLINE)
    answer = services.worker_ping(lab.worker, "x")
    assert answer["start"] == [{"id": j.id, "token": j.token} for j in (first, second)]
    assert answer["cancel"] == answer["running"] == []
    assert Worker.objects.get(pk="worker-01").state == WorkerState.ONLINE
    services.job_started(first)
    TestJob.objects.filter(id=second.id).update(state=JobState.CANCELING)
    answer = services.worker_ping(lab.worker, "x")
    del answer["etag"]
    assert answer == {
        "start": [],
        "cancel": [{"id": second.id, "token": second.token}],
        "running": [{"id": first.id, "token": first.token}],
    }


def test_ping_of_another_worker_lists_nothing(lab, users) -> None:
    scheduled(lab, users)
    other = Worker.objects.create(hostname="worker-02")
    answer = services.worker_ping(other, "x")
    assert {key: answer[key] for key in ("start", "cancel", "running")} == {
        "start": [],
        "cancel": [],
        "running": [],
    }


def test_long_poll_returns_at_once_when_the_answer_is_new(lab, users) -> None:
    (job,) = scheduled(lab, users)
    started = time.monotonic()
    answer = services.worker_ping(lab.worker, "x", wait=5, seen="something-else")
    assert time.monotonic() - started < 1
    assert answer["start"] == [{"id": job.id, "token": job.token}]


def test_long_poll_waits_while_nothing_changes(lab) -> None:
    etag = services.worker_ping(lab.worker, "x")["etag"]
    started = time.monotonic()
    answer = services.worker_ping(lab.worker, "x", wait=0.5, seen=etag)
    assert 0.5 <= time.monotonic() - started < 2
    assert answer["etag"] == etag and answer["start"] == []


def test_job_files(lab, users) -> None:
    (job,) = scheduled(lab, users)
    base = lab.root.parent / "dispatcher.d"
    (base / job.actual_device.worker_host_id).mkdir(parents=True)
    (base / "worker-01" / "dispatcher.yaml").write_text("dispatcher_ip: 10.0.0.1\n")
    (base / "env.yaml").write_text("purge: true\n")
    files = services.job_files(job)
    assert files["definition"] == DEFINITION
    device = yaml.safe_load(files["device"])
    assert device["hostname"] == job.actual_device_id
    assert files["dispatcher"] == "dispatcher_ip: 10.0.0.1\n"
    assert files["env"] == "purge: true\n"
    assert files["env-dut"] == ""
    assert log_store().files(job.id) == ["device.yaml", "dispatcher.yaml", "env.yaml", "job.yaml"]
    assert log_store().read_file(job.id, "job.yaml") == DEFINITION


def test_running_then_finished_is_idempotent(lab, users) -> None:
    (job,) = scheduled(lab, users)
    services.job_started(job)
    services.job_started(job)
    job.refresh_from_db()
    assert job.state == JobState.RUNNING
    assert Device.objects.get(pk=job.actual_device_id).state == DeviceState.RUNNING
    services.job_finished(job, "fail", "Infrastructure", "boom", "{}\n")
    assert log_store().read_file(job.id, "description.yaml") == "{}\n"
    services.job_finished(job, "pass")
    job.refresh_from_db()
    assert (job.state, job.health) == (JobState.FINISHED, JobHealth.INCOMPLETE)
    assert (job.error_type, job.failure_comment) == ("Infrastructure", "boom")
    assert Device.objects.get(pk=job.actual_device_id).state == DeviceState.IDLE
    services.job_started(job)  # a late RUNNING changes nothing
    assert TestJob.objects.get(id=job.id).state == JobState.FINISHED


def test_canceling_ends_canceled(lab, users) -> None:
    (job,) = scheduled(lab, users)
    TestJob.objects.filter(id=job.id).update(state=JobState.CANCELING)
    services.job_finished(job, "pass")
    assert TestJob.objects.get(id=job.id).health == JobHealth.CANCELED


@pytest.mark.parametrize(
    ("result", "health"), [("pass", DeviceHealth.GOOD), ("fail", DeviceHealth.BAD)]
)
def test_health_check_sets_device_health(lab, users, result, health) -> None:
    (lab.root / "health-checks" / "qemu.yaml").write_text("job_name: hc\ndevice_type: qemu\n")
    Device.objects.filter(hostname="qemu-02").update(health=DeviceHealth.MAINTENANCE)
    schedule_pass()
    job = TestJob.objects.get(health_check=True)
    services.job_started(job)
    services.job_finished(job, result)
    device = Device.objects.get(pk="qemu-01")
    assert (device.state, device.health) == (DeviceState.IDLE, health)


def test_bad_result_is_refused(lab, users) -> None:
    (job,) = scheduled(lab, users)
    with pytest.raises(services.BadRequest):
        services.job_finished(job, "maybe")


def test_a_job_the_worker_started_does_not_wake_its_held_ping(lab, users) -> None:
    (job,) = scheduled(lab, users)
    etag = services.worker_ping(lab.worker, "x")["etag"]
    services.job_started(job)  # the worker's own report: nothing new for it
    started = time.monotonic()
    answer = services.worker_ping(lab.worker, "x", wait=0.5, seen=etag)
    assert time.monotonic() - started >= 0.5, "held: the worker knows it started the job"
    assert answer["running"] == [{"id": job.id, "token": job.token}]
    services.job_finished(job, "pass")  # the end changes what the worker must do
    started = time.monotonic()
    answer = services.worker_ping(lab.worker, "x", wait=5, seen=etag)
    assert time.monotonic() - started < 1 and answer["running"] == []


def test_job_files_follow_a_changed_dictionary_or_template(lab, users) -> None:
    template = lab.root / "device-types" / "qemu.jinja2"  # the lab's own, found first
    body = "hostname: {{ scheduled_device_name }}\nmemory: {{ memory }}\nversion: %d\n"
    template.write_text(body % 1)
    first, second = scheduled(lab, users, 2)  # on qemu-01 and qemu-02
    job = first if first.actual_device_id == "qemu-01" else second
    assert yaml.safe_load(services.job_files(job)["device"]) == {
        "hostname": "qemu-01",
        "memory": 512,
        "version": 1,
    }
    dictionary = lab.root / "devices" / "qemu-01.jinja2"
    dictionary.write_text(dictionary.read_text().replace("512", "768"))
    assert yaml.safe_load(services.job_files(job)["device"])["memory"] == 768
    template.write_text(body % 2)
    later = template.stat().st_mtime_ns + 2 * 10**9  # as an edit made seconds later:
    os.utime(template, ns=(later, later))  # jinja2 compares mtimes, not contents
    assert yaml.safe_load(services.job_files(job)["device"])["version"] == 2


def test_a_ping_writes_only_what_is_news(lab) -> None:
    Worker.objects.filter(pk="worker-01").update(state=WorkerState.OFFLINE)
    services.worker_ping(Worker.objects.get(pk="worker-01"), "x")
    first = Worker.objects.get(pk="worker-01")
    assert first.state == WorkerState.ONLINE and first.version == "x"
    services.worker_ping(first, "x")  # a moment later, as at each job's change
    assert Worker.objects.get(pk="worker-01").last_ping == first.last_ping
    services.worker_ping(first, "y")  # upgraded: written at once
    assert Worker.objects.get(pk="worker-01").version == "y"
    older = first.last_ping - datetime.timedelta(seconds=services.PING_WRITE_SECONDS)
    Worker.objects.filter(pk="worker-01").update(last_ping=older, version="y")
    services.worker_ping(Worker.objects.get(pk="worker-01"), "y")
    assert Worker.objects.get(pk="worker-01").last_ping > first.last_ping
