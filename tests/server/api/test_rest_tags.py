"""``/api/v0.2/tags/`` and ``aliases/``: adding and deleting them over REST."""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.test import Client

from lava.server.scheduler.models import Alias, DeviceType, GroupDeviceTypePermission, Tag

BASE = "/api/v0.2"


def test_tags(client: Client, lab, rest_auth, users) -> None:
    url = f"{BASE}/tags/"
    body = {"name": "usb-hub", "description": "a powered hub"}
    assert client.post(url, body).status_code == 401
    assert client.post(url, body, **rest_auth["owner"]).status_code == 403
    users["owner"].user_permissions.add(Permission.objects.get(codename="add_tag"))
    made = client.post(url, body, **rest_auth["owner"])
    assert made.status_code == 201 and made.json()["name"] == "usb-hub"
    again = client.post(url, body, **rest_auth["owner"])
    assert again.status_code == 400 and "already exists" in again.json()["message"]
    bad = client.post(url, {"name": "no spaces"}, **rest_auth["admin"])
    assert bad.status_code == 400 and Tag.objects.count() == 1
    tag_url = f"{url}{made.json()['id']}/"
    assert client.delete(tag_url, **rest_auth["owner"]).status_code == 403  # no delete_tag
    assert client.delete(tag_url, **rest_auth["admin"]).status_code == 204
    assert not Tag.objects.exists()


def test_aliases(client: Client, lab, rest_auth) -> None:
    secret = DeviceType.objects.create(name="secret")
    GroupDeviceTypePermission.objects.create(
        devicetype=secret, group=Group.objects.get(name="lab"), permission="view"
    )
    url = f"{BASE}/aliases/"
    assert client.post(url, {"name": "kvm", "device_type": "qemu"}).status_code == 401
    made = client.post(url, {"name": "kvm", "device_type": "qemu"}, **rest_auth["admin"])
    assert made.status_code == 201 and made.json() == {"name": "kvm", "device_type": "qemu"}
    assert Alias.objects.get(name="kvm").device_type_id == "qemu"
    taken = client.post(url, {"name": "kvm", "device_type": "qemu"}, **rest_auth["admin"])
    assert taken.status_code == 400
    odd = client.post(url, {"name": "a/b", "device_type": "qemu"}, **rest_auth["admin"])
    assert odd.status_code == 400 and "not valid" in odd.json()["message"]
    ghost = client.post(url, {"name": "x", "device_type": "ghost"}, **rest_auth["admin"])
    assert ghost.status_code == 404 and "ghost" in ghost.json()["detail"]
    assert client.delete(f"{url}kvm/", **rest_auth["stranger"]).status_code == 403
    assert client.delete(f"{url}kvm/", **rest_auth["admin"]).status_code == 204
    assert not Alias.objects.exists()
