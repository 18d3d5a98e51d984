"""The admin methods over XML-RPC: who may call them, and what a refusal leaves behind."""

from __future__ import annotations

import xmlrpc.client

import pytest
from rpc_helpers import rpc

from lava.server.scheduler.models import Alias, Device, DeviceType, Tag, Worker
from lava.server.scheduler.states import DeviceHealth, WorkerHealth


@pytest.fixture(autouse=True)
def _lab(lab) -> None:
    """qemu-01 and qemu-02 on worker-01."""


def code(call) -> int:
    with pytest.raises(xmlrpc.client.Fault) as fault:
        call()
    return fault.value.faultCode


CALLS = [
    ("scheduler.devices.add", ("qemu-09", "qemu", "worker-01")),
    ("scheduler.devices.update", ("qemu-01", None, None, None, True, "MAINTENANCE")),
    ("scheduler.devices.tags.add", ("qemu-01", "usb")),
    ("scheduler.device_types.update", ("qemu", None, False)),
    ("scheduler.workers.add", ("worker-09",)),
    ("scheduler.workers.update", ("worker-01", None, "MAINTENANCE")),
    ("scheduler.workers.set_config", ("worker-01", "a: 1\n")),
    ("scheduler.tags.add", ("usb",)),
    ("scheduler.aliases.add", ("kvm", "qemu")),
]


@pytest.mark.parametrize(("name", "params"), CALLS, ids=[name for name, _ in CALLS])
def test_only_admins_may(client, tokens, name, params) -> None:
    assert code(lambda: rpc(client, name, *params)) == 401
    assert code(lambda: rpc(client, name, *params, auth=tokens["stranger"])) == 403
    rpc(client, name, *params, auth=tokens["admin"])


def test_what_admins_do(client, tokens) -> None:
    admin = tokens["admin"]
    rpc(client, "scheduler.devices.add", "qemu-09", "qemu", "worker-01", auth=admin)
    rpc(
        client,
        "scheduler.devices.update",
        "qemu-09",
        None,
        None,
        None,
        True,
        "maintenance",
        auth=admin,
    )
    assert Device.objects.get(hostname="qemu-09").health == DeviceHealth.MAINTENANCE
    # a health given at creation is the device's first health
    added = ("qemu-10", "qemu", "worker-01", None, None, True, "Retired")
    rpc(client, "scheduler.devices.add", *added, auth=admin)
    assert Device.objects.get(hostname="qemu-10").health == DeviceHealth.RETIRED
    rpc(client, "scheduler.devices.tags.add", "qemu-09", "usb", auth=admin)
    assert rpc(client, "scheduler.devices.tags.list", "qemu-09") == ["usb"]
    rpc(client, "scheduler.devices.tags.delete", "qemu-09", "usb", auth=admin)
    assert rpc(client, "scheduler.devices.tags.list", "qemu-09") == []
    rpc(client, "scheduler.workers.update", "worker-01", "bench", "MAINTENANCE", 3, auth=admin)
    worker = Worker.objects.get(hostname="worker-01")
    assert (worker.description, worker.health, worker.job_limit) == (
        "bench",
        WorkerHealth.MAINTENANCE,
        3,
    )
    rpc(client, "scheduler.workers.set_env", "worker-01", "purge: true\n", auth=admin)
    assert rpc(client, "scheduler.workers.get_env", "worker-01") == "purge: true\n"
    # a device type's description is stored, at creation and on update (it was ignored)
    rpc(client, "scheduler.device_types.add", "bbb", "BeagleBone Black", auth=admin)
    assert DeviceType.objects.get(name="bbb").description == "BeagleBone Black"
    rpc(client, "scheduler.device_types.update", "bbb", "a Cortex-A8 board", auth=admin)
    rpc(client, "scheduler.device_types.update", "bbb", None, False, auth=admin)
    shown = DeviceType.objects.get(name="bbb")
    assert (shown.description, shown.display) == ("a Cortex-A8 board", False)
    rpc(client, "scheduler.aliases.add", "kvm", "qemu", auth=admin)
    rpc(client, "scheduler.aliases.delete", "kvm", auth=admin)
    assert not Alias.objects.exists()
    rpc(client, "scheduler.tags.add", "hub", "a hub", auth=admin)
    rpc(client, "scheduler.tags.delete", "hub", auth=admin)
    assert not Tag.objects.filter(name="hub").exists()


def test_refusals_write_nothing(client, tokens) -> None:
    admin = tokens["admin"]
    assert (
        code(
            lambda: rpc(client, "scheduler.devices.add", "qemu-01", "qemu", "worker-01", auth=admin)
        )
        == 400
    )
    assert (
        code(lambda: rpc(client, "scheduler.devices.add", "new", "nope", "worker-01", auth=admin))
        == 404
    )
    # a health it cannot read: refused before the device is created
    bad_health = ("new", "qemu", "worker-01", None, None, True, "SLEEPY")
    assert code(lambda: rpc(client, "scheduler.devices.add", *bad_health, auth=admin)) == 400
    assert (
        code(
            lambda: rpc(
                client,
                "scheduler.devices.update",
                "qemu-01",
                None,
                None,
                None,
                True,
                "SLEEPY",
                auth=admin,
            )
        )
        == 400
    )
    assert code(lambda: rpc(client, "scheduler.devices.update", "ghost", auth=admin)) == 404
    assert code(lambda: rpc(client, "scheduler.tags.delete", "ghost", auth=admin)) == 404
    assert code(lambda: rpc(client, "scheduler.workers.get_config", "ghost", auth=admin)) == 404

    def env(text: str) -> object:
        return rpc(client, "scheduler.workers.set_env", "worker-01", text, auth=admin)

    def template(text: str) -> object:
        return rpc(client, "scheduler.device_types.set_template", "qemu", text, auth=admin)

    assert code(lambda: env("- not a mapping\n")) == 400
    assert code(lambda: rpc(client, "scheduler.workers.get_env", "worker-01")) == 404
    assert code(lambda: template("{% if %}")) == 400
    shipped = rpc(client, "scheduler.device_types.get_template", "qemu")
    assert "base.jinja2" in shipped
    assert code(lambda: rpc(client, "scheduler.device_types.get_health_check", "qemu")) == 404
    assert Device.objects.count() == 2 and not Device.objects.filter(hostname="new").exists()
    assert Device.objects.get(hostname="qemu-01").health == DeviceHealth.GOOD


def test_permissions_and_deletes(client, tokens) -> None:
    admin = tokens["admin"]
    rpc(client, "scheduler.device_types.perms_add", "qemu", "lab", "view_devicetype", auth=admin)
    assert rpc(client, "scheduler.device_types.perms_list", "qemu", auth=admin) == [
        {"name": "view_devicetype", "group": "lab"}
    ]
    # now only group lab sees the type and its devices
    assert rpc(client, "scheduler.devices.list", auth=tokens["stranger"]) == []
    assert [
        d["hostname"]
        for d in rpc(client, "scheduler.device_types.devices", "qemu", auth=tokens["owner"])
    ] == [
        "qemu-01",
        "qemu-02",
    ]
    assert (
        code(
            lambda: rpc(
                client, "scheduler.device_types.perms_add", "qemu", "lab", "own", auth=admin
            )
        )
        == 400
    )
    assert (
        code(
            lambda: rpc(
                client, "scheduler.device_types.perms_add", "qemu", "nope", "view", auth=admin
            )
        )
        == 404
    )
    rpc(client, "scheduler.device_types.perms_delete", "qemu", "lab", "view", auth=admin)
    assert len(rpc(client, "scheduler.devices.list", auth=tokens["stranger"])) == 2
    rpc(client, "scheduler.devices.perms_add", "qemu-02", "lab", "submit_to_device", auth=admin)
    assert rpc(client, "scheduler.devices.perms_list", "qemu-02", auth=admin) == [
        {"name": "submit_to_device", "group": "lab"}
    ]
    assert (
        code(
            lambda: rpc(client, "scheduler.devices.perms_list", "qemu-02", auth=tokens["stranger"])
        )
        == 403
    )
    rpc(client, "scheduler.devices.delete", "qemu-02", auth=admin)
    assert not Device.objects.filter(hostname="qemu-02").exists()
    assert code(lambda: rpc(client, "scheduler.workers.delete", "worker-01", auth=admin)) == 400
    rpc(client, "scheduler.workers.add", "spare", auth=admin)
    rpc(client, "scheduler.workers.delete", "spare", auth=admin)
    assert not Worker.objects.filter(hostname="spare").exists()
