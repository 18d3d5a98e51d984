"""``/api/v0.2/`` devices, device types, workers, tags, aliases: what the caller may see."""

from __future__ import annotations

import pytest
import yaml
from django.contrib.auth.models import Group
from django.test import Client

from lava.server.scheduler.models import (
    Alias,
    AuthToken,
    DeviceType,
    GroupDeviceTypePermission,
    Tag,
)

BASE = "/api/v0.2"


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST="localhost")


@pytest.fixture
def auth(users, lab) -> dict[str, dict[str, str]]:
    secret = DeviceType.objects.create(name="secret")
    GroupDeviceTypePermission.objects.create(
        devicetype=secret, group=Group.objects.get(name="lab"), permission="view"
    )
    lab.device("secret-01", device_type=secret)
    Alias.objects.create(name="hidden-alias", device_type=secret)
    Tag.objects.create(name="usb", description="a USB hub")
    return {
        name: {"HTTP_AUTHORIZATION": f"Token {AuthToken.objects.create(user=user).secret}"}
        for name, user in users.items()
    }


def names(answer, key: str) -> list[str]:
    return [row[key] for row in answer.json()["results"]]


def test_devices_by_who_asks(client, auth) -> None:
    assert names(client.get(f"{BASE}/devices/"), "hostname") == ["qemu-01", "qemu-02"]
    owner = client.get(f"{BASE}/devices/", **auth["owner"])
    assert names(owner, "hostname") == ["qemu-01", "qemu-02", "secret-01"]
    row = owner.json()["results"][0]
    assert (row["state"], row["health"], row["worker_host"]) == ("Idle", "Good", "worker-01")
    assert client.get(f"{BASE}/devices/secret-01/", **auth["stranger"]).status_code == 404
    assert client.get(f"{BASE}/devices/secret-01/", **auth["owner"]).status_code == 200
    assert names(client.get(f"{BASE}/devices/?health=good"), "hostname") == ["qemu-01", "qemu-02"]
    assert client.get(f"{BASE}/devices/?health=great").status_code == 400
    assert names(client.get(f"{BASE}/devices/?hostname=qemu-02"), "hostname") == ["qemu-02"]


def test_device_dictionary(client, auth) -> None:
    url = f"{BASE}/devices/qemu-01/dictionary/"
    text = client.get(url).content.decode()
    assert "extends 'qemu.jinja2'" in text
    assert yaml.safe_load(client.get(url + "?render=true").content)["hostname"] == "qemu-01"
    hidden = client.get(f"{BASE}/devices/secret-01/dictionary/", **auth["stranger"])
    assert hidden.status_code == 404
    assert client.post(url, {"dictionary": text}).status_code in (401, 403)
    assert client.post(url, {"dictionary": text}, **auth["owner"]).status_code == 403
    changed = text + "{% set memory = 512 %}\n"
    assert client.post(url, {"dictionary": changed}, **auth["admin"]).status_code == 200
    assert client.get(url).content.decode() == changed
    bad = client.post(url, {"dictionary": "{% extends 'x.jinja2' %}"}, **auth["admin"])
    assert bad.status_code == 400 and "x.jinja2" in bad.json()["message"]
    assert client.get(url).content.decode() == changed


def test_types_workers_tags_aliases(client, auth) -> None:
    assert names(client.get(f"{BASE}/devicetypes/"), "name") == ["qemu"]
    owner_types = client.get(f"{BASE}/devicetypes/", **auth["owner"])
    assert names(owner_types, "name") == ["qemu", "secret"]
    assert client.get(f"{BASE}/devicetypes/secret/").status_code == 404
    assert names(client.get(f"{BASE}/workers/"), "hostname") == ["worker-01"]
    assert client.get(f"{BASE}/workers/worker-01/").json()["state"] == "Online"
    assert names(client.get(f"{BASE}/tags/"), "name") == ["usb"]
    assert names(client.get(f"{BASE}/aliases/"), "name") == []
    assert names(client.get(f"{BASE}/aliases/", **auth["owner"]), "name") == ["hidden-alias"]
    assert client.get(f"{BASE}/aliases/hidden-alias/").status_code == 404
