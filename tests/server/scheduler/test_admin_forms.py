"""The Django admin's add and change forms save through the services, never on their own.

What a service refuses, the form does not save, whatever Django's own form
would have let through; what it allows is stored as the service stores it
(a new device in Maintenance, a health change through the transitions).
"""

from __future__ import annotations

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.auth.models import Group, Permission, User
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


def test_users_are_added_and_changed_by_the_service(lab, users, admin_client) -> None:
    add = reverse("admin:auth_user_add")
    strong = "a long passphrase 42"
    data = {"username": "carol", "password1": strong, "password2": strong}
    post(admin_client, add, {**data, "usable_password": "true"})
    carol = User.objects.get(username="carol")
    assert carol.check_password(strong)
    messages = post(admin_client, add, {**data, "username": "ca/rol", "usable_password": "true"})
    assert not User.objects.filter(username="ca/rol").exists(), messages
    # the change form: names, flags, groups and permissions, each through the service
    lab_group = Group.objects.get(name="lab")
    change = reverse("admin:auth_user_change", args=[carol.pk])
    permission = Permission.objects.get(codename="change_device")
    form = {
        "email": "carol@lab.example",
        "first_name": "Carol",
        "last_name": "",
        "is_active": "on",
        "groups": [str(lab_group.pk)],
        "user_permissions": [str(permission.pk)],
    }
    post(admin_client, change, form)
    carol.refresh_from_db()
    assert (carol.email, carol.first_name) == ("carol@lab.example", "Carol")
    assert list(carol.groups.values_list("name", flat=True)) == ["lab"]
    assert list(carol.user_permissions.values_list("codename", flat=True)) == ["change_device"]
    post(admin_client, change, {**form, "groups": [], "user_permissions": []})
    assert not carol.groups.exists() and not carol.user_permissions.exists()
    # the password page sets the password through the service too
    page = reverse("admin:auth_user_password_change", args=[carol.pk])
    newer = "another long passphrase 43"
    post(admin_client, page, {"password1": newer, "password2": newer, "usable_password": "true"})
    carol.refresh_from_db()
    assert carol.check_password(newer)


def test_staff_who_may_change_users_cannot_make_a_superuser(lab, users) -> None:
    owner = users["owner"]
    owner.is_staff = True
    owner.save()
    codenames = ("view_user", "change_user")
    owner.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    client = Client(HTTP_HOST="localhost")
    client.force_login(User.objects.get(pk=owner.pk))
    stranger = users["stranger"]
    change = reverse("admin:auth_user_change", args=[stranger.pk])
    post(client, change, {"email": "s@lab.example", "is_active": "on", "is_superuser": "on"})
    stranger.refresh_from_db()
    assert stranger.email == "s@lab.example" and not stranger.is_superuser  # read-only for them


def test_groups_are_added_with_their_permissions_by_the_service(lab, admin_client) -> None:
    permission = Permission.objects.get(codename="change_device")
    data = {"name": "operators", "permissions": [str(permission.pk)]}
    post(admin_client, reverse("admin:auth_group_add"), data)
    group = Group.objects.get(name="operators")
    assert list(group.permissions.values_list("codename", flat=True)) == ["change_device"]
    messages = post(admin_client, reverse("admin:auth_group_add"), {"name": 'a"b'})
    assert not Group.objects.filter(name='a"b').exists(), messages
