from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from lava.common import device, yamlio
from lava.common.device import (
    DeviceDictionaryError,
    device_type_of,
    load_device,
    render_device,
    template_dirs,
)
from lava.common.jinja import as_scalar, as_yaml, qemu_guest_fs_interface, yaml_quote
from tests.support.conformance import CONFORMANCE

DEVICES = CONFORMANCE / "devices"
QEMU_DICTS = sorted(
    [
        *DEVICES.glob("qemu0*.jinja2"),
        *DEVICES.glob("kvm0*.jinja2"),
        *DEVICES.glob("fakeqemu*.jinja2"),
    ]
)
needs_conformance = pytest.mark.skipif(
    not QEMU_DICTS, reason=f"no device dictionaries in {DEVICES}"
)

QEMU = "{% extends 'qemu.jinja2' %}\n{% set mac_addr = '52:54:00:12:34:99' %}\n"
KVM = "{% extends 'kvm.jinja2' %}\n"

CONTEXTS: list[dict[str, Any]] = [
    {},
    {"arch": "arm64"},
    {"arch": "amd64", "no_kvm": True, "memory": 1024, "extra_options": ["-smp", 2]},
    {"arch": "arm64", "netdevice": "tap", "extra_options": ["-smp", 1]},
]


def qemu_params(config: dict[str, Any], method: str = "qemu") -> dict[str, Any]:
    return config["actions"]["boot"]["methods"][method]["parameters"]


def check_device_schema(config: dict[str, Any]) -> None:
    """The shape LAVA's device schema asks for (lava_common/schemas/device.py)."""
    assert isinstance(config["constants"], dict)
    assert isinstance(config["parameters"], dict)
    assert set(config["actions"]) <= {"deploy", "boot", "test"}
    assert "methods" in config["actions"]["deploy"]
    assert {"connections", "methods"} <= set(config["actions"]["boot"])
    for kind in ("actions", "connections"):
        for name, timeout in config["timeouts"][kind].items():
            assert isinstance(name, str)
            (unit, value), *rest = timeout.items()
            assert not rest
            assert unit in ("days", "hours", "minutes", "seconds")
            assert isinstance(value, int) and value >= 1
    for key in ("hard_reset", "soft_reboot", "power_off", "power_on", "connect"):
        value = config.get("commands", {}).get(key)
        assert value is None or isinstance(value, str | list)
    for user in config.get("commands", {}).get("users", {}).values():
        assert isinstance(user["do"], str | list)
    for key in ("deploy", "boot", "test"):
        assert isinstance(config.get("character_delays", {}).get(key, 0), int)
    assert all(isinstance(a, str) for a in config.get("available_architectures", []))


# --- template search path ---------------------------------------------------------


def test_template_dirs_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAVA_DEVICE_TYPES", "/srv/a::/srv/b")
    dirs = template_dirs()
    assert dirs[:3] == [
        Path("/srv/a"),
        Path("/srv/b"),
        Path("/etc/lava-server/dispatcher-config/device-types"),
    ]
    source = Path(device.__file__).resolve().parents[3] / "share" / "device-types"
    assert dirs[3] == source
    assert (source / "qemu.jinja2").is_file()
    assert dirs[4] == Path(sys.prefix) / "share" / "lava" / "device-types"
    monkeypatch.delenv("LAVA_DEVICE_TYPES")
    assert template_dirs()[0] == Path("/etc/lava-server/dispatcher-config/device-types")


def test_first_template_dir_wins(tmp_path: Path) -> None:
    override = tmp_path / "types"
    override.mkdir()
    (override / "qemu.jinja2").write_text(
        "{% extends 'base.jinja2' %}{% block body %}\nactions: {deploy: {methods: {}}, "
        "boot: {connections: {}, methods: {admin: true}}}\n{% endblock %}\n"
    )
    config = load_device(QEMU, dirs=[override, *template_dirs()])
    assert config["actions"]["boot"]["methods"] == {"admin": True}


def test_dictionary_directory_is_searched_first(tmp_path: Path) -> None:
    (tmp_path / "lab-qemu.jinja2").write_text(
        "{% extends 'qemu.jinja2' %}\n{% set memory = 4096 %}\n"
    )
    (tmp_path / "vm1.jinja2").write_text("{% extends 'lab-qemu.jinja2' %}\n")
    config = load_device(tmp_path / "vm1.jinja2", {"arch": "amd64"})
    assert "-m 4096" in qemu_params(config)["options"]
    assert config["hostname"] == "vm1"
    assert config["devicetype"] == "lab-qemu"


# --- the conformance dictionaries ---------------------------------------------------


@needs_conformance
@pytest.mark.parametrize("path", QEMU_DICTS, ids=lambda p: p.stem)
@pytest.mark.parametrize("context", CONTEXTS, ids=["none", "arm64", "amd64-nokvm", "arm64-tap"])
def test_conformance_dictionaries_render(path: Path, context: dict[str, Any]) -> None:
    text = render_device(path, context)
    config = yamlio.load(text)
    assert config == load_device(path, context)
    check_device_schema(config)
    assert config["hostname"] == path.stem
    assert config["devicetype"] == "qemu"
    assert config["constants"]["posix"] == {
        "lava_test_sh_cmd": "/bin/sh",
        "lava_test_results_dir": "/lava-%s",
        "lava_test_shell_file": "~/.bashrc",
    }
    assert config["constants"]["failure_retry"] == 1
    assert config["constants"]["default-shell-prompt"] == "lava-test: # "
    assert config["constants"]["kernel-start-message"] == "Linux version [0-9]"
    assert config["actions"]["deploy"]["methods"]["nfs"] is None
    assert config["actions"]["deploy"]["methods"]["image"]["parameters"]["guest"]["size"] == 512
    assert set(config["actions"]["boot"]["connections"]) == {"serial", "ssh"}
    assert set(config["actions"]["boot"]["methods"]) == {"minimal", "qemu", "qemu-nfs"}
    assert "arm64" in config["available_architectures"]
    assert config["timeouts"]["actions"]["lava-test-shell"] == {"minutes": 3}
    assert config["timeouts"]["connections"]["lava-test-shell"] == {"seconds": 10}

    dictionary = path.read_text()
    arch = "amd64" if "arch" in dictionary else context.get("arch", "")
    params = qemu_params(config)
    binary = {"amd64": "x86_64", "arm64": "aarch64"}.get(arch, arch)
    assert params["command"] == f"qemu-system-{binary}"
    options = params["options"]
    assert options[-4] == "-nographic"
    memory = context.get("memory", 512)
    for size in (256, 1024):
        if f"memory = {size}" in dictionary:
            memory = size
    assert options[-2:] == [f"-m {memory}", "-monitor none"]
    kvm = arch != "arm64" and not context.get("no_kvm") and "no_kvm = True" not in dictionary
    assert ("-enable-kvm" in options) is kvm
    assert ("-cpu cortex-a57" in options) is (arch == "arm64")
    netdevice = context.get("netdevice", "user")
    assert options[-3].startswith("-net nic,model=virtio,macaddr=52:54:00:12:34:")
    assert options[-3].endswith(f" -net {netdevice}")
    assert params.get("extra") == context.get("extra_options")
    assert qemu_params(config, "qemu-nfs")["options"] == options
    assert qemu_params(config, "qemu-nfs")["append"]["root"] == "/dev/nfs"


@needs_conformance
def test_qemu01_user_commands() -> None:
    config = load_device(DEVICES / "qemu01.jinja2")
    assert config["commands"] == {
        "users": {
            "touch": {"do": "touch /tmp/bla", "undo": "touch /tmp/bla.rm"},
            "sleep_short": {"do": "sleep 10"},
            "sleep": {"do": "sleep 100", "undo": "/bin/true"},
        }
    }


@needs_conformance
def test_dictionary_wins_over_job_context() -> None:
    # kvm01 fixes arch, memory and no_kvm; the job's context cannot change them
    config = load_device(DEVICES / "kvm01.jinja2", {"arch": "arm64", "memory": 4096})
    params = qemu_params(config)
    assert params["command"] == "qemu-system-x86_64"
    assert params["options"] == [
        "-nographic",
        "-net nic,model=virtio,macaddr=52:54:00:12:34:59 -net user",
        "-m 256",
        "-monitor none",
    ]
    assert params["boot_options"] == {
        "root": "/dev/sda1",
        "console": "ttyS0,115200",
        "boot_order": "c",
    }
    assert config["character_delays"] == {"test": 30}
    interface = config["actions"]["deploy"]["methods"]["image"]["parameters"]["guest"]
    assert interface == {"size": 512, "interface": "ide", "driveid": "lavatest"}


@needs_conformance
def test_static_info() -> None:
    assert load_device(DEVICES / "kvm03.jinja2")["static_info"] == [{"FILE_SERVER_IP": "foobar"}]


# --- qemu.jinja2 and the job context ------------------------------------------------


@pytest.mark.parametrize(
    ("arch", "command", "first_options"),
    [
        ("arm64", "qemu-system-aarch64", ["-cpu cortex-a57", "-machine virt", "-nographic"]),
        ("aarch64", "qemu-system-aarch64", ["-cpu cortex-a57", "-machine virt", "-nographic"]),
        ("arm", "qemu-system-arm", ["-cpu cortex-a57", "-machine virt", "-nographic"]),
        ("amd64", "qemu-system-x86_64", ["-cpu host", "-enable-kvm", "-nographic"]),
        ("x86_64", "qemu-system-x86_64", ["-cpu host", "-enable-kvm", "-nographic"]),
        ("i386", "qemu-system-i386", ["-cpu core2duo", "-machine pc", "-cpu host", "-enable-kvm"]),
        ("riscv64", "qemu-system-riscv64", ["-machine virt", "-cpu rv64", "-cpu host"]),
        ("ppc64", "qemu-system-ppc64", ["-machine pseries", "-cpu host", "-enable-kvm"]),
        ("mips", "qemu-system-mips", ["-machine malta", "-cpu host"]),
        ("sparc64", "qemu-system-sparc64", ["-machine sun4u", "-cpu host"]),
        ("microblaze", "qemu-system-microblaze", ["-cpu host", "-enable-kvm", "-nographic"]),
    ],
)
def test_arch_command_and_machine(arch: str, command: str, first_options: list[str]) -> None:
    params = qemu_params(load_device(QEMU, {"arch": arch}))
    assert params["command"] == command
    assert params["options"][: len(first_options)] == first_options


def test_full_amd64_option_list() -> None:
    context = {
        "arch": "amd64",
        "no_kvm": True,
        "memory": 1024,
        "extra_options": ["-smp", 2, "-global", "virtio-blk-device.scsi=off"],
    }
    params = qemu_params(load_device(QEMU, context))
    assert params == {
        "command": "qemu-system-x86_64",
        "boot_options": {"root": "/dev/sda1", "console": "ttyS0,115200", "boot_order": "c"},
        "options": [
            "-nographic",
            "-net nic,model=virtio,macaddr=52:54:00:12:34:99 -net user",
            "-m 1024",
            "-monitor none",
        ],
        "extra": ["-smp", 2, "-global", "virtio-blk-device.scsi=off"],
    }


def test_context_options() -> None:
    context = {
        "arch": "arm",
        "machine": "vexpress-a15",
        "cpu": "cortex-a15",
        "vga": "-vga std",
        "serial": "-serial stdio",
        "model": "model=e1000",
        "netdevice": "tap",
        "monitor": "stdio",
        "memory": "2G",
    }
    params = qemu_params(load_device(QEMU, context))
    assert params["options"] == [
        "-cpu cortex-a15",
        "-machine vexpress-a15",
        "-vga std",
        "-serial stdio",
        "-nographic",
        "-net nic,model=e1000,macaddr=52:54:00:12:34:99 -net tap",
        "-m 2G",
        "-monitor stdio",
    ]
    assert params["boot_options"] is None
    assert "extra" not in params


def test_no_network_and_no_kvm() -> None:
    options = qemu_params(load_device(QEMU, {"arch": "amd64", "no_network": True}))["options"]
    assert "-net none" in options
    assert "-enable-kvm" in options
    options = qemu_params(load_device(QEMU, {"arch": "amd64", "no_kvm": True}))["options"]
    assert "-enable-kvm" not in options
    assert "-cpu host" not in options
    # as in LAVA, only a real boolean true switches the network off
    options = qemu_params(load_device(QEMU, {"arch": "amd64", "no_network": "yes"}))["options"]
    assert "-net none" not in options


def test_guest_disk_from_context() -> None:
    def guest(context: dict[str, Any]) -> dict[str, Any]:
        config = load_device(QEMU, context)
        return config["actions"]["deploy"]["methods"]["image"]["parameters"]["guest"]

    assert guest({"arch": "arm64"}) == {"size": 512, "interface": "virtio", "driveid": "lavatest"}
    assert guest({"arch": "i386"})["interface"] == "ide"
    context = {
        "arch": "amd64",
        "guestfs_size": 2048,
        "guestfs_interface": "scsi",
        "guestfs_driveid": "disk1",
    }
    assert guest(context) == {"size": 2048, "interface": "scsi", "driveid": "disk1"}


def test_every_architecture_renders() -> None:
    architectures = load_device(QEMU, {"arch": "arm64"})["available_architectures"]
    assert len(architectures) == 34
    for arch in architectures:
        config = load_device(QEMU, {"arch": arch})
        assert qemu_params(config)["command"].startswith("qemu-system-")
        expected = "ide" if arch in ("amd64", "x86_64", "i386") else "virtio"
        guest = config["actions"]["deploy"]["methods"]["image"]["parameters"]["guest"]
        assert guest["interface"] == expected


def test_boot_options_for_installers() -> None:
    context = {"arch": "arm64", "boot_root": "/dev/vda", "boot_console": "ttyAMA1"}
    assert qemu_params(load_device(QEMU, context))["boot_options"] == {
        "root": "/dev/vda rw rootwait",
        "console": "ttyAMA1",
        "ip": "dhcp",
        "mem": "1024M",
    }
    # LAVA's own template loses ",115200" here (an unquoted comma in a flow mapping)
    assert qemu_params(load_device(QEMU, {"arch": "x86_64"}))["boot_options"] == {
        "root": "/dev/sda1",
        "console": "ttyS0,115200",
    }


def test_qemu_nfs_append() -> None:
    context = {
        "arch": "arm64",
        "static_ip": "10.0.0.2",
        "static_gateway": "10.0.0.1",
        "static_netmask": "255.0.0.0",
        "static_dns": "10.0.0.53",
        "extra_nfsroot_args": ",vers=3",
        "console_device": "ttyS0",
    }
    append = qemu_params(load_device(QEMU, context), "qemu-nfs")["append"]
    assert append == {
        "console": "ttyS0",
        "root": "/dev/nfs",
        "nfsrootargs": "nfsroot={NFS_SERVER_IP}:{NFSROOTFS},tcp,hard,vers=3",
        "ipargs": "ip=10.0.0.2::10.0.0.1:255.0.0.0:::off:10.0.0.53:",
    }
    append = qemu_params(load_device(QEMU, {"arch": "arm64"}), "qemu-nfs")["append"]
    assert append["console"] == "ttyAMA0"
    assert append["ipargs"] == "ip=dhcp"


def test_docker_test_options() -> None:
    docker = load_device(QEMU)["actions"]["test"]["methods"]["docker"]
    assert docker == {"global_options": [], "options": []}
    text = QEMU + "{% set docker_shell_extra_arguments = ['--privileged', '-v /a:/a'] %}\n"
    text += "{% set docker_shell_global_arguments = '--debug' %}\n"
    docker = load_device(text)["actions"]["test"]["methods"]["docker"]
    assert docker == {"global_options": ["--debug"], "options": ["--privileged", "-v /a:/a"]}


# --- base.jinja2 ----------------------------------------------------------------------


def test_constants_overrides_from_context() -> None:
    context = {
        "lava_test_results_dir": "/sysroot/lava-%s",
        "lava_test_sh_cmd": "/bin/bash",
        "default_shell_prompt": "root@vm:~# ",
        "boot_retry": 3,
        "failure_retry": 2,
        "shutdown_message": "reboot: Restarting system",
    }
    constants = load_device(QEMU, context)["constants"]
    assert constants["posix"]["lava_test_results_dir"] == "/sysroot/lava-%s"
    assert constants["posix"]["lava_test_sh_cmd"] == "/bin/bash"
    assert constants["default-shell-prompt"] == "root@vm:~# "
    assert constants["boot_retry"] == 3
    assert constants["failure_retry"] == 2
    assert constants["shutdown-message"] == "reboot: Restarting system"
    assert constants["spawn_maxread"] == "4092"
    assert load_device(QEMU)["constants"]["boot_retry"] is None


def test_bootloader_constants() -> None:
    constants = load_device(QEMU)["constants"]
    assert constants["u-boot"]["interrupt-prompt"] == "Hit any key to stop autoboot"
    assert constants["u-boot"]["interrupt-newline"] is True
    assert "Resetting CPU" in constants["u-boot"]["error-messages"]
    assert constants["u-boot"]["dfu-download"] == (r"DOWNLOAD \.\.\. OK\r\nCtrl\+C to exit \.\.\.")
    assert constants["barebox"]["interrupt-character"] == "\n"
    assert constants["grub"]["interrupt-newline"] is False
    assert constants["grub-efi"]["error-messages"][0] == "Undefined OpCode Exception PC at"
    assert constants["ipxe"]["interrupt_ctrl_list"] == ["b"]
    assert r"Error code \d+( \([\w\s]+\))?\r\n" in constants["depthcharge"]["error-messages"]
    text = QEMU + "{% set uboot_error_messages = ['boom'] %}\n"
    text += "{% set uboot_extra_error_message = 'bang' %}\n"
    assert load_device(text)["constants"]["u-boot"]["error-messages"] == ["boom", "bang"]


def test_timeouts_and_overrides() -> None:
    timeouts = load_device(QEMU)["timeouts"]
    assert timeouts["actions"]["http-download"] == {"minutes": 5}
    assert timeouts["actions"]["download-retry"] == {"minutes": 15}
    assert timeouts["actions"]["auto-login-action"] == {"minutes": 2}
    assert timeouts["actions"]["boot-qemu-image"] == {"minutes": 2}
    assert timeouts["actions"]["boot-image-retry"] == {"minutes": 2}
    assert timeouts["actions"]["power-off"] == {"seconds": 10}
    assert timeouts["actions"]["bootloader-commands"] == {"minutes": 3}
    assert timeouts["connections"]["auto-login-action"] == {"minutes": 2}
    assert timeouts["connections"]["bootloader-commands"] == {"seconds": 30}
    assert timeouts["connections"]["lava-docker-test-shell"] == {"seconds": 10}
    text = QEMU + (
        "{% set action_timeout_http_download = 9 %}\n"
        "{% set action_timeout_auto_login = 7 %}\n"
        "{% set action_timeout_boot_qemu_image = '4' %}\n"
        "{% set connection_timeout_feedback = 99 %}\n"
        "{% set connection_timeout_bootloader_commands = 45 %}\n"
    )
    timeouts = load_device(text)["timeouts"]
    assert timeouts["actions"]["http-download"] == {"minutes": 9}
    assert timeouts["actions"]["auto-login-action"] == {"minutes": 7}
    assert timeouts["actions"]["boot-qemu-image"] == {"minutes": 4}
    assert timeouts["connections"]["lava-test-shell"] == {"seconds": 99}
    assert timeouts["connections"]["bootloader-commands"] == {"seconds": 45}
    # the regular spelling of LAVA's odd names works too
    text = QEMU + "{% set action_timeout_auto_login_action = 6 %}\n"
    assert load_device(text)["timeouts"]["actions"]["auto-login-action"] == {"minutes": 6}


def test_commands() -> None:
    text = QEMU + (
        "{% set connection_command = 'telnet localhost 7000' %}\n"
        "{% set hard_reset_command = ['pduclient --port 1 --command off', 'sleep 5: really'] %}\n"
        "{% set power_off_command = 'pduclient --port 1 --command off # comment' %}\n"
        "{% set power_on_command = 'pduclient --port 1 --command on' %}\n"
        "{% set soft_reboot_command = 'reboot' %}\n"
        "{% set pre_os_command = 'usbswitch off' %}\n"
    )
    assert load_device(text)["commands"] == {
        "connect": "telnet localhost 7000",
        "hard_reset": ["pduclient --port 1 --command off", "sleep 5: really"],
        "soft_reboot": "reboot",
        "power_off": "pduclient --port 1 --command off # comment",
        "power_on": "pduclient --port 1 --command on",
        "pre_os_command": "usbswitch off",
    }


def test_connection_list() -> None:
    text = QEMU + (
        "{% set connection_list = ['uart0', 'uart1'] %}\n"
        "{% set connection_commands = {'uart0': 'telnet s 7001', 'uart1': 'telnet s 7002'} %}\n"
        "{% set connection_tags = {'uart0': ['primary', 'telnet'], 'uart1': 'telnet'} %}\n"
    )
    assert load_device(text)["commands"] == {
        "connections": {
            "uart0": {"connect": "telnet s 7001", "tags": ["primary", "telnet"]},
            "uart1": {"connect": "telnet s 7002", "tags": ["telnet"]},
        }
    }
    assert "commands" not in load_device(QEMU)


def test_parameters_and_extra_sections() -> None:
    assert load_device(QEMU)["parameters"] == {"pass": None}
    text = QEMU + (
        "{% set device_ip = '10.1.1.5' %}\n{% set device_mac = '00:11:22:33:44:55' %}\n"
        "{% set environment = {'FOO': 'bar', 'N': 1} %}\n"
        "{% set device_info = [{'board_id': 'ABC'}] %}\n"
        "{% set storage_info = [{'SATA': '/dev/disk/by-id/ata-x'}] %}\n"
        "{% set usb_uuid = 'usb-SanDisk' %}{% set usb_device_id = 0 %}\n"
        "{% set boot_character_delay = 10 %}\n"
    )
    config = load_device(text)
    assert config["parameters"]["interfaces"] == {
        "target": {"ip": "10.1.1.5", "mac": "00:11:22:33:44:55"}
    }
    assert config["parameters"]["media"] == {
        "usb": {"SanDisk_Ultra": {"uuid": "usb-SanDisk", "device_id": "0"}}
    }
    assert config["environment"] == {"FOO": "bar", "N": 1}
    assert config["device_info"] == [{"board_id": "ABC"}]
    assert config["storage_info"] == [{"SATA": "/dev/disk/by-id/ata-x"}]
    assert config["character_delays"] == {"boot": 10}
    check_device_schema(config)


def test_scheduler_names() -> None:
    config = load_device(QEMU, hostname="vm-07", device_type="qemu-lab")
    assert (config["hostname"], config["devicetype"]) == ("vm-07", "qemu-lab")
    config = load_device(QEMU)
    assert (config["hostname"], config["devicetype"]) == ("", "qemu")


# --- kvm.jinja2 -------------------------------------------------------------------------


def test_kvm_template() -> None:
    config = load_device(KVM + "{% set memory = 2048 %}\n", {"arch": "amd64"})
    check_device_schema(config)
    assert config["devicetype"] == "kvm"
    params = qemu_params(config)
    assert params == {
        "command": "qemu-system-x86_64",
        "boot_options": {"root": "/dev/sda1", "console": "ttyS0,115200", "boot_order": None},
        "options": [
            "-nographic",
            "-enable-kvm",
            "-cpu host",
            "-net nic,model=virtio,macaddr=52:54:00:12:34:58 -net user",
            "-m 2048",
        ],
    }
    assert set(config["actions"]["boot"]["methods"]) == {"qemu"}
    assert config["actions"]["boot"]["connections"] == {"serial": None}
    assert set(config["actions"]["deploy"]["methods"]) == {"image"}
    assert qemu_params(load_device(KVM, {"arch": "arm64"}))["command"] == "qemu-system-aarch64"
    assert qemu_params(load_device(KVM, {"arch": "i386"}))["command"] == "qemu-system-i386"


# --- errors ------------------------------------------------------------------------------


def test_missing_template(tmp_path: Path) -> None:
    path = tmp_path / "board.jinja2"
    path.write_text("{% extends 'no-such-board.jinja2' %}\n")
    with pytest.raises(DeviceDictionaryError, match=r"template 'no-such-board.jinja2' not found"):
        render_device(path)


def test_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "board.jinja2"
    path.write_text("{% extends 'qemu.jinja2' %}\n{% set memory = 1024 %}\n{% set x = [1, %}\n")
    with pytest.raises(DeviceDictionaryError, match=rf"{path}, line 3: "):
        render_device(path)
    with pytest.raises(DeviceDictionaryError, match="line 2"):
        render_device("{% extends 'qemu.jinja2' %}\n{% if %}\n")


def test_output_not_a_mapping() -> None:
    with pytest.raises(DeviceDictionaryError, match="not a YAML mapping"):
        render_device("{# no extends #}\n- a\n- b\n")


def test_output_not_yaml() -> None:
    with pytest.raises(DeviceDictionaryError, match=r"not valid YAML .*'environment: a: b'"):
        render_device(QEMU + "{% set environment = 'a: b' %}\n")


def test_a_quoted_line_of_the_output_is_cut_short() -> None:
    with pytest.raises(DeviceDictionaryError) as refused:
        render_device(QEMU + "{% set environment = 'a: b" + "c" * 100_000 + "' %}\n")
    assert "not valid YAML" in str(refused.value) and len(str(refused.value)) < 1000


def test_the_rendered_size_is_bounded_while_rendering() -> None:
    # a context value a template repeats: the qemu template writes extra_options twice
    context = {"extra_options": ["-smp 1"] * 100_000}
    with pytest.raises(DeviceDictionaryError) as refused:
        render_device(QEMU, context)
    assert "device_size" in str(refused.value) and "the limit is 1,048,576" in str(refused.value)
    render_device(QEMU, {"extra_options": ["-smp 1"] * 1000})  # a large but usual one renders


def test_long_values_are_not_kept_by_the_quoting_cache() -> None:
    from lava.common import jinja

    before = jinja._flow_scalar.cache_info().currsize
    for n in range(50):
        assert yaml_quote(f"{n}" + "x" * 10_000).startswith('"')
    assert jinja._flow_scalar.cache_info().currsize == before
    yaml_quote("a short one, kept")
    assert jinja._flow_scalar.cache_info().currsize == before + 1


def test_unreadable_dictionary(tmp_path: Path) -> None:
    with pytest.raises(DeviceDictionaryError, match="cannot read device dictionary"):
        render_device(tmp_path / "missing.jinja2")


def test_sandbox() -> None:
    text = "{{ ''.__class__.__mro__ }}\nconstants: {}\n"
    with pytest.raises(DeviceDictionaryError, match="unsafe"):
        render_device(text)


def test_device_type_of() -> None:
    assert device_type_of(QEMU) == "qemu"
    assert device_type_of('{% extends "bbb.jinja2" %}') == "bbb"
    assert device_type_of("{% set a = 1 %}") is None


# --- filters -----------------------------------------------------------------------------


def test_yaml_quote_like_lava() -> None:
    assert yaml_quote("a: b") == '"a: b"'
    assert yamlio.load(yaml_quote(1)) == 1  # '!!int "1"', or '! "1"' from libyaml
    assert yaml_quote(["x", "y"]) == '["x", "y"]'
    assert yaml_quote({"k": "v"}) == '{"k": "v"}'
    assert yamlio.load(yaml_quote("line\nbreak 'q' \"dq\"")) == "line\nbreak 'q' \"dq\""


def test_as_yaml() -> None:
    assert as_yaml("22") == "22"
    assert as_yaml(True) == "true"
    assert as_yaml(None) == "null"
    assert yamlio.load(as_yaml(["-smp", 1, "a: b", "c\\d"])) == ["-smp", 1, "a: b", "c\\d"]


def test_as_scalar() -> None:
    assert as_scalar("22") == "22"
    assert as_scalar("False") == "false"
    assert as_scalar("~") == as_scalar(None) == "null"
    assert as_scalar(True) == "true"
    assert as_scalar(15) == "15"
    # anything but one typed scalar stays the string it was
    for text in ["a: b", "x\nkey: 1", "# c", "[1, 2]", "{a: 1}", "2024-01-01", "&a *b", "u-boot"]:
        assert yamlio.load("key: " + as_scalar(text)) == {"key": text}
    long = "1" * 1000  # not parsed: a context value may be long
    assert yamlio.load(as_scalar(long)) == long


def test_qemu_guest_fs_interface() -> None:
    assert qemu_guest_fs_interface("amd64", None) == "ide"
    assert qemu_guest_fs_interface("x86_64", "") == "ide"
    assert qemu_guest_fs_interface("arm64", None) == "virtio"
    assert qemu_guest_fs_interface("arm64", "scsi") == "scsi"


def test_shlex_quote_filter() -> None:
    text = QEMU + "{% set connection_command = 'ssh ' ~ ('a b' | shlex_quote) %}\n"
    assert load_device(text)["commands"]["connect"] == "ssh 'a b'"


# --- command line ------------------------------------------------------------------------


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "vm3.jinja2"
    path.write_text(QEMU)
    job = tmp_path / "job.yaml"
    job.write_text("job_name: x\ncontext:\n  arch: arm64\n  memory: 768\n")
    assert device.main([str(path), "--job", str(job)]) == 0
    config = yamlio.load(capsys.readouterr().out)
    assert config["hostname"] == "vm3"
    assert qemu_params(config)["command"] == "qemu-system-aarch64"
    assert "-m 768" in qemu_params(config)["options"]

    types = tmp_path / "types"
    types.mkdir()
    (types / "qemu.jinja2").write_text(
        "{% extends 'base.jinja2' %}{% block body %}\nactions: {deploy: {methods: {}}, "
        "boot: {connections: {}, methods: {}}}\n{% endblock %}\n"
    )
    assert device.main([str(path), "--hostname", "h1", "--template-dir", str(types)]) == 0
    config = yamlio.load(capsys.readouterr().out)
    assert config["hostname"] == "h1"
    assert config["actions"]["boot"]["methods"] == {}


def test_cli_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "bad.jinja2"
    path.write_text("{% extends 'nothing.jinja2' %}\n")
    assert device.main([str(path)]) == 1
    assert "error:" in capsys.readouterr().err
    job = tmp_path / "job.yaml"
    job.write_text("context: [1]\n")
    path.write_text(QEMU)
    assert device.main([str(path), "--job", str(job)]) == 1
    assert "`context` must be a mapping" in capsys.readouterr().err
    assert device.main([str(path), "--job", str(tmp_path / "none.yaml")]) == 1
