"""Health history over XML-RPC (``scheduler.devices|workers.history``) and REST (``…/history/``).

A device goes Good → Bad (a failed health check) → Maintenance (an admin over
REST) → Good (an admin over XML-RPC); both APIs then give the same history,
newest first, with who and why.
"""

from __future__ import annotations

import xmlrpc.client

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from rpc_helpers import refused, rpc

from lava.server.scheduler import transitions
from lava.server.scheduler.healthcheck import HEALTH_USER
from lava.server.scheduler.models import (
    Device,
    DeviceType,
    GroupDeviceTypePermission,
    HealthChange,
    TestJob,
)
from lava.server.scheduler.states import DeviceHealth, JobHealth

ARROW = "\N{RIGHTWARDS ARROW}"
EXPECTED = [  # newest first: (old, new, reason, user)
    ("Maintenance", "Good", "PSU replaced (by admin over XML-RPC)", "admin"),
    ("Bad", "Maintenance", "new PSU (by admin over REST)", "admin"),
]


def failed_health_check(device: Device) -> TestJob:
    """A health check on ``device`` that ends Incomplete, as the worker would report it."""
    user, _ = User.objects.get_or_create(username=HEALTH_USER)
    job = TestJob.objects.create(
        submitter=user,
        definition="job_name: health check\n",
        health_check=True,
        requested_device=device,
        requested_device_type=device.device_type,
    )
    transitions.job_scheduled(job, device)
    transitions.job_running(job)
    transitions.job_finished(job, JobHealth.INCOMPLETE, reason="lava-run failed")
    return job


@pytest.fixture
def history(client: Client, lab, tokens, rest_auth) -> TestJob:
    """qemu-01 after Good → Bad → Maintenance → Good; the failed health check."""
    job = failed_health_check(Device.objects.get(hostname="qemu-01"))
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.BAD
    answer = client.post(
        "/api/v0.2/devices/qemu-01/set_health/",
        {"health": "MAINTENANCE", "reason": "new PSU"},
        **rest_auth["admin"],
    )
    assert answer.status_code == 202
    update = ("qemu-01", None, None, None, None, "GOOD", None, None, "PSU replaced")
    rpc(client, "scheduler.devices.update", *update, auth=tokens["admin"])
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.GOOD
    return job


def expected(job: TestJob) -> list[tuple[str, str, str, str]]:
    return [*EXPECTED, ("Good", "Bad", f"health check {job.id} incomplete", HEALTH_USER)]


def test_history_over_xmlrpc(client, tokens, history) -> None:
    rows = rpc(client, "scheduler.devices.history", "qemu-01")
    assert [(r["old"], r["new"], r["reason"], r["user"]) for r in rows] == expected(history)
    assert [r["message"] for r in rows] == [
        f"Maintenance {ARROW} Good (PSU replaced (by admin over XML-RPC))",
        f"Bad {ARROW} Maintenance (new PSU (by admin over REST))",
        f"Good {ARROW} Bad (health check {history.id} incomplete)",
    ]
    times = [r["time"] for r in rows]
    assert times == sorted(times, reverse=True)
    assert rpc(client, "scheduler.devices.history", "qemu-01", 1, 1) == rows[1:2]
    assert rpc(client, "scheduler.devices.history", "qemu-02") == []
    assert "LAVA's" in rpc(client, "system.methodHelp", "scheduler.devices.history")
    assert "scheduler.devices.history" in rpc(client, "system.listMethods")


def test_history_over_rest(client, rest_auth, history) -> None:
    answer = client.get("/api/v0.2/devices/qemu-01/history/")
    assert answer.status_code == 200
    page = answer.json()
    assert page["count"] == 3 and page["next"] is None
    rows = page["results"]
    assert [(r["old"], r["new"], r["reason"], r["user"]) for r in rows] == expected(history)
    assert rows[2]["message"] == f"Good {ARROW} Bad (health check {history.id} incomplete)"
    second = client.get("/api/v0.2/devices/qemu-01/history/?limit=1&offset=1").json()
    assert second["count"] == 3 and second["results"] == rows[1:2]
    assert "offset=2" in second["next"]


def test_the_apis_agree(client, history) -> None:
    over_rpc = rpc(client, "scheduler.devices.history", "qemu-01")
    over_rest = client.get("/api/v0.2/devices/qemu-01/history/").json()["results"]
    strip = ("time",)
    assert [{k: v for k, v in r.items() if k not in strip} for r in over_rpc] == [
        {k: v for k, v in r.items() if k not in strip} for r in over_rest
    ]


@pytest.fixture
def secret(lab) -> Device:
    """``secret-01``, on a type only group ``lab`` (owner, not stranger) may see."""
    hidden = DeviceType.objects.create(name="secret")
    GroupDeviceTypePermission.objects.create(
        devicetype=hidden, group=Group.objects.get(name="lab"), permission="view"
    )
    device = lab.device("secret-01", device_type=hidden)
    transitions.set_device_health(device, DeviceHealth.MAINTENANCE, "private reason")
    return device


def test_a_hidden_device_reads_as_a_missing_one(client, tokens, rest_auth, secret) -> None:
    for auth in (tokens["stranger"], {}):
        hidden = _fault(client, "scheduler.devices.history", "secret-01", auth)
        missing = _fault(client, "scheduler.devices.history", "ghost-01", auth)
        assert hidden.faultCode == missing.faultCode == 404
        assert hidden.faultString == missing.faultString.replace("ghost-01", "secret-01")
    assert len(rpc(client, "scheduler.devices.history", "secret-01", auth=tokens["owner"])) == 1
    for auth in (rest_auth["stranger"], {}):
        hidden = client.get("/api/v0.2/devices/secret-01/history/", **auth)
        missing = client.get("/api/v0.2/devices/ghost-01/history/", **auth)
        assert hidden.status_code == missing.status_code == 404
        assert hidden.json()["detail"] == missing.json()["detail"].replace("ghost-01", "secret-01")
    shown = client.get("/api/v0.2/devices/secret-01/history/", **rest_auth["owner"]).json()
    assert shown["results"][0]["reason"] == "private reason"


def _fault(client: Client, name: str, hostname: str, auth: dict) -> xmlrpc.client.Fault:
    with pytest.raises(xmlrpc.client.Fault) as caught:
        rpc(client, name, hostname, auth=auth)
    return caught.value


def test_limits_are_capped(client, lab) -> None:
    HealthChange.objects.bulk_create(
        HealthChange(kind="device", name="qemu-01", old="Good", new="Bad", reason=str(n))
        for n in range(150)
    )
    huge = 2**31 - 1  # the most Python's XML-RPC client sends
    assert len(rpc(client, "scheduler.devices.history", "qemu-01", 0, huge)) == 100
    assert rpc(client, "scheduler.devices.history", "qemu-01", huge, huge) == []
    assert rpc(client, "scheduler.devices.history", "qemu-01", -5, -5) == []
    assert refused(client, "scheduler.devices.history", "qemu-01", "all") == -32602
    answer = client.get("/api/v0.2/devices/qemu-01/history/?limit=1000000000000&offset=-3")
    assert answer.status_code == 200 and len(answer.json()["results"]) == 150


def test_worker_history_and_its_devices(client, lab, tokens, rest_auth) -> None:
    base = "/api/v0.2/workers/worker-01"
    Device.objects.filter(hostname="qemu-02").update(health=DeviceHealth.BAD)
    for health, reason in (("MAINTENANCE", "kernel update"), ("ACTIVE", "done")):
        answer = client.post(
            f"{base}/set_health/", {"health": health, "reason": reason}, **rest_auth["admin"]
        )
        assert answer.status_code == 202
    rows = rpc(client, "scheduler.workers.history", "worker-01")
    assert [(r["old"], r["new"], r["user"]) for r in rows] == [
        ("Maintenance", "Active", "admin"),
        ("Active", "Maintenance", "admin"),
    ]
    assert rows[0]["message"] == f"Maintenance {ARROW} Active (done (by admin over REST))"
    assert client.get(f"{base}/history/").json()["count"] == 2
    # back from Maintenance, its Good device needs a health check; the Bad one stays Bad
    (change,) = rpc(client, "scheduler.devices.history", "qemu-01")
    assert (change["old"], change["new"], change["user"]) == ("Good", "Unknown", "admin")
    assert change["reason"] == "worker worker-01 going active: done (by admin over REST)"
    assert Device.objects.get(hostname="qemu-02").health == DeviceHealth.BAD
    assert _fault(client, "scheduler.workers.history", "ghost", {}).faultCode == 404
    assert client.get("/api/v0.2/workers/ghost/history/").status_code == 404
