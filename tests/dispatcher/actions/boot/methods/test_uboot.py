"""boot: method: u-boot, from a tftp deploy to a shell, on a scripted U-Boot console.

The console is tests/dispatcher/support/fake_uboot.py run as the device's
connection command (no shell, as LAVA runs it); the power commands are real
commands on files the fake watches.
"""

from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import pytest

from lava.common import log
from lava.common.exceptions import JobError
from lava.dispatcher.actions.boot.methods.uboot import UBootAction
from lava.dispatcher.pipeline import Action
from tests.dispatcher.support import uboot


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return uboot.boot_files(tmp_path / "files")


def messages(stream: io.StringIO, lvl: str | None = None) -> list[Any]:
    decoded = [log.decode(line) for line in stream.getvalue().splitlines()]
    return [r["msg"] for r in decoded if lvl is None or r["lvl"] == lvl]


def results(stream: io.StringIO) -> dict[str, dict[str, Any]]:
    return {r["case"]: r for r in messages(stream, "results")}


def parsed_commands(stream: io.StringIO) -> list[str]:
    info = [str(m) for m in messages(stream, "info")]
    start = info.index("Parsed boot commands:") + 1
    end = start
    while end < len(info) and info[end].startswith("- "):
        end += 1
    return [line[2:] for line in info[start:end]]


def tree(action: Action) -> list[Any]:
    assert action.pipeline is not None
    return [
        (child.name, tree(child)) if child.pipeline and child.pipeline.actions else child.name
        for child in action.pipeline.actions
    ]


def test_pipeline_with_a_hard_reset(tmp_path: Path, stream: io.StringIO, files: Any) -> None:
    device = uboot.device(connection_command="telnet s 1", hard_reset_command="pdu reboot 1")
    job = uboot.build(tmp_path, stream, uboot.definition(files), device)
    boot = job.pipeline.actions[1]
    assert isinstance(boot, UBootAction)
    assert boot.level == "2"
    assert tree(boot) == [
        "bootloader-overlay",
        "connect-device",
        (
            "uboot-commands",
            [
                ("reset-device", ["pdu-reboot"]),
                "bootloader-interrupt",
                "bootloader-commands",
                ("auto-login-action", ["login-action"]),
            ],
        ),
    ]


def test_without_hard_reset_the_device_is_rebooted_from_its_console(
    tmp_path: Path, stream: io.StringIO, files: Any
) -> None:
    device = uboot.device(connection_command="telnet s 1")
    job = uboot.build(tmp_path, stream, uboot.definition(files), device)
    commands = job.pipeline.actions[1].pipeline.actions[2]
    assert tree(commands)[0] == ("reset-device", ["send-reboot-commands"])


def test_reset_false_leaves_out_reset_device(
    tmp_path: Path, stream: io.StringIO, files: Any
) -> None:
    device = uboot.device(connection_command="telnet s 1", hard_reset_command="pdu reboot 1")
    definition = uboot.definition(files, {"reset": False})
    del definition["actions"][1]["boot"]["prompts"]
    job = uboot.build(tmp_path, stream, definition, device)
    # Without prompts there is no login either: the boot ends at "Starting kernel".
    assert tree(job.pipeline.actions[1].pipeline.actions[2]) == [
        "bootloader-interrupt",
        "bootloader-commands",
    ]


def test_a_device_without_u_boot_refuses_the_boot(
    tmp_path: Path, stream: io.StringIO, files: Any
) -> None:
    device = uboot.device(connection_command="telnet s 1")
    del device["actions"]["boot"]["methods"]["u-boot"]
    with pytest.raises(JobError, match="boot method 'u-boot' is not available on device"):
        uboot.build(tmp_path, stream, uboot.definition(files), device)


def test_boot_to_a_shell_after_a_hard_reset(
    tmp_path: Path, stream: io.StringIO, files: Any
) -> None:
    record, reset, off = tmp_path / "typed", tmp_path / "reset", tmp_path / "off"
    device = uboot.device(
        connection_command=uboot.console_command("--record", record, "--reset-file", reset),
        hard_reset_command=f"touch {reset}",
        power_off_command=f"touch {off}",
    )
    job = uboot.build(tmp_path, stream, uboot.definition(files), device)
    elapsed, error = uboot.run(job)
    assert error is None, error
    assert elapsed < 5

    commands = parsed_commands(stream)
    kernel = next(c for c in commands if c.startswith("tftp 0x40400000 "))
    tftp_dir = kernel.split()[2].rsplit("/", 2)[0]
    assert tftp_dir.startswith("7/tftp-deploy-")
    assert commands == [
        "setenv autoload no",
        "setenv initrd_high 0xffffffff",
        "setenv fdt_high 0xffffffff",
        "dhcp",
        f"setenv serverip {uboot.DISPATCHER_IP}",
        f"tftp 0x40400000 {tftp_dir}/kernel/Image",
        f"tftp 0x44000000 {tftp_dir}/ramdisk/rootfs.cpio",
        # no TEE deployed: `tftp {TEE_ADDR} {TEE}` is gone
        "setenv initrd_size ${filesize}",
        f"tftp 0x40000000 {tftp_dir}/dtb/board.dtb",
        "setenv bootargs 'console=ttyAMA0,115200n8 root=/dev/ram0  ip=dhcp'",
        "booti 0x40400000 0x44000000:${initrd_size} 0x40000000",
    ]
    # The interrupt is one Enter (interrupt_char ''), then exactly the parsed commands.
    assert uboot.typed(record) == ["", *commands]
    found = results(stream)
    assert found["pdu-reboot"]["result"] == "pass"
    assert found["bootloader-commands"]["extra"] == {"commands": len(commands)}
    assert found["login-action"]["extra"]["prompt"] == uboot.SHELL_PROMPT
    # The end of the job: powered off, console closed, TFTP files removed.
    assert off.exists()
    assert job.connection is None
    assert list((tmp_path / "tftp").iterdir()) == []


def test_soft_reboot_without_hard_reset_command(
    tmp_path: Path, stream: io.StringIO, files: Any
) -> None:
    record = tmp_path / "typed"
    device = uboot.device(
        connection_command=uboot.console_command("--record", record, "--start-linux"),
    )
    job = uboot.build(tmp_path, stream, uboot.definition(files), device)
    _, error = uboot.run(job)
    assert error is None, error
    typed = uboot.typed(record)
    # the default list goes whole (LAVA), then the interrupt key
    assert typed[:4] == ["reboot", "reboot -n", "reboot -nf", ""]
    assert typed[-1].startswith("booti ")
    assert results(stream)["send-reboot-commands"]["extra"] == {
        "status": "success",
        "commands": ["reboot", "reboot -n", "reboot -nf"],
    }


def test_reset_false_boots_from_where_the_board_is(
    tmp_path: Path, stream: io.StringIO, files: Any
) -> None:
    record = tmp_path / "typed"
    device = uboot.device(
        connection_command=uboot.console_command("--record", record),
        hard_reset_command="false",  # would fail the job if it ran
    )
    job = uboot.build(tmp_path, stream, uboot.definition(files, {"reset": False}), device)
    _, error = uboot.run(job)
    assert error is None, error
    assert "pdu-reboot" not in results(stream)
    assert uboot.typed(record)[0] == ""


@pytest.mark.skipif(shutil.which("mkimage") is None, reason="mkimage (u-boot-tools) missing")
def test_a_ramdisk_with_a_u_boot_header_needs_no_size(
    tmp_path: Path, stream: io.StringIO, files: Any
) -> None:
    device = uboot.device(connection_command=uboot.console_command(), uboot_ramdisk_format="u-boot")
    job = uboot.build(tmp_path, stream, uboot.definition(files, {"reset": False}), device)
    _, error = uboot.run(job)
    assert error is None, error
    assert parsed_commands(stream)[-1] == "booti 0x40400000 0x44000000 0x40000000"
    assert results(stream)["compress-ramdisk"]["extra"]["header"] == "u-boot"


def test_the_jobs_own_commands(tmp_path: Path, stream: io.StringIO, files: Any) -> None:
    record = tmp_path / "typed"
    device = uboot.device(connection_command=uboot.console_command("--record", record))
    boot = {
        "reset": False,
        "commands": ["setenv serverip {SERVER_IP}", "tftp {TEE_ADDR} {TEE}", "{BOOTX}"],
    }
    job = uboot.build(tmp_path, stream, uboot.definition(files, boot), device)
    _, error = uboot.run(job)
    assert error is None, error
    assert "Using the job's boot commands instead of the device's" in messages(stream, "warning")
    expected = [
        f"setenv serverip {uboot.DISPATCHER_IP}",
        "booti 0x40400000 0x44000000:${initrd_size} 0x40000000",
    ]
    assert parsed_commands(stream) == expected
    assert uboot.typed(record) == ["", *expected]
