"""``system.user_can_*``, ``system.set_user_groups`` and ``system.assign|revoke_perm_*``."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group
from rpc_helpers import refused, rpc

from lava.server.scheduler.models import (
    DeviceType,
    GroupDevicePermission,
    GroupDeviceTypePermission,
    TestJob,
)
from lava.server.scheduler.states import DeviceHealth, Visibility


@pytest.fixture
def restricted(lab) -> DeviceType:
    """A type ``secret`` (device secret-01) that only group ``lab`` may see and submit to."""
    secret = DeviceType.objects.create(name="secret")
    for permission in ("view", "submit"):
        GroupDeviceTypePermission.objects.create(
            devicetype=secret, group=Group.objects.get(name="lab"), permission=permission
        )
    lab.device("secret-01", device_type=secret)
    lab.device("old-01", health=DeviceHealth.RETIRED)
    return secret


def test_user_can_view_jobs(client, tokens, users) -> None:
    private = TestJob.objects.create(
        submitter=users["owner"], definition="x", visibility=Visibility.PERSONAL
    )
    public = TestJob.objects.create(submitter=users["owner"], definition="x")
    ids = [private.id, public.id, 999]
    mine = rpc(client, "system.user_can_view_jobs", ids, auth=tokens["owner"])
    assert mine == {str(private.id): True, str(public.id): True}
    theirs = rpc(client, "system.user_can_view_jobs", ids, auth=tokens["stranger"])
    assert theirs == {str(private.id): False, str(public.id): True}
    asked = rpc(client, "system.user_can_view_jobs", ids, "stranger", auth=tokens["admin"])
    assert asked == theirs
    # only a superuser may ask on another's behalf; anonymous callers may not ask at all
    name = "system.user_can_view_jobs"
    assert refused(client, name, ids, "owner", auth=tokens["stranger"]) == 403
    assert refused(client, name, ids) == 401
    assert refused(client, name, ids, "ghost", auth=tokens["admin"]) == 404
    assert refused(client, name, "1", auth=tokens["owner"]) == -32602  # not an array


def test_user_can_view_devices(client, tokens, restricted) -> None:
    hosts = ["qemu-01", "secret-01", "old-01", "ghost"]
    owner = rpc(client, "system.user_can_view_devices", hosts, auth=tokens["owner"])
    seen = {"visible": True, "is_pipeline": True, "exclusive": True}
    assert owner == {"qemu": [{"qemu-01": seen}], "secret": [{"secret-01": seen}]}
    stranger = rpc(client, "system.user_can_view_devices", hosts, "stranger", auth=tokens["admin"])
    assert stranger == {"qemu": [{"qemu-01": seen}], "secret": [{"secret-01": {"visible": False}}]}


def test_user_can_submit_to_types(client, tokens, restricted) -> None:
    types = ["qemu", "secret", "ghost"]
    owner = rpc(client, "system.user_can_submit_to_types", types, auth=tokens["owner"])
    assert owner == {"qemu": True, "secret": True}
    stranger = rpc(client, "system.user_can_submit_to_types", types, auth=tokens["stranger"])
    assert stranger == {"qemu": True, "secret": False}


def test_assign_and_revoke_perms(client, tokens, restricted) -> None:
    admin = tokens["admin"]
    rpc(client, "system.assign_perm_device", "view_device", "qemu-02", "lab", auth=admin)
    row = GroupDevicePermission.objects.get(device_id="qemu-02")
    assert (row.group.name, row.permission) == ("lab", "view")
    stranger = rpc(client, "system.user_can_view_devices", ["qemu-02"], auth=tokens["stranger"])
    assert stranger == {"qemu": [{"qemu-02": {"visible": False}}]}
    rpc(client, "system.revoke_perm_device", "view_device", "qemu-02", "lab", auth=admin)
    assert not GroupDevicePermission.objects.filter(device_id="qemu-02").exists()
    args = ("change_devicetype", "qemu", "lab")
    rpc(client, "system.assign_perm_device_type", *args, auth=admin)
    assert GroupDeviceTypePermission.objects.filter(devicetype_id="qemu").count() == 1
    rpc(client, "system.revoke_perm_device_type", *args, auth=admin)
    assert not GroupDeviceTypePermission.objects.filter(devicetype_id="qemu").exists()
    assert refused(client, "system.assign_perm_device_type", *args, auth=tokens["owner"]) == 403
    bad = ("watch_devicetype", "qemu", "lab")
    assert refused(client, "system.assign_perm_device_type", *bad, auth=admin) == 400
    ghost = ("view_devicetype", "qemu", "ghosts")
    assert refused(client, "system.assign_perm_device_type", *ghost, auth=admin) == 404
    assert not GroupDeviceTypePermission.objects.filter(devicetype_id="qemu").exists()


def test_set_user_groups(client, tokens, users) -> None:
    Group.objects.create(name="ops")
    rpc(
        client,
        "system.set_user_groups",
        "stranger@example.com",
        ["lab", "ops"],
        auth=tokens["admin"],
    )
    assert sorted(users["stranger"].groups.values_list("name", flat=True)) == ["lab", "ops"]
    name = "system.set_user_groups"
    assert refused(client, name, "stranger@example.com", ["ghosts"], auth=tokens["admin"]) == 400
    assert refused(client, name, "nobody@example.com", [], auth=tokens["admin"]) == 400
    assert refused(client, name, "stranger@example.com", [], auth=tokens["owner"]) == 403
    assert sorted(users["stranger"].groups.values_list("name", flat=True)) == ["lab", "ops"]
