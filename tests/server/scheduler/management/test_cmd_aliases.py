"""``lava-server manage aliases``: add, list, show, remove."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from lava.server.scheduler.models import Alias


def manage(*args: str) -> str:
    out = StringIO()
    call_command("aliases", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as exc:
        call_command("aliases", *args, stdout=StringIO(), stderr=StringIO())
    return str(exc.value)


def test_add_show_list_remove(lab) -> None:
    manage("add", "emu", "qemu")
    assert Alias.objects.get(name="emu").device_type_id == "qemu"
    assert manage("show", "emu") == "device_type: qemu\n"
    assert json.loads(manage("list", "--format", "json")) == [
        {"alias": "emu", "device_type": "qemu"}
    ]
    assert manage("list").splitlines()[2].split() == ["emu", "qemu"]
    manage("remove", "emu")
    assert not Alias.objects.exists()


def test_refused(lab) -> None:
    manage("add", "emu", "qemu")
    assert refused("add", "emu", "qemu") == "alias 'emu' already exists for device type 'qemu'"
    assert refused("add", "x", "nosuch") == "device type 'nosuch' does not exist"
    assert refused("add", "qemu", "qemu") == "alias 'qemu' is the name of a device type"
    assert refused("show", "nosuch") == "alias 'nosuch' does not exist"
    assert refused("remove", "nosuch") == "alias 'nosuch' does not exist"
