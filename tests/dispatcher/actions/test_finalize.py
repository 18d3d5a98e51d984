"""finalize / power-off: the device is powered off once and its console closed, on every path."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest

from lava.common import log
from lava.common.exceptions import InfrastructureError
from lava.dispatcher.actions.finalize import FinalizeAction, power_off
from lava.dispatcher.connections.serial import ShellSession
from lava.dispatcher.device import Device
from lava.dispatcher.logger import JobLogger
from lava.dispatcher.pipeline import Job


def device(power_off_command: Any = None) -> Device:
    data: dict[str, Any] = {
        "hostname": "board-01",
        "actions": {"deploy": {"methods": {}}, "boot": {"methods": {}}},
        "timeouts": {"actions": {}, "connections": {}},
    }
    if power_off_command is not None:
        data["commands"] = {"power_off": power_off_command}
    return Device.from_dict(data)


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def record(tmp_path: Path) -> Path:
    return tmp_path / "power-off"


def make_job(tmp_path: Path, stream: io.StringIO, power_off_command: Any) -> Job:
    definition = {"timeouts": {"job": {"minutes": 1}}, "actions": []}
    job = Job("7", definition, device(power_off_command), JobLogger(stream), tmp_path)
    job.pipeline.add_action(FinalizeAction(), {"namespace": "common"})
    return job


def console(job: Job) -> ShellSession:
    session = ShellSession(
        [sys.executable, "-c", "import time; print('console up', flush=True); time.sleep(60)"],
        job.logger,
        name="serial",
    )
    job.connection = session
    return session


def messages(stream: io.StringIO, lvl: str | None = None) -> list[str]:
    decoded = [log.decode(line) for line in stream.getvalue().splitlines()]
    return [str(r["msg"]) for r in decoded if lvl is None or r["lvl"] == lvl]


def calls(stream: io.StringIO) -> int:
    return sum(m.startswith("Calling power_off command") for m in messages(stream, "info"))


def test_pipeline(tmp_path: Path, stream: io.StringIO) -> None:
    job = make_job(tmp_path, stream, "true")
    [finalize] = job.pipeline.actions
    assert [a.name for a in finalize.pipeline.actions] == ["power-off"]
    assert finalize.pipeline.actions[0].level == "1.1"


def test_power_off_runs_once_when_called_twice(
    tmp_path: Path, stream: io.StringIO, record: Path
) -> None:
    job = make_job(tmp_path, stream, f"sh -c 'echo off >> {record}'")
    action = job.pipeline.actions[0]
    power_off(action)
    power_off(action)
    assert record.read_text() == "off\n"
    assert job.powered_off


def test_job_run_then_cleanup_powers_off_once(
    tmp_path: Path, stream: io.StringIO, record: Path
) -> None:
    job = make_job(tmp_path, stream, [f"sh -c 'echo a >> {record}'", f"touch {record}.b"])
    job.run()  # the finalize action, then the job's cleanup (finalize again)
    assert job.cleaned
    assert record.read_text() == "a\n" and record.with_suffix(".b").exists()
    assert calls(stream) == 2  # the two commands of the list, once


def test_a_failing_power_off_is_reported_once(tmp_path: Path, stream: io.StringIO) -> None:
    job = make_job(tmp_path, stream, "false")
    with pytest.raises(InfrastructureError, match=r"power_off: 'false' failed with exit status 1"):
        job.run()
    assert calls(stream) == 1
    assert any("power_off: 'false' failed" in m for m in messages(stream, "exception"))
    assert job.powered_off


def test_the_console_is_closed(tmp_path: Path, stream: io.StringIO, record: Path) -> None:
    job = make_job(tmp_path, stream, f"touch {record}")
    session = console(job)
    assert session.expect(["console up"], 10) == 0
    power_off(job.pipeline.actions[0])
    assert record.exists()
    assert not session.alive()
    assert job.connection is None
    assert any(m.startswith("Stopped the console process (serial)") for m in messages(stream))


def test_without_power_control_only_the_console_is_closed(
    tmp_path: Path, stream: io.StringIO
) -> None:
    job = make_job(tmp_path, stream, None)
    session = console(job)
    job.run()
    assert calls(stream) == 0
    assert not session.alive() and job.connection is None
    assert job.powered_off


def test_a_failing_power_off_still_closes_the_console(tmp_path: Path, stream: io.StringIO) -> None:
    job = make_job(tmp_path, stream, "false")
    session = console(job)
    try:
        with pytest.raises(InfrastructureError):
            job.pipeline.actions[0].cleanup(job.connection)  # what Job.cleanup reaches
        assert not session.alive()
        assert job.connection is None
    finally:
        session.close(grace=0.1)
