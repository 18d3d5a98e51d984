"""Worker pages: the list, a worker's page, its health change and history, hostile input."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from lava.server.scheduler.models import GroupDevicePermission, HealthChange, Worker
from lava.server.scheduler.states import WorkerHealth

USERS = ("anonymous", "owner", "stranger", "admin")


def client_for(who: str, users: dict[str, User]) -> Client:
    client = Client()
    if who != "anonymous":
        client.force_login(users[who])
    return client


@pytest.fixture
def hidden(lab: Any) -> None:
    device = lab.device("secret-01")
    group = Group.objects.get(name="lab")
    GroupDevicePermission.objects.create(group=group, device=device, permission="view")


@pytest.mark.parametrize("who", USERS)
def test_worker_pages(who: str, lab: Any, users: dict[str, User], hidden: None) -> None:
    Worker.objects.filter(hostname="worker-01").update(
        version="2026.11", job_limit=3, description="rack <2>"
    )
    client = client_for(who, users)
    listing = client.get("/scheduler/allworkers")
    assert listing.status_code == 200
    body = listing.content.decode()
    assert 'href="/scheduler/worker/worker-01"' in body and "rack &lt;2&gt;" in body
    devices = body.split('href="/scheduler/worker/worker-01"')[1].split("</tr>")[0]
    assert f"<td>{3 if who in ('owner', 'admin') else 2}</td>" in devices  # visible devices
    page = client.get("/scheduler/worker/worker-01")
    assert page.status_code == 200
    text = page.content.decode()
    assert "2026.11" in text and "Online" in text and "Active" in text
    assert "qemu-01" in text and ("secret-01" in text) == (who in ("owner", "admin"))
    assert ('id="health-form"' in text) == (who == "admin")
    assert Worker.objects.get(hostname="worker-01").token not in text  # never its token


def test_missing_worker(lab: Any, users: dict[str, User]) -> None:
    client = client_for("stranger", users)
    assert client.get("/scheduler/worker/nothing").status_code == 404
    assert client.post("/scheduler/worker/nothing/health", {"health": "MAINTENANCE"}).status_code
    for name in ("%00", "w" * 300, "%C3%BC", "a%2Fb"):
        assert client.get(f"/scheduler/worker/{name}").status_code == 404


def test_health_change_goes_into_history(lab: Any, users: dict[str, User]) -> None:
    client = client_for("admin", users)
    response = client.post(
        "/scheduler/worker/worker-01/health", {"health": "MAINTENANCE", "reason": "kernel update"}
    )
    assert response.status_code == 302 and response["Location"] == "/scheduler/worker/worker-01"
    assert Worker.objects.get(hostname="worker-01").health == WorkerHealth.MAINTENANCE
    change = HealthChange.objects.get(kind="worker", name="worker-01")
    assert (change.old, change.new) == ("Active", "Maintenance")
    assert change.reason == "kernel update (by admin over web)"
    body = client.get("/scheduler/worker/worker-01").content.decode()
    assert "health set to Maintenance" in body
    assert "kernel update (by admin over web)" in body.split('id="health-history"')[1]
    assert (
        client.post("/scheduler/worker/worker-01/health", {"health": "active"}).status_code == 302
    )
    assert Worker.objects.get(hostname="worker-01").health == WorkerHealth.ACTIVE


def test_health_change_with_the_permission(lab: Any, users: dict[str, User]) -> None:
    users["owner"].user_permissions.add(Permission.objects.get(codename="change_worker"))
    client = client_for("owner", users)
    response = client.post("/scheduler/worker/worker-01/health", {"health": "RETIRED"})
    assert response.status_code == 302
    assert HealthChange.objects.get(name="worker-01").reason == "web page (by owner over web)"


@pytest.mark.parametrize("who", ("owner", "stranger"))
def test_health_change_refused(who: str, lab: Any, users: dict[str, User]) -> None:
    response = client_for(who, users).post(
        "/scheduler/worker/worker-01/health", {"health": "MAINTENANCE", "reason": "x"}
    )
    assert response.status_code == 403 and "change_worker" in response.content.decode()
    assert Worker.objects.get(hostname="worker-01").health == WorkerHealth.ACTIVE
    assert not HealthChange.objects.exists()
    anonymous = Client().post("/scheduler/worker/worker-01/health", {"health": "MAINTENANCE"})
    assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]


@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"health": "GOOD"}, 400),  # a device's health, not a worker's
        ({"health": ""}, 400),
        ({"health": "ACTIVE\x00"}, 400),
        ({"health": "ACTIVE", "reason": "r" * 10240}, 413),
        ({"health": "MAINTENANCE", "reason": "a\x00b"}, 400),
    ],
)
def test_health_change_abuse(
    form: dict[str, str], status: int, lab: Any, users: dict[str, User]
) -> None:
    response = client_for("admin", users).post("/scheduler/worker/worker-01/health", form)
    assert response.status_code == status
    assert len(response.content) < 20000
    assert Worker.objects.get(hostname="worker-01").health == WorkerHealth.ACTIVE
    assert not HealthChange.objects.exists()
