"""reset-device: a power cycle with hard_reset_command, else reboot commands on the console."""

from __future__ import annotations

import io
import shlex
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lava.common import log
from lava.common.exceptions import InfrastructureError, JobError
from lava.dispatcher.actions.boot.reset import (
    DEFAULT_SOFT_REBOOT,
    PDUReboot,
    ResetDevice,
    SendRebootCommands,
)
from lava.dispatcher.connections.serial import ShellSession
from lava.dispatcher.device import Device
from lava.dispatcher.logger import JobLogger
from lava.dispatcher.pipeline import Job
from tests.dispatcher.support import uboot


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def record(tmp_path: Path) -> Path:
    return tmp_path / "typed"


@pytest.fixture
def consoles() -> Iterator[list[ShellSession]]:
    opened: list[ShellSession] = []
    yield opened
    for session in opened:
        session.close(grace=0.1)


def make_job(tmp_path: Path, stream: io.StringIO, commands: dict[str, Any], **timeouts: Any) -> Job:
    data = {
        "hostname": "board-01",
        "actions": {"deploy": {"methods": {}}, "boot": {"methods": {"u-boot": {}}}},
        "timeouts": {"actions": {}, "connections": {}},
        "commands": commands,
    }
    # A reboot command that does nothing is given up on after a second.
    definition = {
        "timeouts": {
            "job": {"minutes": 1},
            "connections": {"send-reboot-commands": {"seconds": 1}},
            **timeouts,
        }
    }
    return Job("7", definition, Device.from_dict(data), JobLogger(stream), tmp_path)


def linux(consoles: list[ShellSession], job: Job, record: Path, *options: str) -> ShellSession:
    """The fake board, running Linux: `--reboot-command` reboots it."""
    argv = shlex.split(uboot.console_command("--start-linux", "--record", record, *options))
    session = ShellSession(argv, job.logger, name="serial")
    consoles.append(session)
    return session


def run(job: Job, params: dict[str, Any], session: ShellSession | None = None) -> Any:
    job.pipeline.add_action(ResetDevice(), {"namespace": "common", "method": "u-boot", **params})
    job.validate()
    try:
        with job.deadlines.frame("job", 30, JobError) as deadline:
            return job.pipeline.run_actions(session, deadline)
    finally:
        job.deadlines.disarm()


def messages(stream: io.StringIO, lvl: str) -> list[Any]:
    decoded = [log.decode(line) for line in stream.getvalue().splitlines()]
    return [r["msg"] for r in decoded if r["lvl"] == lvl]


def result(stream: io.StringIO, case: str) -> dict[str, Any]:
    [found] = [r for r in messages(stream, "results") if r["case"] == case]
    return found


# -- pdu-reboot --------------------------------------------------------------------


def test_hard_reset_commands_run_in_order(tmp_path: Path, stream: io.StringIO) -> None:
    out = tmp_path / "pdu"
    job = make_job(
        tmp_path,
        stream,
        {"hard_reset": [f"sh -c 'echo off >> {out}'", f"sh -c 'echo on >> {out}'"]},
    )
    job.powered_off = True
    run(job, {})
    reset = job.pipeline.actions[0]
    assert [a.name for a in reset.pipeline.actions] == ["pdu-reboot"]
    assert isinstance(reset.pipeline.actions[0], PDUReboot)
    assert out.read_text().split() == ["off", "on"]
    assert not job.powered_off  # finalize must power it off again
    assert result(stream, "pdu-reboot")["extra"] == {"status": "success"}


def test_a_failing_hard_reset_names_the_command(tmp_path: Path, stream: io.StringIO) -> None:
    job = make_job(tmp_path, stream, {"hard_reset": ["true", "pdu-client --port 3 reboot"]})
    with pytest.raises(InfrastructureError, match=r"hard_reset: unable to run 'pdu-client"):
        run(job, {})
    assert result(stream, "pdu-reboot")["result"] == "fail"


# -- send-reboot-commands ------------------------------------------------------------


def test_reboot_from_the_console(
    tmp_path: Path, stream: io.StringIO, record: Path, consoles: Any
) -> None:
    job = make_job(tmp_path, stream, {})
    session = linux(consoles, job, record)
    assert run(job, {}, session) is session
    assert isinstance(job.pipeline.actions[0].pipeline.actions[0], SendRebootCommands)
    # The whole list is typed at once (LAVA): the later ones land while the first reboots.
    assert uboot.typed(record)[0] == "reboot"
    assert result(stream, "send-reboot-commands")["extra"] == {
        "status": "success",
        "commands": list(DEFAULT_SOFT_REBOOT),
    }


def test_a_later_default_command_reboots_without_waiting_for_the_first(
    tmp_path: Path, stream: io.StringIO, record: Path, consoles: Any
) -> None:
    assert DEFAULT_SOFT_REBOOT[:2] == ("reboot", "reboot -n")
    job = make_job(tmp_path, stream, {})
    session = linux(consoles, job, record, "--reboot-command", "reboot -n")
    start = time.monotonic()
    run(job, {}, session)
    assert time.monotonic() - start < 2.5
    assert uboot.typed(record)[:2] == ["reboot", "reboot -n"]


@pytest.mark.parametrize(
    ("device_value", "job_value", "typed"),
    [
        ("systemctl reboot", None, ["systemctl reboot"]),
        ("systemctl reboot", "busybox reboot", ["busybox reboot"]),
        (None, ["sync", "busybox reboot"], ["sync", "busybox reboot"]),
    ],
)
def test_the_jobs_commands_then_the_devices(
    tmp_path: Path,
    stream: io.StringIO,
    record: Path,
    consoles: Any,
    device_value: str | None,
    job_value: Any,
    typed: list[str],
) -> None:
    job = make_job(tmp_path, stream, {"soft_reboot": device_value})
    session = linux(consoles, job, record, "--reboot-command", typed[-1])
    params = {"soft_reboot": job_value} if job_value else {}
    run(job, params, session)
    assert uboot.typed(record) == typed


def test_no_command_reboots_the_device(
    tmp_path: Path, stream: io.StringIO, record: Path, consoles: Any
) -> None:
    job = make_job(tmp_path, stream, {"soft_reboot": "systemctl reboot"})
    session = linux(consoles, job, record, "--reboot-command", "never")
    with pytest.raises(InfrastructureError) as info:
        run(job, {}, session)
    assert str(info.value).startswith(
        "Unable to reboot the device: 'The system is going down for reboot NOW' did not "
        "appear within"
    )
    assert str(info.value).endswith("of ['systemctl reboot']")


def test_the_jobs_shutdown_message(
    tmp_path: Path, stream: io.StringIO, record: Path, consoles: Any
) -> None:
    job = make_job(tmp_path, stream, {})
    session = linux(consoles, job, record)
    # The fake prints "... going down for reboot NOW!": a job may wait for something else.
    params = {"parameters": {"shutdown-message": "for reboot NOW!"}}
    run(job, params, session)
    assert result(stream, "send-reboot-commands")["result"] == "pass"


def test_soft_reboot_needs_a_console(tmp_path: Path, stream: io.StringIO) -> None:
    job = make_job(tmp_path, stream, {})
    with pytest.raises(JobError, match="send-reboot-commands: no connection to the device"):
        run(job, {})


def test_a_soft_reboot_list_runs_as_a_sequence(
    tmp_path: Path, stream: io.StringIO, record: Path, consoles: Any
) -> None:
    # The defaults' proportions, scaled down: connection wait == reset-device timeout.
    job = make_job(
        tmp_path,
        stream,
        {"soft_reboot": ["sync", "reboot"]},
        actions={"reset-device": {"seconds": 1}},
        connections={"send-reboot-commands": {"seconds": 1}},
    )
    session = linux(consoles, job, record)
    run(job, {}, session)
    assert uboot.typed(record)[:2] == ["sync", "reboot"]
