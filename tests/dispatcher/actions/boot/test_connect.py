"""connect-device: the device's console from its connection command, run without a shell."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lava.common import log
from lava.common.exceptions import ConfigurationError, InfrastructureError, JobError
from lava.dispatcher.actions.boot import connect
from lava.dispatcher.actions.boot.connect import ConnectDevice, connection_argv
from lava.dispatcher.connections.serial import ShellSession
from lava.dispatcher.device import Device
from lava.dispatcher.interfaces import Console
from lava.dispatcher.logger import JobLogger
from lava.dispatcher.pipeline import Job
from tests.dispatcher.support import uboot

CONSOLE = uboot.console_command("--no-countdown")


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def jobs() -> Iterator[list[Job]]:
    """Jobs whose consoles are closed after the test."""
    made: list[Job] = []
    yield made
    for job in made:
        if job.connection is not None:
            job.connection.close(grace=0.1)


def make_job(
    tmp_path: Path, stream: io.StringIO, jobs: list[Job], commands: dict[str, Any], **extra: Any
) -> Job:
    data = {
        "hostname": "board-01",
        "actions": {"deploy": {"methods": {}}, "boot": {"methods": {"u-boot": {}}}},
        "timeouts": {"actions": {}, "connections": {}},
        "commands": commands,
        **extra,
    }
    definition = {"timeouts": {"job": {"minutes": 1}}, "actions": []}
    job = Job("7", definition, Device.from_dict(data), JobLogger(stream), tmp_path)
    job.pipeline.add_action(ConnectDevice(), {"namespace": "common", "method": "u-boot"})
    jobs.append(job)
    return job


def run(job: Job, connection: Console | None = None) -> Console | None:
    job.validate()
    try:
        with job.deadlines.frame("job", 30, JobError) as deadline:
            return job.pipeline.run_actions(connection, deadline)
    finally:
        job.deadlines.disarm()


def messages(stream: io.StringIO, lvl: str) -> list[str]:
    decoded = [log.decode(line) for line in stream.getvalue().splitlines()]
    return [str(r["msg"]) for r in decoded if r["lvl"] == lvl]


# -- connection_argv ---------------------------------------------------------------


def test_connection_argv_splits_like_a_shell() -> None:
    assert connection_argv("telnet 'serial server' 7001") == ["telnet", "serial server", "7001"]
    assert connection_argv("cu -l /dev/ttyUSB0 ; reboot") == [
        "cu",
        "-l",
        "/dev/ttyUSB0",
        ";",
        "reboot",
    ]


@pytest.mark.parametrize(
    ("command", "error"),
    [("telnet 'open", "invalid connection command"), ("  ", "connection command is empty")],
)
def test_connection_argv_errors(command: str, error: str) -> None:
    with pytest.raises(ConfigurationError, match=error):
        connection_argv(command)


# -- validate ----------------------------------------------------------------------


def test_validate_needs_a_connection(tmp_path: Path, stream: io.StringIO, jobs: Any) -> None:
    job = make_job(tmp_path, stream, jobs, {"power_off": "true"})
    with pytest.raises(JobError, match="Unable to connect to device board-01: its dictionary"):
        job.validate()


def test_a_missing_program_is_a_warning_then_an_error(
    tmp_path: Path, stream: io.StringIO, jobs: Any
) -> None:
    # The plan is valid (lava-run --validate on another host); this worker cannot run it.
    job = make_job(tmp_path, stream, jobs, {"connect": "no-such-telnet serial 7001"})
    with pytest.raises(InfrastructureError, match="Unable to start no-such-telnet"):
        run(job)
    assert "the connection command 'no-such-telnet' is not installed on this worker" in (
        messages(stream, "warning")
    )


# -- run ---------------------------------------------------------------------------


def test_opens_the_console(tmp_path: Path, stream: io.StringIO, jobs: Any) -> None:
    job = make_job(tmp_path, stream, jobs, {"connect": CONSOLE}, character_delays={"boot": 5})
    session = run(job)
    assert isinstance(session, ShellSession)
    assert job.connection is session and session.alive()
    assert session.name == "serial"
    assert session.character_delay == 5.0
    assert session.expect(["=> "], 5) == 0
    assert f"Connecting to the device using '{CONSOLE}'" in messages(stream, "info")
    [result] = [r for r in messages_raw(stream) if r.get("case") == "connect-device"]
    assert result["extra"] == {"connection": "default", "command": CONSOLE}


def messages_raw(stream: io.StringIO) -> list[dict[str, Any]]:
    decoded = [log.decode(line) for line in stream.getvalue().splitlines()]
    return [r["msg"] for r in decoded if r["lvl"] == "results"]


def test_the_primary_connection_is_used(tmp_path: Path, stream: io.StringIO, jobs: Any) -> None:
    connections = {
        "uart0": {"connect": "telnet nowhere 1"},
        "uart1": {"connect": CONSOLE, "tags": ["primary"]},
    }
    job = make_job(tmp_path, stream, jobs, {"connections": connections})
    session = run(job)
    assert session is not None and session.name == "uart1"


def test_a_live_console_is_reused(tmp_path: Path, stream: io.StringIO, jobs: Any) -> None:
    job = make_job(tmp_path, stream, jobs, {"connect": "false"})  # would fail if it ran
    live = ShellSession([sys.executable, "-c", "import time; time.sleep(30)"], job.logger, "serial")
    job.connection = live
    assert run(job) is live
    assert "Already connected to serial" in messages(stream, "debug")


def test_a_dead_console_is_opened_again(tmp_path: Path, stream: io.StringIO, jobs: Any) -> None:
    job = make_job(tmp_path, stream, jobs, {"connect": CONSOLE})
    dead = ShellSession(["true"], job.logger, "serial")
    dead.wait_exit(5)
    session = run(job, dead)
    assert session is not dead and session is not None and session.alive()
    assert "Dead connection, reconnecting" in messages(stream, "warning")


def test_a_console_that_exits_at_once_is_tried_again_then_refused(
    tmp_path: Path, stream: io.StringIO, jobs: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connect, "CONNECT_PAUSE", 0.01)
    refused = "sh -c 'echo telnet: Unable to connect to remote host: Connection refused; exit 1'"
    job = make_job(tmp_path, stream, jobs, {"connect": refused})
    with pytest.raises(InfrastructureError) as info:
        run(job)
    message = str(info.value)
    assert message.startswith("Unable to connect to the device's console: serial: the connection")
    assert "exited with status 1" in message and "Connection refused" in message
    warnings = messages(stream, "warning")
    assert len(warnings) == connect.CONNECT_ATTEMPTS - 1
    assert warnings[0].startswith("Connection attempt 1 failed: ")
    assert job.connection is None
