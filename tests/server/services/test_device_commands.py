"""``services.device_commands``: a device's power and console commands, read with the
dictionary's rule, whatever shape the configuration gives them."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser, Group, User

from lava.server.scheduler.models import GroupDevicePermission
from lava.server.services import Actor, Missing, device_commands
from lava.server.services.device_commands import Connection, PowerCommand, from_configuration

CONSOLE = Actor.console()

PDU_DICT = """{% extends 'qemu.jinja2' %}
{% set connection_command = 'telnet 127.0.0.1 7101' %}
{% set hard_reset_command = ['pduclient --port 3 --command reboot', 'sleep 5'] %}
{% set power_on_command = 'pduclient --port 3 --command on' %}
{% set power_off_command = 'pduclient --port 3 --command off' %}
{% set pre_os_command = 'usb-switch 3 off' %}
"""


def actor(user: User | AnonymousUser) -> Actor:
    return Actor(user, "test")


def command(found: device_commands.PowerAndConsole, key: str) -> tuple[str, ...] | None:
    return next((p.commands for p in found.power if p.key == key), None)


def test_telnet_console_and_pdu_commands(lab: Any, users: dict[str, User]) -> None:
    lab.device("board-01", dictionary=PDU_DICT)
    found = device_commands.power_and_console(actor(users["stranger"]), "board-01")
    assert found.problem == ""
    assert found.connections == (Connection("", "telnet 127.0.0.1 7101"),)
    assert command(found, "hard_reset") == ("pduclient --port 3 --command reboot", "sleep 5")
    assert command(found, "power_on") == ("pduclient --port 3 --command on",)
    assert command(found, "soft_reboot") == ()  # a main command: listed, not set
    assert command(found, "pre_os_command") == ("usb-switch 3 off",)
    assert command(found, "recovery_mode") is None  # not a main one: left out when not set
    assert [p.key for p in found.power] == [
        "hard_reset",
        "power_on",
        "power_off",
        "soft_reboot",
        "pre_os_command",
    ]
    assert found.power_control


def test_connection_list_with_tags(lab: Any, users: dict[str, User]) -> None:
    lab.device(
        "board-02",
        dictionary="""{% extends 'qemu.jinja2' %}
{% set connection_list = ['uart0', 'uart1'] %}
{% set connection_commands = {'uart0': 'telnet ser2net 7001', 'uart1': 'telnet ser2net 7002'} %}
{% set connection_tags = {'uart0': ['primary', 'telnet'], 'uart1': 'telnet'} %}
""",
    )
    found = device_commands.power_and_console(CONSOLE, "board-02")
    assert found.connections == (
        Connection("uart0", "telnet ser2net 7001", ("primary", "telnet")),
        Connection("uart1", "telnet ser2net 7002", ("telnet",)),
    )


def test_no_commands_means_no_power_control(lab: Any) -> None:
    found = device_commands.power_and_console(CONSOLE, "qemu-01")
    assert found.connections == ()
    assert [(p.key, p.commands) for p in found.power] == [
        ("hard_reset", ()),
        ("power_on", ()),
        ("power_off", ()),
        ("soft_reboot", ()),
    ]
    assert not found.power_control


def test_soft_reboot_alone_is_no_power_control() -> None:
    found = from_configuration({"commands": {"soft_reboot": "reboot"}})
    assert not found.power_control
    assert from_configuration({"commands": {"power_off": ["off"]}}).power_control


@pytest.mark.parametrize(
    ("commands", "connections", "hard_reset"),
    [
        (None, (), ()),
        ("not a mapping", (), ()),
        ({"connect": ["a", "", None, "b"]}, (Connection("", "a"), Connection("", "b")), ()),
        ({"connections": ["not", "a", "mapping"]}, (), ()),
        ({"connections": {"u": "telnet x 1"}}, (Connection("u", "telnet x 1"),), ()),
        ({"connections": {"u": {"connect": None, "tags": 7}}}, (Connection("u", "", ("7",)),), ()),
        ({"connections": {3: {"connect": "c"}}}, (Connection("3", "c"),), ()),
        ({"hard_reset": 42}, (), ("42",)),
        ({"hard_reset": ["pdu on", None, ""]}, (), ("pdu on",)),
        ({"hard_reset": ""}, (), ()),
    ],
)
def test_any_shape_of_commands(commands: Any, connections: tuple, hard_reset: tuple) -> None:
    found = from_configuration({"commands": commands})
    assert found.connections == connections
    assert found.power[0] == PowerCommand("hard_reset", "Hard reset", hard_reset)


def test_a_dictionary_that_does_not_render_is_an_answer(lab: Any) -> None:
    lab.device("broken-01", dictionary="{% extends 'qemu.jinja2' %}\n{% if %}\n")
    found = device_commands.power_and_console(CONSOLE, "broken-01")
    assert found.problem.startswith("the device dictionary does not render: device 'broken-01'")
    assert (found.connections, found.power) == ((), ())


def test_a_device_without_a_dictionary(lab: Any) -> None:
    (lab.root / "devices" / "qemu-02.jinja2").unlink()
    found = device_commands.power_and_console(CONSOLE, "qemu-02")
    assert found.problem == "the device has no device dictionary"


def test_only_who_may_read_the_dictionary(lab: Any, users: dict[str, User]) -> None:
    device = lab.device("secret-01", dictionary=PDU_DICT)
    group = Group.objects.get(name="lab")
    GroupDevicePermission.objects.create(group=group, device=device, permission="view")
    for who in (AnonymousUser(), users["stranger"]):
        with pytest.raises(Missing, match="device 'secret-01' does not exist"):
            device_commands.power_and_console(actor(who), "secret-01")
    for who in (users["owner"], users["admin"]):
        found = device_commands.power_and_console(actor(who), "secret-01")
        assert command(found, "power_off") == ("pduclient --port 3 --command off",)
    with pytest.raises(Missing, match="device 'nothing-01' does not exist"):
        device_commands.power_and_console(CONSOLE, "nothing-01")
