"""bootloader-overlay, bootloader-interrupt and bootloader-commands on a scripted U-Boot.

Each test runs a whole job (tftp deploy + u-boot boot, well under a second)
against tests/dispatcher/support/fake_uboot.py; the failures must come from
the console's output, long before any timeout the device sets.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from lava.common import log
from lava.common.exceptions import InfrastructureError, JobError
from lava.dispatcher.actions.boot.bootloader import BootloaderCommandOverlay
from lava.dispatcher.state import BootFiles
from tests.dispatcher.support import uboot

# The device's own waits (base.jinja2): a failure must come well before them.
DEVICE_WAIT = 30


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    return uboot.boot_files(tmp_path / "files")


@pytest.fixture
def record(tmp_path: Path) -> Path:
    return tmp_path / "typed"


def messages(stream: io.StringIO, lvl: str) -> list[str]:
    decoded = [log.decode(line) for line in stream.getvalue().splitlines()]
    return [str(r["msg"]) for r in decoded if r["lvl"] == lvl]


def boot(
    tmp_path: Path,
    stream: io.StringIO,
    files: dict[str, Path],
    console: list[Any],
    boot_block: dict[str, Any] | None = None,
    timeouts: dict[str, Any] | None = None,
    **settings: Any,
) -> tuple[float, Exception | None]:
    """Run the job on a fake U-Boot started with `console` options; no reset."""
    device = uboot.device(connection_command=uboot.console_command(*console), **settings)
    definition = uboot.definition(files, {"reset": False, **(boot_block or {})}, **(timeouts or {}))
    return uboot.run(uboot.build(tmp_path, stream, definition, device))


# -- bootloader-overlay ------------------------------------------------------------


@pytest.mark.parametrize(
    ("commands", "error"),
    [
        (None, "boot method u-boot needs 'commands'"),
        ("mmc", "the device has no 'mmc' command list for u-boot (it has: nbd, nfs, ramdisk, "),
        (["dhcp", 3], "'commands' must be a list of strings"),
    ],
)
def test_overlay_validation(
    tmp_path: Path, stream: io.StringIO, files: Any, commands: Any, error: str
) -> None:
    definition = uboot.definition(files)
    if commands is None:
        del definition["actions"][1]["boot"]["commands"]
    else:
        definition["actions"][1]["boot"]["commands"] = commands
    device = uboot.device(connection_command=uboot.console_command())
    job = uboot.build(tmp_path, stream, definition, device)
    with pytest.raises(JobError) as info:
        job.validate()
    assert f"2.1 bootloader-overlay: {error}" in str(info.value)


def overlay(tmp_path: Path, stream: io.StringIO, files: Any, **settings: Any) -> Any:
    device = uboot.device(connection_command=uboot.console_command(), **settings)
    job = uboot.build(tmp_path, stream, uboot.definition(files), device)
    action = job.pipeline.actions[1].pipeline.actions[0]
    assert isinstance(action, BootloaderCommandOverlay)
    return action


def test_overlay_values_with_a_tee(tmp_path: Path, stream: io.StringIO, files: Any) -> None:
    action = overlay(tmp_path, stream, files)
    action.state.boot_files = BootFiles(
        names={"kernel": "7/d/kernel/Image", "ramdisk": "7/d/ramdisk/r", "tee": "7/d/tee/tee.bin"},
        kernel_type="image",
        boot_command="booti",
        ramdisk_header="u-boot",
    )
    values = action.values()
    assert values["SERVER_IP"] == values["LAVA_DISPATCHER_IP"] == uboot.DISPATCHER_IP
    assert values["RAMDISK"] == values["INITRD"] == "7/d/ramdisk/r"
    assert values["DTB"] is None
    assert values["LAVA_JOB_ID"] == "7"
    assert values["TEE_ADDR"] == "0x83000000"
    assert values["BOOTX"] == "booti 0x83000000 0x44000000 0x40000000"


def test_overlay_values_without_a_boot_command(
    tmp_path: Path, stream: io.StringIO, files: Any
) -> None:
    action = overlay(tmp_path, stream, files)
    action.state.boot_files = BootFiles(names={"kernel": "7/d/kernel/uImage"})
    values = action.values()
    assert "KERNEL_ADDR" not in values and "BOOTX" not in values
    # So the lines using them are dropped rather than typed with a hole.
    action.parameters["commands"] = ["tftp {KERNEL_ADDR} {KERNEL}", "{BOOTX}", "dhcp"]
    assert action.run(None, 0) is None
    assert action.state.boot_commands == ["dhcp"]


# -- bootloader-interrupt ------------------------------------------------------------


@pytest.mark.parametrize(("char", "sent"), [("", ""), (" ", " "), ("x", "x")])
def test_interrupt_char(
    tmp_path: Path, stream: io.StringIO, files: Any, record: Path, char: str, sent: str
) -> None:
    _, error = boot(tmp_path, stream, files, ["--record", record], interrupt_char=char)
    assert error is None, error
    typed = uboot.typed(record)
    assert typed[0] == sent  # one line: the character(s) and Enter
    assert typed[1] == "setenv autoload no"
    assert messages(stream, "input")[0] == sent


def test_interrupt_with_control_characters(
    tmp_path: Path, stream: io.StringIO, files: Any, record: Path
) -> None:
    _, error = boot(tmp_path, stream, files, ["--record", record], interrupt_ctrl_list=["c"])
    assert error is None, error
    assert uboot.typed(record)[:2] == ["^C", "setenv autoload no"]
    assert messages(stream, "input")[0] == "Ctrl-C"


def test_missing_interrupt_prompt_fails_within_the_interrupt_timeout(
    tmp_path: Path, stream: io.StringIO, files: Any
) -> None:
    timeouts = {"actions": {"bootloader-interrupt": {"seconds": 1}}}
    elapsed, error = boot(tmp_path, stream, files, ["--no-autoboot"], timeouts=timeouts)
    assert isinstance(error, InfrastructureError)
    assert 1 < elapsed < 3
    assert "bootloader-interrupt" in str(error) or "Hit any key to stop autoboot" in str(error)
    assert any("bootloader-interrupt" in m for m in messages(stream, "debug"))


def test_no_interrupt_needed_when_the_board_stops_at_its_prompt(
    tmp_path: Path, stream: io.StringIO, files: Any, record: Path
) -> None:
    timeouts = {"connections": {"bootloader-commands": {"seconds": 1}}}
    _, error = boot(
        tmp_path,
        stream,
        files,
        ["--record", record, "--no-countdown"],
        timeouts=timeouts,
        uboot_needs_interrupt=False,
    )
    assert error is None, error
    assert uboot.typed(record)[0] == "setenv autoload no"  # nothing before the commands


# -- bootloader-commands -------------------------------------------------------------


def test_an_error_message_fails_the_boot_at_once(
    tmp_path: Path, stream: io.StringIO, files: Any, record: Path
) -> None:
    console = ["--record", record, "--error-after", "booti=Wrong Ramdisk Image Format"]
    elapsed, error = boot(tmp_path, stream, files, console)
    assert isinstance(error, InfrastructureError)
    assert elapsed < DEVICE_WAIT / 10
    message = str(error)
    assert "matched a bootloader error message: 'Wrong Ramdisk Image Format'" in message
    assert message.endswith(": Wrong Ramdisk Image Format")
    assert uboot.typed(record)[-1].startswith("booti ")
    assert any("Wrong Ramdisk Image Format" in m for m in messages(stream, "exception"))


def test_file_not_found_stops_the_commands(
    tmp_path: Path, stream: io.StringIO, files: Any, record: Path
) -> None:
    not_found = "tftp 0x44000000=TFTP error: 'File not found' (1)"
    elapsed, error = boot(tmp_path, stream, files, ["--record", record, "--error-after", not_found])
    assert isinstance(error, InfrastructureError)
    assert elapsed < DEVICE_WAIT / 10
    assert "'File not found'" in str(error)
    assert "TFTP error: 'File not found" in str(error)  # the console line
    # Nothing is typed after the failing command.
    assert uboot.typed(record)[-1].startswith("tftp 0x44000000 ")


def test_the_jobs_final_message(tmp_path: Path, stream: io.StringIO, files: Any) -> None:
    block = {"parameters": {"bootloader-final-message": "Booting Linux on physical CPU"}}
    _, error = boot(tmp_path, stream, files, [], block)
    assert error is None, error


def test_a_final_message_that_never_comes(tmp_path: Path, stream: io.StringIO, files: Any) -> None:
    block = {"parameters": {"bootloader-final-message": "Jumping to the hypervisor"}}
    timeouts = {"connections": {"bootloader-commands": {"seconds": 1}}}
    elapsed, error = boot(tmp_path, stream, files, [], block, timeouts)
    assert isinstance(error, InfrastructureError)
    assert elapsed < 3
    assert "'Jumping to the hypervisor' after 'booti " in str(error)


def test_an_empty_final_message_waits_for_nothing(
    tmp_path: Path, stream: io.StringIO, files: Any
) -> None:
    timeouts = {"connections": {"bootloader-commands": {"seconds": 1}}}
    _, error = boot(tmp_path, stream, files, [], None, timeouts, uboot_final_message="")
    assert error is None, error
