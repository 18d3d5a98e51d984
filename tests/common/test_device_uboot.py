"""The U-Boot device types: base-uboot.jinja2, the boards extending it, qemu-uboot-arm64."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lava.common import yamlio
from lava.common.device import (
    SOURCE_DEVICE_TYPES,
    DeviceDictionaryError,
    device_type_of,
    load_device,
    render_device,
)
from lava.dispatcher.device import Device
from tests.common.test_device import check_device_schema
from tests.support.conformance import CONFORMANCE

DEVICES = CONFORMANCE / "devices"
# LAVA's dictionaries whose device type extends base-uboot.jinja2 there (LAVA d27bcfd)
UBOOT_DICTS = [
    "b2260-01",
    "bbb-01",
    "bbb-02",
    "bbb-03",
    "ct-01",
    "cubie1",
    "cubie2",
    "imx7s-warp-01",
    "imx8dxl-evk-01",
    "imx8dxl-evk-02",
    "imx8dxl-evk-03",
    "imx8mq-evk-01",
    "imx8mq-evk-02",
    "imx8mq-evk-03",
    "juno-uboot-01",
    "meson8b-odroidc1-1",
    "panda01",
    "panda02",
    "panda03",
    "rzn1d-01",
    "sharkl2-01",
    "x15-01",
    "x15-bl-01",
    "zcu102",
]
MISSING = (
    f"LAVA's device dictionaries, which the U-Boot conformance tests need, are missing at "
    f"{DEVICES}: check out ../shared beside the repository or set LAVA_CONFORMANCE"
)

BASE = "{% extends 'base-uboot.jinja2' %}\n"
GOLDEN = BASE + (
    "{% set booti_kernel_addr = '0x40400000' %}\n"
    "{% set booti_ramdisk_addr = '0x44000000' %}\n"
    "{% set booti_dtb_addr = '0x43000000' %}\n"
    "{% set console_device = 'ttyAMA0' %}\n"
    "{% set uboot_ramdisk_format = 'raw' %}\n"
)
# lava-facts-ops §5.1: what LAVA's base-uboot.jinja2 renders for GOLDEN
GOLDEN_RAMDISK = [
    "setenv autoload no",
    "setenv initrd_high 0xffffffff",
    "setenv fdt_high 0xffffffff",
    "dhcp",
    "setenv serverip {SERVER_IP}",
    "tftp {KERNEL_ADDR} {KERNEL}",
    "tftp {RAMDISK_ADDR} {RAMDISK}",
    "tftp {TEE_ADDR} {TEE}",
    "setenv initrd_size ${filesize}",
    "tftp {DTB_ADDR} {DTB}",
    "setenv bootargs 'console=ttyAMA0,115200n8 root=/dev/ram0  ip=dhcp'",
    "{BOOTX}",
]
QEMU_UBOOT = "{% extends 'qemu-uboot-arm64.jinja2' %}\n"


def required(present: bool, why: str) -> None:
    """Skip without `present`, loudly; in CI (CI=true) fail instead."""
    if present:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(why)
    pytest.skip(why)


def dictionary(name: str) -> Path:
    path = DEVICES / f"{name}.jinja2"
    required(path.is_file(), MISSING)
    return path


def uboot(config: dict[str, Any]) -> dict[str, Any]:
    return config["actions"]["boot"]["methods"]["u-boot"]


def commands(config: dict[str, Any], name: str) -> list[str]:
    return uboot(config)[name]["commands"]


def bootargs(lines: list[str]) -> str:
    (line,) = [line for line in lines if line.startswith("setenv bootargs")]
    return line


def check_uboot_shape(config: dict[str, Any]) -> None:
    """What LAVA's device schema and dispatcher ask of a U-Boot device on top of
    check_device_schema: string load addresses, lists of string commands."""
    check_device_schema(config)
    for group in ("image", "booti", "uimage", "bootm", "zimage", "bootz"):
        if group in config["parameters"]:
            addresses = config["parameters"][group]
            assert {"kernel", "ramdisk", "dtb"} <= set(addresses)
            assert all(isinstance(value, str) for value in addresses.values())
    assert isinstance(config["parameters"].get("text_offset", ""), str)
    for key in ("board_id", "adb_serial_number", "fastboot_serial_number"):
        assert isinstance(config.get(key, ""), str)
    for key in ("usb_vendor_id", "usb_product_id"):
        assert key not in config or (isinstance(config[key], str) and len(config[key]) == 4)
    assert all(isinstance(o, str) for o in config.get("fastboot_options", []))
    method = uboot(config)
    assert isinstance(method["parameters"]["bootloader_prompt"], str)
    for name, value in method.items():
        if name != "parameters":
            assert list(value) == ["commands"], name
            assert value["commands"] and all(isinstance(c, str) for c in value["commands"])
    deploy = config["actions"]["deploy"]["parameters"]
    assert isinstance(deploy["add_header"], str) and isinstance(deploy["mkimage_arch"], str)
    for flag in ("append_dtb", "use_xip"):
        assert isinstance(deploy.get(flag, False), bool)
    for name, connection in config.get("commands", {}).get("connections", {}).items():
        assert isinstance(connection.get("tags", []), list), name


# --- the conformance dictionaries ---------------------------------------------------


def _extends_base_uboot(device_type: str | None) -> bool:
    seen = set()
    while device_type and device_type not in seen:
        if device_type == "base-uboot":
            return True
        seen.add(device_type)
        template = SOURCE_DEVICE_TYPES / f"{device_type}.jinja2"
        device_type = device_type_of(template) if template.is_file() else None
    return False


def test_the_uboot_dictionaries_are_the_listed_ones() -> None:
    required(DEVICES.is_dir(), MISSING)
    found = sorted(
        path.stem for path in DEVICES.glob("*.jinja2") if _extends_base_uboot(device_type_of(path))
    )
    assert found == UBOOT_DICTS


@pytest.mark.parametrize("name", UBOOT_DICTS)
def test_conformance_dictionaries_render(name: str) -> None:
    path = dictionary(name)
    text = render_device(path)
    config = yamlio.load(text)
    assert config == load_device(path)
    check_uboot_shape(config)
    assert config["hostname"] == name
    assert config["devicetype"] == device_type_of(path)
    assert "Resetting CPU" in config["constants"]["u-boot"]["error-messages"]
    assert "serial" in config["actions"]["boot"]["connections"]
    assert config["actions"]["deploy"]["methods"]["tftp"] is None
    assert "ramdisk-local" in uboot(config) or commands(config, "ramdisk")[-1] == "{BOOTX}"


@pytest.mark.parametrize(
    "context",
    [
        {"extra_kernel_args": "quiet", "extra_nfsroot_args": ",nolock"},
        {"booti_kernel_addr": "0x1", "console_device": "ttyX", "baud_rate": 9600},
        {"uboot_needs_interrupt": "false", "bootloader_prompt": "vexpress>"},
    ],
    ids=["kernel-args", "addresses", "prompt"],
)
@pytest.mark.parametrize("name", UBOOT_DICTS)
def test_conformance_dictionaries_render_with_a_context(name: str, context: dict[str, Any]) -> None:
    check_uboot_shape(load_device(dictionary(name), context))


@pytest.mark.parametrize("name", UBOOT_DICTS)
def test_the_dispatcher_reads_the_rendered_configuration(name: str) -> None:
    path = dictionary(name)
    device = Device.from_dict(load_device(path), name)
    assert device.hostname == name
    assert "u-boot" in device.boot_methods
    assert device.constants.bootloaders["u-boot"].error_messages


# --- base-uboot.jinja2 --------------------------------------------------------------


def test_golden_ramdisk_commands() -> None:
    config = load_device(GOLDEN)
    check_uboot_shape(config)
    assert commands(config, "ramdisk") == GOLDEN_RAMDISK
    nfs = commands(config, "nfs")
    assert nfs[:-2] == GOLDEN_RAMDISK[:-2]
    assert nfs[-2:] == [
        "setenv bootargs 'console=ttyAMA0,115200n8 root=/dev/nfs rw "
        "nfsroot={NFS_SERVER_IP}:{NFSROOTFS},tcp,hard  ip=dhcp'",
        "{BOOTX}",
    ]
    assert set(uboot(config)) == {"parameters", "ums", "nfs", "nbd", "ramdisk", "usb", "sata"}
    assert commands(config, "ums") == ["ums 0 mmc 0"]


def test_the_device_shape() -> None:
    config = load_device(GOLDEN)
    actions = config["actions"]
    assert actions["deploy"]["parameters"] == {
        "add_header": "raw",
        "mkimage_arch": "arm64",
        "append_dtb": False,
        "use_xip": False,
    }
    assert list(actions["deploy"]["methods"]) == ["image", "overlay", "usb", "tftp", "nbd", "ssh"]
    assert actions["deploy"]["methods"]["ssh"] == {
        "options": [
            "-o",
            "Compression=yes",
            "-o",
            "PasswordAuthentication=no",
            "-o",
            "LogLevel=FATAL",
        ],
        "host": "",
        "port": 22,
        "user": "root",
        "identity_file": "dynamic_vm_keys/lava",
    }
    assert actions["deploy"]["connections"] == {"fastboot": None, "serial": None}
    assert actions["boot"]["connections"] == {"fastboot": None, "serial": None}
    assert list(actions["boot"]["methods"]) == [
        "minimal", "ssh", "dfu", "u-boot", "uuu", "grub", "grub-efi"
    ]  # fmt: skip
    assert uboot(config)["parameters"] == {
        "bootloader_prompt": "=>",
        "interrupt_prompt": "Hit any key to stop autoboot",
        "interrupt_char": "",
        "needs_interrupt": True,
    }
    assert (
        config["parameters"]["image"]
        == config["parameters"]["booti"]
        == {
            "kernel": "0x40400000",
            "ramdisk": "0x44000000",
            "dtb": "0x43000000",
            "tee": "0x83000000",
            "dtbo": "0x93c00000",
        }
    )
    assert config["parameters"]["dtb_base_resize"] == 1048576
    assert not {"bootz", "zimage", "bootm", "uimage"} & set(config["parameters"])
    text = GOLDEN + "{% set uboot_allow_chain_load_grub = false %}\n"
    assert "grub" not in load_device(text)["actions"]["boot"]["methods"]


def test_default_ramdisk_format_is_legacy_uboot() -> None:
    assert load_device(BASE)["actions"]["deploy"]["parameters"]["add_header"] == "u-boot"
    config = load_device(BASE)
    assert config["parameters"] == {"pass": None, "dtb_base_resize": 1048576}
    assert bootargs(commands(config, "ramdisk")) == "setenv bootargs ' root=/dev/ram0  ip=dhcp'"


def test_bootz_and_bootm_groups() -> None:
    config = load_device(
        BASE + "{% set bootz_kernel_addr = '0x82000000' %}{% set bootz_dtb_addr = '0x88000000' %}\n"
        "{% set bootm_kernel_addr = '0x60000000' %}{% set bootm_tee_addr = '0x9e000000' %}\n"
    )
    check_uboot_shape(config)
    parameters = config["parameters"]
    assert (
        parameters["zimage"]
        == parameters["bootz"]
        == {
            "kernel": "0x82000000",
            "ramdisk": "0x82000000",
            "dtb": "0x88000000",
            "tee": "0x83000000",
            "dtbo": "0x93c00000",
        }
    )
    assert (
        parameters["uimage"]
        == parameters["bootm"]
        == {
            "kernel": "0x60000000",
            "ramdisk": "0x82000000",
            "dtb": "0x81000000",
            "tee": "0x9e000000",
            "dtbo": "0x93c00000",
        }
    )
    assert "booti" not in parameters
    device = Device.from_dict(config)
    assert device.load_addresses["bootz"].dtb == "0x88000000"
    assert device.load_addresses["bootm"].tee == "0x9e000000"


def test_addresses_from_the_job_context() -> None:
    context = {
        "booti_kernel_addr": "0x50000000",
        "booti_dtb_addr": "0x51000000",
        "console_device": "ttyS0",
        "extra_kernel_args": "quiet",
    }
    config = load_device(BASE, context)
    assert config["parameters"]["booti"]["kernel"] == "0x50000000"
    assert config["parameters"]["booti"]["dtb"] == "0x51000000"
    assert config["parameters"]["booti"]["ramdisk"] == "0x82000000"
    assert bootargs(commands(config, "ramdisk")) == (
        "setenv bootargs 'console=ttyS0,115200n8 root=/dev/ram0 quiet ip=dhcp'"
    )


def test_the_dictionary_wins_over_the_context() -> None:
    context = {"booti_kernel_addr": "0x1", "console_device": "ttyS9", "bootloader_prompt": "#"}
    config = load_device(GOLDEN + "{% set bootloader_prompt = 'U-Boot>' %}\n", context)
    assert config["parameters"]["booti"]["kernel"] == "0x40400000"
    assert uboot(config)["parameters"]["bootloader_prompt"] == "U-Boot>"
    assert commands(config, "ramdisk") == GOLDEN_RAMDISK


def test_uboot_error_messages() -> None:
    messages = load_device(GOLDEN)["constants"]["u-boot"]["error-messages"]
    assert messages[:2] == ["Resetting CPU", "Must RESET board to recover"]
    assert {"Wrong Ramdisk Image Format", "Bad Linux ARM64 Image magic!"} <= set(messages)
    assert len(messages) == 18
    text = GOLDEN + "{% set uboot_extra_error_message = 'Invalid partition' %}\n"
    assert load_device(text)["constants"]["u-boot"]["error-messages"] == [
        *messages,
        "Invalid partition",
    ]


def test_command_list_options() -> None:
    text = GOLDEN + (
        "{% set base_uboot_commands = ['echo hello'] %}\n"
        "{% set uboot_needs_pci = true %}{% set uboot_needs_usb = true %}\n"
        "{% set uboot_set_mac = true %}{% set uboot_mac_addr = '00:11:22:33:44:55' %}\n"
        "{% set base_high_limits = false %}\n"
        "{% set uboot_ipaddr_cmd = 'setenv ipaddr 10.0.0.2' %}\n"
        "{% set append_dtb = true %}\n"
        "{% set uboot_bootx_cmd = 'booti {KERNEL_ADDR} - {DTB_ADDR}' %}\n"
        "{% set static_ip = '10.0.0.2' %}{% set static_gateway = '10.0.0.1' %}\n"
        "{% set static_netmask = '255.255.255.0' %}{% set static_dns = '10.0.0.1' %}\n"
    )
    config = load_device(text)
    assert commands(config, "ramdisk") == [
        "pci enum",
        "usb start",
        "echo hello",
        "setenv autoload no",
        "setenv ethaddr 00:11:22:33:44:55",
        "setenv ipaddr 10.0.0.2",
        "setenv serverip {SERVER_IP}",
        "tftp {KERNEL_ADDR} {KERNEL}",
        "tftp {RAMDISK_ADDR} {RAMDISK}",
        "tftp {TEE_ADDR} {TEE}",
        "setenv initrd_size ${filesize}",
        "setenv bootargs 'console=ttyAMA0,115200n8 root=/dev/ram0  "
        "ip=10.0.0.2::10.0.0.1:255.255.255.0:::off:10.0.0.1:'",
        "booti {KERNEL_ADDR} - {DTB_ADDR}",
    ]
    assert uboot(config)["parameters"]["lava_mac"] == "00:11:22:33:44:55"
    assert config["actions"]["deploy"]["parameters"]["append_dtb"] is True


def test_dtbo_and_fit() -> None:
    text = GOLDEN + (
        "{% set enable_dtbo_support = true %}\n"
        "{% set uboot_fdt_extra_commands = ['fdt set /chosen x y'] %}\n"
        "{% set uboot_method_fit = true %}{% set bootm_device_tree_config = 2 %}\n"
    )
    config = load_device(text)
    assert commands(config, "ramdisk")[9:15] == [
        "tftp {DTB_ADDR} {DTB}",
        "fdt addr {DTB_BASE_ADDR}",
        "fdt resize {DTB_BASE_RESIZE}",
        "{APPLY_DTBO_COMMANDS}",
        "fdt addr {DTB_ADDR}",
        "fdt set /chosen x y",
    ]
    assert uboot(config)["parameters"]["apply_dtbo_commands"] == [
        "tftp {DTBO_ADDR} {DTBO}",
        "fdt apply {DTBO_ADDR}",
    ]
    assert commands(config, "fit") == [
        "setenv autoload no",
        "dhcp",
        "setenv serverip {SERVER_IP}",
        "tftp {KERNEL_ADDR} {KERNEL}",
        "setenv bootargs 'console=ttyAMA0,115200n8 rootfstype=ramfs '",
        "bootm {KERNEL_ADDR}#conf@2",
    ]


def test_usb_and_sata_lists() -> None:
    config = load_device(GOLDEN + "{% set usb_device_id = 2 %}\n")
    assert commands(config, "usb") == [
        "usb start",
        "setenv autoload no",
        "load usb 2:{ROOT_PART} {KERNEL_ADDR} {KERNEL}",
        "load usb 2:{ROOT_PART} {RAMDISK_ADDR} {RAMDISK}",
        "setenv initrd_size ${filesize}",
        "load usb 2:{ROOT_PART} {DTB_ADDR} {DTB}",
        "console=ttyAMA0,115200n8 root={ROOT}  ip=dhcp",  # LAVA's, without setenv bootargs
        "{BOOTX}",
    ]
    assert commands(config, "sata")[0] == "scsi scan"
    assert bootargs(commands(config, "sata")) == (
        "setenv bootargs 'console=ttyAMA0,115200n8 root={ROOT}  ip=dhcp'"
    )


@pytest.mark.parametrize(
    "hostile",
    [
        "run boot: now",
        "echo '# not a comment'",
        'say "hi" #',
        "one\ntwo: 2",
        "{BOOTX}\n  - injected",
        "- [list]",
        "&anchor *alias !!python/object",
    ],
)
def test_hostile_values_stay_values(hostile: str) -> None:
    context = {
        "uboot_bootcmd": hostile,
        "base_uboot_commands": [hostile],
        "extra_kernel_args": hostile,
        "bootloader_prompt": hostile,
        "interrupt_prompt": hostile,
        "uboot_mkimage_arch": hostile,
        "uboot_ramdisk_format": hostile,
        "uboot_needs_interrupt": hostile,
        "append_dtb": hostile,
        "ssh_port": hostile,
        "ssh_host": hostile,
        "booti_kernel_addr": hostile,
        "dtb_base_resize": hostile,
        "uboot_command_lists": {hostile: [hostile]},
    }
    text = BASE + "{% set connection_command = " + repr(hostile) + " %}\n"
    config = load_device(text, context)
    baseline = load_device(BASE + "{% set connection_command = 'telnet x 1' %}\n")
    assert set(config) == set(baseline)
    assert config["commands"]["connect"] == hostile
    ramdisk = commands(config, "ramdisk")
    assert ramdisk[0] == hostile and ramdisk[-1] == hostile
    assert hostile in bootargs(ramdisk)
    assert commands(config, hostile) == [hostile]
    parameters = uboot(config)["parameters"]
    assert parameters["bootloader_prompt"] == parameters["interrupt_prompt"] == hostile
    assert parameters["needs_interrupt"] == hostile
    assert config["parameters"]["booti"]["kernel"] == hostile
    assert config["actions"]["deploy"]["parameters"]["mkimage_arch"] == hostile
    assert config["actions"]["deploy"]["methods"]["ssh"]["port"] == hostile


def test_boolean_and_number_settings_are_typed() -> None:
    context = {"uboot_needs_interrupt": "False", "use_xip": "true", "ssh_port": "2222"}
    config = load_device(GOLDEN, context)
    assert uboot(config)["parameters"]["needs_interrupt"] is False
    assert config["actions"]["deploy"]["parameters"]["use_xip"] is True
    assert config["actions"]["deploy"]["methods"]["ssh"]["port"] == 2222


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    command=st.text(min_size=1, max_size=40).filter(lambda s: s.strip()),
    console=st.text(min_size=1, max_size=20).filter(lambda s: s.strip()),
    prompt=st.text(min_size=1, max_size=20),
)
def test_any_string_round_trips(command: str, console: str, prompt: str) -> None:
    context = {"console_device": console, "bootloader_prompt": prompt, "command": command}
    config = load_device(BASE + "{% set connection_command = command %}\n", context)
    assert config["commands"]["connect"] == command
    assert uboot(config)["parameters"]["bootloader_prompt"] == prompt
    assert bootargs(commands(config, "ramdisk")) == (
        f"setenv bootargs 'console={console},115200n8 root=/dev/ram0  ip=dhcp'"
    )


# --- qemu-uboot-arm64.jinja2 ----------------------------------------------------------


def test_qemu_uboot_arm64() -> None:
    config = load_device(QEMU_UBOOT + "{% set connection_command = 'telnet 127.0.0.1 7101' %}\n")
    check_uboot_shape(config)
    assert config["devicetype"] == "qemu-uboot-arm64"
    assert (
        config["parameters"]["booti"]
        == config["parameters"]["image"]
        == {
            "kernel": "0x40400000",
            "ramdisk": "0x44000000",
            "dtb": "0x40000000",
            "tee": "0x83000000",
            "dtbo": "0x93c00000",
        }
    )
    assert config["actions"]["deploy"]["parameters"]["add_header"] == "raw"
    assert config["actions"]["deploy"]["parameters"]["mkimage_arch"] == "arm64"
    assert commands(config, "ramdisk") == GOLDEN_RAMDISK
    assert "minimal" in config["actions"]["boot"]["methods"]
    device = Device.from_dict(config)
    assert device.load_addresses["booti"].dtb == "0x40000000"
    assert device.deploy_parameters.add_header == "raw"
    assert device.commands.primary_connection().command == "telnet 127.0.0.1 7101"


def test_qemu_uboot_arm64_ramdisk_format_can_be_changed() -> None:
    context = {"uboot_ramdisk_format": "u-boot"}
    assert load_device(QEMU_UBOOT, context)["actions"]["deploy"]["parameters"]["add_header"] == (
        "u-boot"
    )
    text = QEMU_UBOOT + "{% set uboot_ramdisk_format = 'u-boot' %}\n"
    assert (
        load_device(text, {"uboot_ramdisk_format": "raw"})["actions"]["deploy"]["parameters"][
            "add_header"
        ]
        == "u-boot"
    )


# --- the boards -----------------------------------------------------------------------


def board(device_type: str, extra: str = "", context: dict[str, Any] | None = None) -> Any:
    return load_device("{% extends '" + device_type + ".jinja2' %}\n" + extra, context)


def test_beaglebone_black() -> None:
    config = board("beaglebone-black")
    assert config["character_delays"] == {"boot": 10}
    assert uboot(config)["parameters"]["bootloader_prompt"] == "U-Boot"
    assert config["parameters"]["bootz"]["kernel"] == config["parameters"]["bootm"]["kernel"]
    assert config["actions"]["deploy"]["parameters"]["mkimage_arch"] == "arm"
    assert "console=ttyO0,115200n8" in bootargs(commands(config, "ramdisk"))
    # the board's addresses are the board's, as in LAVA
    config = board("beaglebone-black", "{% set bootz_kernel_addr = '0x1' %}\n")
    assert config["parameters"]["bootz"]["kernel"] == "0x82000000"


def test_panda_starts_usb_first() -> None:
    assert commands(board("panda"), "ramdisk")[:2] == ["usb start", "setenv autoload no"]


def test_cubietruck_prompt_keeps_its_space() -> None:
    assert uboot(board("cubietruck"))["parameters"]["bootloader_prompt"] == "sun7i# "


def test_b2260_mac_and_kernel_args() -> None:
    config = board("b2260", "{% set uboot_mac_addr = '00:80:e1:12:81:30' %}\n")
    ramdisk = commands(config, "ramdisk")
    assert "setenv ethaddr 00:80:e1:12:81:30" in ramdisk
    assert bootargs(ramdisk) == (
        "setenv bootargs 'console=ttyAS1,115200n8 root=/dev/ram0 consoleblank=0 "
        "mem=992M@0x40000000 vmalloc=256m clk_ignore_unused earlyprintk "
        "ip=::::stiH410::dhcp kmac=dev:eth0,addr:${ethaddr}'"
    )
    assert config["timeouts"]["actions"]["power-off"] == {"seconds": 15}
    config = board("b2260", context={"extra_kernel_args": "quiet"})
    assert "earlyprintk quiet ip=" in bootargs(commands(config, "ramdisk"))


def test_meson8b_odroidc1() -> None:
    config = board("meson8b-odroidc1")
    assert config["constants"]["u-boot"]["interrupt_ctrl_list"] == ["c"]
    assert config["parameters"]["text_offset"] == "0x00208000"
    assert uboot(config)["parameters"]["interrupt_char"] == " "


def test_rzn1d_fit_and_board_ids() -> None:
    config = board("rzn1d")
    assert config["board_id"] == "LCES2-0x0000000000000000"
    assert (config["usb_vendor_id"], config["usb_product_id"]) == ("045b", "0239")
    assert commands(config, "fit") == [
        "setenv autoload no",
        "dhcp",
        "setenv serverip {SERVER_IP}",
        "tftp {KERNEL_ADDR} {KERNEL}",
        "setenv bootargs 'console=ttyS0,115200n8 rootfstype=ramfs rootwait coherent_pool=2M'",
        "bootm {KERNEL_ADDR}#conf@1",
    ]
    assert config["parameters"]["bootz"]["ramdisk"] == "-"
    assert "setenv initrd_high 0xffffffff" not in commands(config, "ramdisk")
    dfu = config["actions"]["boot"]["methods"]["dfu"]["parameters"]
    assert dfu["enter-commands"] == ["nand erase.part fs1", "dfu"]
    assert ",tcp,hard,vers=3 " in bootargs(commands(config, "nfs"))


def test_x15_and_x15_bl() -> None:
    config = board("x15", "{% set fastboot_serial_number = 'abc' %}\n")
    assert commands(config, "mmc")[-1] == "run mmcboot"
    assert config["fastboot_via_uboot"] is True
    assert config["adb_serial_number"] == "0000000000"
    assert config["flash_cmds_order"][0] == "update"
    assert config["actions"]["boot"]["methods"]["fastboot"] == ["reboot"]
    deploy = config["actions"]["deploy"]["methods"]["u-boot"]["parameters"]
    assert deploy["fastboot"] == {"commands": ["fastboot 1"]}
    assert config["constants"]["u-boot"]["error-messages"][-1] == "Invalid partition"
    config = board("x15-bl", "{% set recovery_mode_command = ['relay off'] %}\n")
    assert config["actions"]["deploy"]["methods"]["recovery"] == {
        "commands": {"recovery_mode": ["relay off"], "recovery_exit": None}
    }
    assert config["commands"]["recovery_mode"] == ["relay off"]


def test_sharkl2_has_no_load_addresses() -> None:
    config = board("sharkl2")
    assert not {"booti", "bootz", "bootm"} & set(config["parameters"])
    assert config["actions"]["deploy"]["methods"]["u-boot"]["parameters"]["fastboot"] == {
        "commands": ["cboot fastboot"]
    }


def test_xilinx_zcu102_uses_tftpboot() -> None:
    config = board("xilinx-zcu102")
    assert commands(config, "ramdisk")[5:] == [
        "tftpboot {KERNEL_ADDR} {KERNEL}",
        "tftpboot {RAMDISK_ADDR} {RAMDISK}",
        "tftpboot {DTB_ADDR} {DTB}",
        "setenv bootargs 'console=ttyPS0,115200n8 root=/dev/ram0  ip=dhcp'",
        "{BOOTX}",
    ]
    assert config["parameters"]["booti"]["kernel"] == "0x80000"


@pytest.mark.parametrize(
    ("device_type", "console", "ums"),
    [
        ("imx8mq-evk", "ttymxc0,115200 earlycon=ec_imx6q,0x30860000", "ums 0 mmc 1"),
        ("imx8dxl-evk", "ttyLP0", "ums 1 mmc 1"),
    ],
)
def test_imx8(device_type: str, console: str, ums: str) -> None:
    config = board(device_type, "{% set fastboot_serial_number = 'f00' %}\n")
    check_uboot_shape(config)
    assert config["parameters"]["booti"]["kernel"] == "${loadaddr}"
    assert config["parameters"]["bootm"]["dtb"] == "${fdt_addr}"
    assert commands(config, "ramdisk")[:2] == ["setenv autoload no", "dhcp"]
    assert f"console={console},115200n8 " in bootargs(commands(config, "ramdisk"))
    assert commands(config, "ums") == [ums]
    assert config["device_info"] == [{"board_id": "f00"}]
    assert config["adb_serial_number"] == "f00"
    assert config["character_delays"] == {"boot": 5, "test": 5}
    assert config["constants"]["shutdown-message"] == "Restarting system"
    fixed = board(device_type, "{% set use_uboot_env_addr = false %}\n")
    assert fixed["parameters"]["booti"]["kernel"].startswith("0x")


def test_imx7s_warp_flashes_over_ums() -> None:
    config = board("imx7s-warp", "{% set uboot_mass_storage_device = '/dev/disk/by-id/x' %}\n")
    assert "u-boot-ums" in config["actions"]["deploy"]["methods"]
    assert uboot(config)["parameters"]["uboot_ums_flash"] is True
    assert uboot(config)["parameters"]["uboot_mass_storage_device"] == "/dev/disk/by-id/x"


def test_juno_uboot() -> None:
    config = board("juno-uboot")
    check_device_schema(config)
    assert set(uboot(config)) == {
        "parameters",
        "ramdisk-local",
        "nfs-local",
        "ramdisk-tftp",
        "ramdisk-tftp-usb",
        "tftp-local-ramdisk-nfsroot",
        "usb",
        "use-defaults",
    }
    assert commands(config, "ramdisk-local")[:3] == [
        "setenv autoload no",
        "setenv bootdelay 1",
        "setenv ethact smc911x-0",
    ]
    assert commands(config, "ramdisk-local")[-1] == "{BOOTX}"
    assert commands(config, "nfs-local")[-1].startswith("setenv bootargs 'console=ttyAMA0,115200n8")
    assert config["parameters"]["booti"] == {
        "kernel": "0x80080000",
        "ramdisk": "0x84000000",
        "dtb": "0x83000000",
    }
    assert config["timeouts"]["actions"]["u-boot-interrupt"] == {"minutes": 2}
    assert config["timeouts"]["connections"]["http-download"] == {"minutes": 10}
    assert "flash-uboot-ums" not in config["timeouts"]["actions"]
    assert config["actions"]["deploy"]["methods"]["vemsd"]["parameters"]["mcc_prompt"] == "Cmd>"
    assert set(config["actions"]["boot"]["connections"]) == {"adb", "serial", "ssh"}
    assert "test" not in config["actions"]


def test_a_board_that_does_not_exist() -> None:
    with pytest.raises(DeviceDictionaryError, match="not found"):
        board("no-such-uboot-board")
