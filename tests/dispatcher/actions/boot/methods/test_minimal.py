"""`boot: method: minimal` on the scripted board: connect, reset, log in; no bootloader."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from lava.common import log
from tests.dispatcher.support import uboot


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


def definition(**boot: Any) -> dict[str, Any]:
    block = {"method": "minimal", "prompts": [uboot.SHELL_PROMPT], **boot}
    return {
        "job_name": "minimal on the fake board",
        "device_type": "base-uboot",
        "visibility": "public",
        "timeouts": {"job": {"minutes": 1}, "action": {"seconds": 20}},
        "actions": [{"boot": block}],
    }


def names(job: Any) -> list[str]:
    return [action.name for action in job.pipeline.actions[0].pipeline.actions]


def test_hard_reset_then_the_board_boots_by_itself(tmp_path: Path, stream: io.StringIO) -> None:
    reset, record = tmp_path / "reset", tmp_path / "typed"
    device = uboot.device(
        connection_command=uboot.console_command(
            "--reset-file", reset, "--boots-itself", "--record", record
        ),
        hard_reset_command=f"touch {reset}",
    )
    job = uboot.build(tmp_path, stream, definition(), device)
    assert names(job) == ["connect-device", "reset-device", "auto-login-action"]
    _, error = uboot.run(job)
    assert error is None, error
    messages = [log.decode(line)["msg"] for line in stream.getvalue().splitlines()]
    assert "Calling hard_reset command: touch " + str(reset) in messages
    # No key reached a bootloader: minimal never interrupts one.
    assert not record.exists() or uboot.typed(record) == []


def test_pre_commands_run_before_the_reset(tmp_path: Path, stream: io.StringIO) -> None:
    reset, marker = tmp_path / "reset", tmp_path / "pre-power"
    device = uboot.device(
        connection_command=uboot.console_command("--reset-file", reset, "--boots-itself"),
        hard_reset_command=f"touch {reset}",
        pre_power_command=f"touch {marker}",
    )
    job = uboot.build(tmp_path, stream, definition(pre_power_command=True), device)
    assert names(job) == [
        "connect-device",
        "pre-power-command",
        "reset-device",
        "auto-login-action",
    ]
    _, error = uboot.run(job)
    assert error is None, error
    assert marker.exists()


def test_reset_false_attaches_to_the_running_system(tmp_path: Path, stream: io.StringIO) -> None:
    device = uboot.device(connection_command=uboot.console_command("--start-linux"))
    job = uboot.build(tmp_path, stream, definition(reset=False), device)
    assert "reset-device" not in names(job)
    job.validate()
    # Nothing to wait for at the kernel's start: the job's login step would time out,
    # which is what LAVA does too; the plan is what matters here.
    job.deadlines.disarm()


def test_a_pre_command_the_device_lacks_is_a_job_error(tmp_path: Path, stream: io.StringIO) -> None:
    device = uboot.device(connection_command=uboot.console_command("--start-linux"))
    job = uboot.build(tmp_path, stream, definition(pre_os_command=True), device)
    with pytest.raises(Exception, match="pre_os_command is set but the device has no"):
        job.validate()
