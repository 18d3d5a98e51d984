"""Every name an admin operation stores fits its model field and a safe pattern.

SQLite does not enforce ``max_length``: a 300-character device-type name was
stored and then broke ``device_types.list`` for everyone.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from rpc_helpers import rpc

from lava.server.scheduler.models import Alias, Device, DeviceType, Tag, Worker
from lava.server.services import Actor, ServiceError, accounts, device_types, tags, workers
from lava.server.services import devices as device_ops
from lava.server.services.names import NAMES, check_name

CONSOLE = Actor.console()
CREATE: dict[str, Callable[[str], Any]] = {
    "device type": lambda name: device_types.add_device_type(CONSOLE, name, require_template=False),
    "tag": lambda name: tags.create_tag(CONSOLE, name),
    "device": lambda name: device_ops.add_device(
        CONSOLE, name, device_type="qemu", worker="worker-01"
    ),
    "worker": lambda name: workers.add_worker(CONSOLE, name),
    "alias": lambda name: device_types.add_alias(CONSOLE, name, "qemu"),
    "group": lambda name: accounts.add_group(CONSOLE, name),
    "user": lambda name: accounts.add_user(CONSOLE, name),
}
UNSAFE = ["../etc", "a/b", "a\nb", "-rf", " lead", "tab\there", "nul\x00", "é" * 3 + "/"]


@pytest.mark.parametrize("kind", sorted(CREATE))
def test_a_name_one_character_too_long_is_refused(lab, kind) -> None:
    longest = NAMES[kind].longest
    CREATE[kind]("a" * longest)  # exactly the field's length is fine
    with pytest.raises(ServiceError, match=f"{longest + 1} characters long: at most {longest}"):
        CREATE[kind]("b" * (longest + 1))


@pytest.mark.parametrize("kind", sorted(CREATE))
@pytest.mark.parametrize("name", UNSAFE)
def test_an_unsafe_name_is_refused(lab, kind, name) -> None:
    if (kind, name) == ("user", "-rf"):
        pytest.skip("Django's usernames may start with '-': they never name a file")
    with pytest.raises(ServiceError, match=r"is not valid|is required"):
        CREATE[kind](name)


def test_aliases_given_with_a_device_type_are_checked(lab) -> None:
    with pytest.raises(ServiceError, match="alias name"):
        device_types.add_device_type(CONSOLE, "x86", alias="a" * 201, require_template=False)
    with pytest.raises(ServiceError, match="alias name"):
        device_types.update_device_type(CONSOLE, "qemu", alias="../a")
    assert not Alias.objects.exists() and not DeviceType.objects.filter(name="x86").exists()


def test_user_fields_are_checked_by_the_service(lab) -> None:
    with pytest.raises(ServiceError, match="first_name is 151 characters long: at most 150"):
        accounts.add_user(CONSOLE, "someone", first_name="f" * 151)
    with pytest.raises(ServiceError, match="email is 302 characters long: at most 254"):
        accounts.add_user(CONSOLE, "someone", email="a" * 290 + "@example.com")
    accounts.add_user(CONSOLE, "someone")
    with pytest.raises(ServiceError, match="last_name is"):
        accounts.update_user(CONSOLE, "someone", last_name="l" * 151)


def test_a_long_device_type_name_over_xmlrpc_leaves_the_list_working(client, lab, tokens) -> None:
    from xmlrpc.client import Fault

    with pytest.raises(Fault) as fault:
        rpc(client, "scheduler.device_types.add", "d" * 300, auth=tokens["admin"])
    assert fault.value.faultCode == 400 and "at most 50" in fault.value.faultString
    with pytest.raises(Fault):
        rpc(client, "auth.users.add", "u", "f" * 200, auth=tokens["admin"])
    assert [t["name"] for t in rpc(client, "scheduler.device_types.list")] == ["qemu"]
    assert not Device.objects.exclude(hostname__in=["qemu-01", "qemu-02"]).exists()
    assert not Tag.objects.exists() and Worker.objects.count() == 1


def test_check_name_returns_a_good_name() -> None:
    assert check_name("device", "qemu-01.lab") == "qemu-01.lab"
    assert check_name("group", "lab team 2") == "lab team 2"
