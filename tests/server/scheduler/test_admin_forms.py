"""The Django admin's add and change forms save through the services, never on their own.

What a service refuses, the form does not save, whatever Django's own form
would have let through; what it allows is stored as the service stores it
(a new device in Maintenance, a health change through the transitions).
"""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from lava.server.scheduler.models import (
    Alias,
    Device,
    DeviceType,
    GroupDevicePermission,
    Tag,
    Worker,
)
from lava.server.scheduler.states import DeviceHealth


@pytest.fixture
def admin_client(users) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(users["admin"])
    return client


def said(answer) -> list[str]:
    return [str(m) for m in answer.context["messages"]] if answer.context else []


def post(client: Client, url: str, data: dict) -> list[str]:
    answer = client.post(url, data, follow=True)
    assert answer.status_code == 200, answer.content[:300]
    return said(answer)


def test_a_tag_added_in_the_admin_is_made_by_the_service(lab, admin_client) -> None:
    url = reverse("admin:scheduler_tag_add")
    post(admin_client, url, {"name": "usb-hub", "description": "a hub"})
    tag = Tag.objects.get(name="usb-hub")
    assert LogEntry.objects.filter(object_id=str(tag.pk), action_flag=ADDITION).exists()
    # a name the service refuses (it names files) but Django's SlugField would take
    messages = post(admin_client, url, {"name": "-rf", "description": ""})
    assert any("Nothing was saved" in m and "not valid" in m for m in messages), messages
    assert not Tag.objects.filter(name="-rf").exists()


def test_a_device_added_in_the_admin_starts_in_maintenance_with_its_tags(lab, admin_client) -> None:
    Tag.objects.create(name="usb")
    data = {
        "hostname": "qemu-09",
        "device_type": "qemu",
        "worker_host": "worker-01",
        "description": "bench 9",
        "tags": [str(Tag.objects.get(name="usb").pk)],
        "permissions-TOTAL_FORMS": "0",
        "permissions-INITIAL_FORMS": "0",
    }
    post(admin_client, reverse("admin:scheduler_device_add"), data)
    device = Device.objects.get(hostname="qemu-09")
    assert device.health == DeviceHealth.MAINTENANCE and device.description == "bench 9"
    assert list(device.tags.values_list("name", flat=True)) == ["usb"]


def test_a_device_permission_row_is_granted_by_the_service(lab, admin_client) -> None:
    group = Group.objects.get(name="lab")
    data = {
        "worker_host": "worker-01",
        "description": "",
        "permissions-TOTAL_FORMS": "1",
        "permissions-INITIAL_FORMS": "0",
        "permissions-0-group": str(group.pk),
        "permissions-0-permission": "view",
    }
    url = reverse("admin:scheduler_device_change", args=["qemu-01"])
    post(admin_client, url, data)
    row = GroupDevicePermission.objects.get(device="qemu-01", group=group)
    assert row.permission == "view"
    # the row changed (view -> submit) is withdrawn and granted anew; deleted, withdrawn
    changed = {**data, "permissions-INITIAL_FORMS": "1", "permissions-0-id": str(row.pk)}
    post(admin_client, url, {**changed, "permissions-0-permission": "submit"})
    rows = GroupDevicePermission.objects.filter(device="qemu-01")
    assert list(rows.values_list("permission", flat=True)) == ["submit"]
    row = rows.get()
    gone = {**changed, "permissions-0-id": str(row.pk), "permissions-0-permission": "submit"}
    post(admin_client, url, {**gone, "permissions-0-DELETE": "on"})
    assert not GroupDevicePermission.objects.exists()


def test_a_worker_change_the_service_refuses_saves_nothing(lab, admin_client) -> None:
    url = reverse("admin:scheduler_worker_add")
    post(admin_client, url, {"hostname": "worker-09", "description": "spare", "job_limit": "2"})
    assert Worker.objects.get(hostname="worker-09").job_limit == 2
    # a hostname that names a directory badly: Django's CharField takes it
    messages = post(admin_client, url, {"hostname": "../w", "description": "", "job_limit": "0"})
    assert any("Nothing was saved" in m for m in messages), messages
    assert not Worker.objects.filter(hostname="../w").exists()


def test_a_device_type_and_its_aliases_are_added_together_or_not_at_all(lab, admin_client) -> None:
    url = reverse("admin:scheduler_devicetype_add")
    base = {
        "name": "bbb",
        "description": "BeagleBone Black",
        "health_frequency": "24",
        "health_denominator": "0",
        "display": "on",
        "permissions-TOTAL_FORMS": "0",
        "permissions-INITIAL_FORMS": "0",
        "aliases-TOTAL_FORMS": "1",
        "aliases-INITIAL_FORMS": "0",
    }
    post(admin_client, url, {**base, "aliases-0-name": "beaglebone"})
    assert DeviceType.objects.get(name="bbb").description == "BeagleBone Black"
    assert Alias.objects.get(name="beaglebone").device_type_id == "bbb"
    # an alias that is another type's name: the type is not added either
    messages = post(admin_client, url, {**base, "name": "bbx", "aliases-0-name": "qemu"})
    assert any("Nothing was saved" in m and "name of a device type" in m for m in messages)
    assert not DeviceType.objects.filter(name="bbx").exists()
