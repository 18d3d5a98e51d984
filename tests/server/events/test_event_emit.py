"""Every change is published once its transaction commits, with LAVA's fields; never before,
never for a rollback, and a missing or stuck publisher costs the writer (almost) nothing."""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from lava.common import log
from lava.server.events import emit, facts
from lava.server.events.messages import DEVICE, EVENT, TESTCASE, TESTJOB, WORKER
from lava.server.results.ingest import ingest
from lava.server.scheduler import transitions
from lava.server.scheduler.models import Device, TestJob
from lava.server.scheduler.states import DeviceHealth, JobHealth, WorkerState
from lava.server.scheduler.submission import submit_job
from tests.support.eventinbox import JOB_TEXT, Inbox

pytestmark = pytest.mark.usefixtures("data_dir")

JOB_KEYS = {
    "health",
    "state",
    "job",
    "description",
    "priority",
    "submit_time",
    "submitter",
    "health_check",
    "device_type",
}


def summary(inbox: Inbox) -> list[tuple[str, str, str]]:
    """(topic, who, state) of each event sent: what lavacli's listener shows."""
    rows = []
    for event in inbox.events():
        who = event.data.get("device") if event.topic == DEVICE else event.data.get("hostname")
        who = str(event.data["job"]) if event.topic == TESTJOB else who
        rows.append((event.topic, who or "", event.data.get("state", "")))
    return rows


def test_a_jobs_life_is_published_commit_by_commit(
    lab, users, inbox: Inbox, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        job = submit_job(JOB_TEXT, users["owner"])
    [submitted] = inbox.events()
    assert submitted.topic == TESTJOB and submitted.username == "owner"
    assert set(submitted.data) == JOB_KEYS
    assert (submitted.data["job"], submitted.data["state"]) == (job.id, "Submitted")
    assert submitted.data["submit_time"] == job.submit_time.isoformat()
    assert submitted.scope.job and submitted.scope.public

    device = Device.objects.get(hostname="qemu-01")
    with django_capture_on_commit_callbacks(execute=True):
        transitions.job_scheduled(job, device)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        job = transitions.lock_job(job)
        transitions.job_running(job)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        job = transitions.lock_job(job)
        transitions.job_finished(job, JobHealth.COMPLETE, reason="test")
    jid = str(job.id)
    assert summary(inbox) == [
        (TESTJOB, jid, "Scheduled"),
        (DEVICE, "qemu-01", "Reserved"),
        (TESTJOB, jid, "Running"),
        (DEVICE, "qemu-01", "Running"),
        (TESTJOB, jid, "Finished"),
        (DEVICE, "qemu-01", "Idle"),
    ]


def test_device_events_name_the_job_while_it_holds_the_device(
    lab, users, inbox: Inbox, django_capture_on_commit_callbacks
) -> None:
    job = submit_job(JOB_TEXT, users["owner"])
    with django_capture_on_commit_callbacks(execute=True):
        transitions.job_scheduled(job, Device.objects.get(hostname="qemu-01"))
        with transaction.atomic():
            job = transitions.lock_job(job)
            transitions.job_running(job)
            transitions.job_finished(job, JobHealth.INCOMPLETE, reason="test", error_type="Job")
    found = inbox.events()
    running = [e for e in found if e.topic == DEVICE and e.data["state"] == "Running"]
    assert running[0].data == {
        "health": "Good",
        "state": "Running",
        "device": "qemu-01",
        "device_type": "qemu",
        "worker": "worker-01",
        "job": str(job.id),
    }
    idle = [e for e in found if e.topic == DEVICE and e.data["state"] == "Idle"]
    assert "job" not in idle[0].data
    finished = next(e for e in found if e.topic == TESTJOB and e.data["state"] == "Finished")
    assert finished.data["health"] == "Incomplete"
    assert {"device", "worker", "start_time", "end_time"} <= finished.data.keys()
    assert finished.scope.devices == ("qemu-01",) and finished.scope.types == ("qemu",)


def test_a_rolled_back_change_is_never_published(
    lab, users, inbox: Inbox, django_capture_on_commit_callbacks
) -> None:
    device = Device.objects.get(hostname="qemu-02")
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(RuntimeError), transaction.atomic():
            transitions.set_device_health(device, DeviceHealth.MAINTENANCE, "test")
            raise RuntimeError("changed my mind")
        with transaction.atomic():
            transitions.set_worker_state(lab.worker, WorkerState.OFFLINE, "test")
            assert inbox.events() == []  # not before the commit
    [event] = inbox.events()
    assert event.topic == WORKER and event.username == "lavaserver"
    assert event.data == {"hostname": "worker-01", "health": "Active", "state": "Offline"}


def test_many_jobs_scheduled_at_once_are_published_in_few_datagrams(
    lab, users, inbox: Inbox, django_capture_on_commit_callbacks
) -> None:
    hosts = [lab.device(f"bulk-{n:02}").hostname for n in range(30)]
    jobs = [submit_job(JOB_TEXT, users["owner"]).id for _ in hosts]
    inbox.events()
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        transitions.jobs_scheduled(list(zip(jobs, hosts, strict=True)))
    found = inbox.events()
    assert [e.topic for e in found] == [TESTJOB, DEVICE] * 30
    assert {e.data["job"] for e in found if e.topic == TESTJOB} == set(jobs)
    assert all(e.data["state"] == "Reserved" for e in found if e.topic == DEVICE)


RESULTS = "\n".join(
    [
        log.encode("event", "firmware flashed"),
        log.encode("results", {"definition": "0_smoke", "case": "boot", "result": "pass"}),
        log.encode(
            "results",
            {"definition": "0_smoke", "case": "speed", "result": "pass", "measurement": 1.5}
            | {"units": "s"},
        ),
    ]
)


@pytest.mark.parametrize("want_rows", [True, False])  # False: the worker API's, without ids
def test_test_cases_and_test_events_of_the_log(
    lab, users, inbox: Inbox, django_capture_on_commit_callbacks, want_rows: bool
) -> None:
    job = submit_job(JOB_TEXT, users["owner"])
    inbox.events()
    with django_capture_on_commit_callbacks(execute=True):
        made = ingest(job, 0, RESULTS, want_rows=want_rows)
        assert [case.name for case in made] == ["boot", "speed"]
        assert all((case.pk is not None) == want_rows for case in made)
        emit.test_events_in(job.id, 0, RESULTS, 0)
        emit.test_events_in(job.id, 0, RESULTS, 3)  # the same batch again: nothing new
    cases = inbox.events()
    assert [e.topic for e in cases] == [TESTCASE, TESTCASE, EVENT]
    assert cases[0].data == {"job": job.id, "suite": "0_smoke", "name": "boot", "result": "pass"}
    assert cases[1].data["measurement"] == "1.5000000000" and cases[1].data["unit"] == "s"
    assert cases[2].data == {"message": "firmware flashed", "job": job.id}
    assert all(e.scope.job and e.scope.submitter == users["owner"].pk for e in cases)


def test_nothing_is_built_when_events_are_off(
    lab, users, inbox: Inbox, settings: Any, monkeypatch, django_assert_num_queries
) -> None:
    monkeypatch.setattr(settings.LAVA, "event_notification", False)
    job = TestJob.objects.create(submitter=users["owner"], definition=JOB_TEXT)
    with django_assert_num_queries(0):
        emit.job(job)
        emit.device(Device(hostname="x", device_type_id="qemu"))


def test_no_publisher_costs_the_writer_nothing(
    lab, users, short_dir: Path, settings: Any, monkeypatch, django_capture_on_commit_callbacks
) -> None:
    monkeypatch.setattr(settings.LAVA, "internal_event_socket", short_dir / "absent.sock")
    start = time.perf_counter()
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(20):
            submit_job(JOB_TEXT, users["owner"])
    assert TestJob.objects.count() == 20
    # a stale socket file (a publisher that died) refuses at once too
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    stale.bind(str(short_dir / "stale.sock"))
    stale.close()
    monkeypatch.setattr(settings.LAVA, "internal_event_socket", short_dir / "stale.sock")
    with django_capture_on_commit_callbacks(execute=True):
        submit_job(JOB_TEXT, users["owner"])
    assert time.perf_counter() - start < 5


def test_a_publisher_that_does_not_read_delays_a_writer_once_then_not_at_all(
    lab, users, inbox: Inbox, monkeypatch
) -> None:
    monkeypatch.setitem(emit._health, "hold_until", 0.0)
    job = submit_job(JOB_TEXT, users["owner"])
    events = emit.facts.job_events([job.id]) * 200  # ~100 KB a send, never read
    waits = []
    for _ in range(40):
        start = time.perf_counter()
        emit.send(events)
        waits.append(time.perf_counter() - start)
    assert max(waits) < emit.WAIT + 0.5
    assert sum(waits) < emit.WAIT * 3 + 1  # after the first full wait, no more waiting
    assert emit._health["hold_until"] > time.monotonic()
    assert emit._health["dropped"] > 0
    assert inbox.events()  # what fitted was delivered


@pytest.mark.parametrize("visibility", ["public", "personal", "group"])
def test_the_event_of_a_job_in_hand_is_the_one_its_row_gives(lab, users, visibility) -> None:
    # transitions build it from the objects they hold; job_events reads the rows
    text = JOB_TEXT.replace("visibility: public", f"visibility: {visibility}")
    if visibility == "group":
        text = JOB_TEXT.replace("visibility: public", "visibility: {group: [lab]}")
    job = submit_job(text, users["owner"])
    assert facts.job_event(job).data == facts.job_events([job.id])[0].data
    transitions.job_scheduled(job, Device.objects.get(hostname="qemu-01"))
    with transaction.atomic():
        job = transitions.lock_job(job)
        transitions.job_running(job)
        held, read = facts.job_event(job), facts.job_events([job.id])[0]
    assert held.data == read.data and held.scope == read.scope and held.username == "owner"
    assert held.data["device"] == "qemu-01" and held.data["worker"] == "worker-01"
    assert bool(held.scope.groups) == (visibility == "group")
