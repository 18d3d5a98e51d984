"""The typed device: commands, connections, bootloader constants and methods, addresses.

(Named apart from tests/common/test_device.py, which renders dictionaries.)
"""

from __future__ import annotations

from typing import Any

import pytest

from lava.common.exceptions import ConfigurationError
from lava.dispatcher.device import (
    Bootloader,
    BootloaderMethod,
    Commands,
    Connection,
    Device,
    LoadAddresses,
    command_list,
)
from tests.dispatcher.support import uboot

MINIMAL: dict[str, Any] = {
    "hostname": "board-01",
    "actions": {"deploy": {"methods": {}}, "boot": {"methods": {}}},
    "timeouts": {"actions": {}, "connections": {}},
}


@pytest.fixture(scope="module")
def rendered() -> dict[str, Any]:
    """A base-uboot board with power commands, a connection list and device info."""
    return uboot.device(
        connection_list=["uart0", "uart1"],
        connection_commands={"uart0": "telnet ser2net 7001", "uart1": "telnet ser2net 7002"},
        connection_tags={"uart1": "primary"},
        hard_reset_command=["pdu-client off 3", "pdu-client on 3"],
        power_off_command="pdu-client off 3",
        power_on_command="pdu-client on 3",
        soft_reboot_command=["reboot", "reboot -f"],
        bootz_kernel_addr="0x82000000",
        device_info=[{"board_id": "A1"}],
        static_info=[{"board_id": "A1", "probe": "B2"}],
        uboot_command_lists={"mmc": ["mmc rescan", "bootz {KERNEL_ADDR} - {DTB_ADDR}"]},
    )


@pytest.fixture(scope="module")
def device(rendered: dict[str, Any]) -> Device:
    return Device.from_dict(rendered, source="board-01.jinja2")


# -- command_list ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, ()),
        ("", ()),
        ("pdu-client on 3", ("pdu-client on 3",)),
        (["a", "b"], ("a", "b")),
        (("a", None, "", "b"), ("a", "b")),
        ([], ()),
        (7, ("7",)),
    ],
)
def test_command_list(value: Any, expected: tuple[str, ...]) -> None:
    assert command_list(value) == expected


# -- Commands --------------------------------------------------------------------


def test_connect_is_the_default_primary_connection() -> None:
    commands = Commands.from_dict({"connect": "telnet localhost 7000"}, "dev")
    assert commands.connections == (Connection("default", "telnet localhost 7000", ("primary",)),)
    assert commands.primary_connection() == commands.connections[0]


def test_connections_with_tags_as_string_or_list() -> None:
    commands = Commands.from_dict(
        {
            "connections": {
                "uart0": {"connect": "telnet s 7001", "tags": ["uart", "primary"]},
                "uart1": {"connect": "telnet s 7002", "tags": "secondary"},
                "uart2": {"connect": "telnet s 7003"},
            }
        },
        "dev",
    )
    assert [(c.name, c.tags) for c in commands.connections] == [
        ("uart0", ("uart", "primary")),
        ("uart1", ("secondary",)),
        ("uart2", ()),
    ]
    assert commands.primary_connection().name == "uart0"


def test_without_a_primary_tag_the_first_connection_is_used() -> None:
    commands = Commands.from_dict(
        {"connections": {"b": {"connect": "cu b"}, "a": {"connect": "cu a", "tags": "ssh"}}},
        "dev",
    )
    assert commands.primary_connection() == Connection("b", "cu b", ())


def test_no_connection_at_all() -> None:
    assert Commands.from_dict({}, "dev").primary_connection() is None


@pytest.mark.parametrize("spec", ["telnet s 1", None, ["connect"]])
def test_a_connection_is_a_mapping(spec: Any) -> None:
    with pytest.raises(ConfigurationError, match="dev: connection 'uart0' must be a mapping"):
        Commands.from_dict({"connections": {"uart0": spec}}, "dev")


@pytest.mark.parametrize("spec", [{}, {"tags": "primary"}, {"connect": ""}, {"connect": None}])
def test_a_connection_without_a_command_is_left_out(spec: Any) -> None:
    # As in LAVA: a listed UART without a command is ignored until a job needs it.
    commands = Commands.from_dict(
        {"connections": {"uart0": spec, "uart1": {"connect": "telnet s 2"}}}, "dev"
    )
    assert [c.name for c in commands.connections] == ["uart1"]
    assert commands.primary_connection().name == "uart1"


@pytest.mark.parametrize(("key", "value"), [("connections", ["a"]), ("users", "x")])
def test_mappings_are_mappings(key: str, value: Any) -> None:
    with pytest.raises(ConfigurationError, match=f"dev: commands.{key} must be a mapping"):
        Commands.from_dict({key: value}, "dev")


def test_power_commands_as_strings_or_lists() -> None:
    commands = Commands.from_dict(
        {
            "hard_reset": ["off", "on"],
            "power_on": "on",
            "power_off": "",
            "soft_reboot": None,
            "pre_power_command": ["pre"],
            "pre_os_command": "os",
            "users": {"hello": {"do": "echo hi"}, "broken": "x"},
        },
        "dev",
    )
    assert commands.hard_reset == ("off", "on")
    assert commands.power_on == ("on",)
    assert commands.power_off == ()
    assert commands.soft_reboot == ()
    assert commands.pre_power_command == ("pre",)
    assert commands.pre_os_command == ("os",)
    assert commands.users == {"hello": {"do": "echo hi"}}


# -- Bootloader constants and the u-boot method -------------------------------------


def test_bootloader_defaults() -> None:
    assert Bootloader.from_dict({}) == Bootloader()
    assert Bootloader().interrupt_character == " " and Bootloader().interrupt_newline


def test_bootloader_from_dict() -> None:
    loader = Bootloader.from_dict(
        {
            "interrupt-prompt": "Press Ctrl-B",
            "interrupt-character": "c",
            "interrupt-newline": False,
            "interrupt_ctrl_list": ["b"],
            "final-message": "Booting",
            "error-messages": ["No network", "TIMEOUT"],
        }
    )
    assert loader == Bootloader(
        "Press Ctrl-B", "c", False, ("b",), "Booting", ("No network", "TIMEOUT")
    )


def test_constants_bootloaders_from_a_rendered_dictionary(device: Device) -> None:
    loaders = device.constants.bootloaders
    assert {"u-boot", "grub", "barebox", "ipxe", "depthcharge"} <= set(loaders)
    assert "posix" not in loaders
    uboot_constants = loaders["u-boot"]
    assert uboot_constants.interrupt_prompt == "Hit any key to stop autoboot"
    assert uboot_constants.final_message == "Starting kernel"
    assert "Wrong Ramdisk Image Format" in uboot_constants.error_messages
    assert "File not found" in uboot_constants.error_messages
    assert loaders["ipxe"].interrupt_ctrl_list == ("b",)
    assert loaders["grub"].interrupt_newline is False


def test_uboot_method_from_a_rendered_dictionary(device: Device) -> None:
    method = device.bootloader_method("u-boot")
    assert method.name == "u-boot"
    assert method.bootloader_prompt == "=>"
    assert method.interrupt_prompt == "Hit any key to stop autoboot"
    # base-uboot's '' means "just Enter", which must not become None or the constant's ' '.
    assert method.interrupt_char == ""
    assert method.needs_interrupt is True
    assert {"ramdisk", "nfs", "nbd", "usb", "sata", "ums", "mmc"} <= set(method.command_lists)
    ramdisk = method.command_lists["ramdisk"]
    assert ramdisk[0] == "setenv autoload no"
    assert "setenv serverip {SERVER_IP}" in ramdisk
    assert "tftp {TEE_ADDR} {TEE}" in ramdisk
    assert ramdisk[-1] == "{BOOTX}"
    assert method.command_lists["mmc"] == ("mmc rescan", "bootz {KERNEL_ADDR} - {DTB_ADDR}")
    # `parameters` is not a command list.
    assert "parameters" not in method.command_lists


def test_uboot_method_defaults() -> None:
    assert BootloaderMethod.from_dict("u-boot", None) == BootloaderMethod("u-boot")
    method = BootloaderMethod.from_dict(
        "u-boot",
        {
            "parameters": {"bootloader_prompt": "U-Boot>", "needs_interrupt": False},
            "ramdisk": {"commands": None},
            "odd": {"commands": "not a list"},
        },
    )
    assert method.bootloader_prompt == "U-Boot>"
    assert method.interrupt_prompt is None and method.interrupt_char is None
    assert method.needs_interrupt is False
    assert method.command_lists == {}


def test_an_absent_boot_method_is_an_empty_one(device: Device) -> None:
    assert device.bootloader_method("barebox") == BootloaderMethod("barebox")


# -- parameters ------------------------------------------------------------------


def test_load_addresses(device: Device) -> None:
    assert set(device.load_addresses) == {"booti", "bootz"}
    assert device.load_addresses["booti"] == LoadAddresses(
        uboot.KERNEL_ADDR, uboot.RAMDISK_ADDR, uboot.DTB_ADDR, "0x83000000", "0x93c00000"
    )
    assert device.load_addresses["bootz"].kernel == "0x82000000"
    assert device.load_addresses["bootz"].ramdisk == "0x82000000"  # the template's default


def test_load_addresses_from_dict_fills_blanks() -> None:
    assert LoadAddresses.from_dict({"kernel": 0x80000000, "dtb": None}) == LoadAddresses(
        kernel=str(0x80000000)
    )


def test_deploy_parameters(device: Device) -> None:
    params = device.deploy_parameters
    assert (params.add_header, params.mkimage_arch) == ("raw", "arm64")
    assert params.append_dtb is False and params.use_xip is False


def test_deploy_parameters_default_without_a_block() -> None:
    device = Device.from_dict(MINIMAL)
    assert device.deploy_parameters.add_header == ""
    assert device.load_addresses == {}


def test_info(device: Device) -> None:
    assert device.info["device_info"] == ({"board_id": "A1"},)
    assert device.info["static_info"] == ({"board_id": "A1", "probe": "B2"},)
    assert device.info["storage_info"] == ()


def test_info_skips_what_is_not_a_mapping() -> None:
    device = Device.from_dict({**MINIMAL, "device_info": [{"a": 1}, "b", None]})
    assert device.info["device_info"] == ({"a": 1},)


def test_commands_from_a_rendered_dictionary(device: Device) -> None:
    commands = device.commands
    assert [c.name for c in commands.connections] == ["uart0", "uart1"]
    assert commands.primary_connection() == Connection("uart1", "telnet ser2net 7002", ("primary",))
    assert commands.hard_reset == ("pdu-client off 3", "pdu-client on 3")
    assert commands.power_off == ("pdu-client off 3",)
    assert commands.power_on == ("pdu-client on 3",)
    assert commands.soft_reboot == ("reboot", "reboot -f")


def test_connection_command_from_a_rendered_dictionary() -> None:
    device = Device.from_dict(uboot.device(connection_command="telnet ser2net 7001"))
    primary = device.commands.primary_connection()
    assert primary == Connection("default", "telnet ser2net 7001", ("primary",))
    assert device.commands.hard_reset == ()


def test_invalid_commands_block() -> None:
    with pytest.raises(ConfigurationError, match=r"dev\.yaml: 'commands' must be a mapping"):
        Device.from_dict({**MINIMAL, "commands": ["connect"]}, source="dev.yaml")
