"""The home page (/) and the scheduler's overview (/scheduler/): counts and visibility."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from lava.server.scheduler.models import DeviceType, GroupDeviceTypePermission, TestJob, Worker
from lava.server.scheduler.states import (
    DeviceHealth,
    DeviceState,
    JobState,
    Visibility,
    WorkerState,
)


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST="localhost")


def job(user, **fields) -> TestJob:
    return TestJob.objects.create(submitter=user, definition="x", **fields)


def card(body: str, name: str) -> str:
    """The big number of a summary card."""
    found = re.search(rf'id="card-{name}".*?display-6[^>]*>(\d+)<', body, re.S)
    assert found, name
    return found.group(1)


def type_line(body: str, name: str) -> list[str]:
    """The numbers of a device type's row in the overview."""
    row = re.search(
        rf'<td><a href="/scheduler/device_type/{name}">{name}</a></td>(.*?)</tr>', body, re.S
    )
    assert row, name
    return re.findall(r">(\d+)<", row.group(1))


@pytest.fixture
def busy_lab(lab, users):
    lab.device("qemu-03", health=DeviceHealth.MAINTENANCE)
    lab.device("qemu-04", health=DeviceHealth.BAD)
    lab.device("qemu-05", health=DeviceHealth.RETIRED)
    busy = lab.device("qemu-06")
    busy.state = DeviceState.RUNNING
    busy.save()
    dt = lab.device_type
    job(users["owner"], requested_device_type=dt, description="waiting one")
    job(users["owner"], requested_device_type=dt, visibility=Visibility.PERSONAL, is_public=False)
    job(users["admin"], requested_device_type=dt, state=JobState.RUNNING, actual_device=busy)
    job(users["admin"], state=JobState.FINISHED, description="done one")
    return lab


def test_home_summarises_the_lab(client, users, busy_lab) -> None:
    client.force_login(users["owner"])
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert card(body, "running") == "1"
    assert card(body, "queued") == "2"  # the owner sees their private job
    assert "waiting one" in body and "done one" in body
    health = dict(re.findall(r'<span class="health-(\w+)">\w+</span><span>(\d+)</span>', body))
    assert health == {"good": "3", "unknown": "0", "looping": "0", "bad": "1", "maintenance": "1"}


@pytest.mark.parametrize("who", ["anonymous", "stranger"])
def test_home_hides_private_jobs(client, users, busy_lab, who) -> None:
    if who != "anonymous":
        client.force_login(users[who])
    secret = job(
        users["owner"], visibility=Visibility.PERSONAL, is_public=False, description="hush"
    )
    body = client.get("/").content.decode()
    assert "hush" not in body and f'/scheduler/job/{secret.id}"' not in body
    assert card(body, "queued") == "1"


def test_home_is_a_few_cheap_queries(
    client, users, busy_lab, django_assert_max_num_queries
) -> None:
    for n in range(20):
        job(users["owner"], description=f"more {n}")
    client.force_login(users["owner"])
    with django_assert_max_num_queries(10):
        assert client.get("/").status_code == 200


def test_scheduler_overview_counts_each_device_type(client, users, busy_lab) -> None:
    other = DeviceType.objects.create(name="bbb")
    busy_lab.device("bbb-01", device_type=other)
    offline = Worker.objects.create(hostname="worker-02", state=WorkerState.OFFLINE)
    busy_lab.device("bbb-02", device_type=other, worker=offline)
    DeviceType.objects.create(name="hidden-from-menu", display=False)
    body = client.get("/scheduler/").content.decode()
    # idle, busy, offline, maintenance, devices, running, queue (retired not counted)
    assert type_line(body, "qemu") == ["2", "1", "1", "1", "5", "1", "1"]
    assert type_line(body, "bbb") == ["1", "0", "1", "0", "2", "0", "0"]
    assert "hidden-from-menu" not in body
    assert 'href="/scheduler/queue?device_type=qemu"' in body


def test_scheduler_overview_hides_device_types_a_user_may_not_see(client, users, lab) -> None:
    secret = DeviceType.objects.create(name="secret-board")
    GroupDeviceTypePermission.objects.create(
        group=users["owner"].groups.first(), devicetype=secret, permission="view"
    )
    lab.device("secret-01", device_type=secret)
    assert "secret-board" not in client.get("/scheduler/").content.decode()
    client.force_login(users["stranger"])
    assert "secret-board" not in client.get("/scheduler/").content.decode()
    client.force_login(users["owner"])
    assert "secret-board" in client.get("/scheduler/").content.decode()


def test_both_pages_render_an_empty_lab(client, db) -> None:
    assert client.get("/").status_code == 200
    assert "No device types" in client.get("/scheduler/").content.decode()
