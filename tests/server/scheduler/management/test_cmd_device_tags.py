"""``lava-server manage device-tags``: create, add, remove, show, list."""

from __future__ import annotations

import json
from io import StringIO

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from lava.server.scheduler.models import Device, Tag


def manage(*args: str) -> str:
    out = StringIO()
    call_command("device-tags", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as exc:
        call_command("device-tags", *args, stdout=StringIO(), stderr=StringIO())
    return str(exc.value)


def tags_of(hostname: str) -> list[str]:
    return list(Device.objects.get(hostname=hostname).tags.values_list("name", flat=True))


def test_create_add_remove(lab) -> None:
    manage("create", "usb", "a USB stick is plugged in")
    manage("create", "fast")
    assert Tag.objects.get(name="usb").description == "a USB stick is plugged in"
    manage("add", "qemu-01", "--tags", "usb", "fast")
    assert tags_of("qemu-01") == ["fast", "usb"]
    manage("remove", "qemu-01", "--tags", "usb")
    assert tags_of("qemu-01") == ["fast"]


def test_refused(lab) -> None:
    manage("create", "usb")
    assert refused("create", "usb") == "tag 'usb' already exists"
    assert refused("create", "a b").startswith("tag name 'a b' is not valid")
    assert refused("add", "qemu-01", "--tags", "usb", "nosuch") == "tag 'nosuch' does not exist"
    assert tags_of("qemu-01") == []
    assert refused("add", "nosuch", "--tags", "usb") == "device 'nosuch' does not exist"
    assert refused("remove", "qemu-01", "--tags", "usb") == (
        "device 'qemu-01' does not have tag 'usb'"
    )


def test_show_and_list(lab) -> None:
    lab.device("qemu-03", tags=("usb",))
    manage("create", "spare", "unused")
    rows = json.loads(manage("list", "--format", "json"))
    assert rows == [
        {"name": "spare", "description": "unused", "devices": 0},
        {"name": "usb", "description": "", "devices": 1},
    ]
    assert yaml.safe_load(manage("show", "qemu-03", "--format", "yaml")) == [rows[1]]
    assert manage("show", "qemu-01") == "(none)\n"
