"""host_commands: a device's commands run on the worker, split like a shell, without one.

(Named apart from tests/security/test_host_commands.py, which is about QEMU options.)
"""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest

from lava.common import log
from lava.common.exceptions import ConfigurationError, InfrastructureError, JobError
from lava.dispatcher import host_commands
from lava.dispatcher.host_commands import MAX_OUTPUT_LINES, run_command, run_commands
from lava.dispatcher.logger import JobLogger


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def logger(stream: io.StringIO) -> JobLogger:
    return JobLogger(stream)


def records(stream: io.StringIO, lvl: str) -> list[str]:
    decoded = [log.decode(line) for line in stream.getvalue().splitlines()]
    return [str(r["msg"]) for r in decoded if r["lvl"] == lvl]


def output(stream: io.StringIO) -> list[str]:
    return [m[3:] for m in records(stream, "debug") if m.startswith(">> ")]


def sleeps_with_marker(marker: str) -> list[int]:
    """Pids of `sleep` processes whose command line holds `marker`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            state = (entry / "stat").read_text().rpartition(")")[2].split()[0]
        except OSError:
            continue
        if argv[0].endswith(b"sleep") and marker.encode() in argv and state != "Z":
            found.append(int(entry.name))
    return found


def test_no_shell_expands_anything(logger: JobLogger, stream: io.StringIO) -> None:
    run_command("echo $HOME ; `id` *", logger, "power_on")
    assert output(stream) == ["$HOME ; `id` *"]
    assert "Calling power_on command: echo $HOME ; `id` *" in records(stream, "info")


def test_quotes_are_split_like_a_shell(logger: JobLogger, stream: io.StringIO) -> None:
    run_command("printf '%s|' 'one two' \"three\" four", logger, "power_on")
    assert output(stream) == ["one two|three|four|"]


def test_sh_c_is_the_way_to_a_shell(logger: JobLogger, stream: io.StringIO) -> None:
    run_command("sh -c 'echo a; echo b'", logger, "hard_reset")
    assert output(stream) == ["a", "b"]


def test_commands_run_in_order(logger: JobLogger, tmp_path: Path) -> None:
    record = tmp_path / "record"
    run_commands(
        [f"sh -c 'echo {n} >> {record}'" for n in ("first", "second", "third")],
        logger,
        "power_off",
    )
    assert record.read_text().split() == ["first", "second", "third"]


def test_a_failing_command_stops_the_list(logger: JobLogger, tmp_path: Path) -> None:
    record = tmp_path / "record"
    with pytest.raises(InfrastructureError, match=r"power_off: 'false' failed"):
        run_commands(["false", f"touch {record}"], logger, "power_off")
    assert not record.exists()


@pytest.mark.parametrize("error", [InfrastructureError, JobError, ConfigurationError])
def test_exit_status_raises_the_error_type(logger: JobLogger, error: type) -> None:
    with pytest.raises(error) as info:
        run_command("sh -c 'exit 3'", logger, "pre_power_command", error=error)
    assert type(info.value) is error
    assert str(info.value) == "pre_power_command: 'sh -c 'exit 3'' failed with exit status 3"


def test_output_of_a_failing_command_is_logged(logger: JobLogger, stream: io.StringIO) -> None:
    with pytest.raises(InfrastructureError):
        run_command("sh -c 'echo PDU unreachable; exit 1'", logger, "power_on")
    assert output(stream) == ["PDU unreachable"]


@pytest.mark.parametrize("error", [InfrastructureError, JobError])
def test_missing_program_is_the_workers_problem(logger: JobLogger, error: type) -> None:
    with pytest.raises(InfrastructureError) as info:
        run_command("/nonexistent/pdu-client --port 3", logger, "power_on", error=error)
    assert type(info.value) is InfrastructureError
    assert "power_on: unable to run '/nonexistent/pdu-client --port 3'" in str(info.value)


@pytest.mark.parametrize("command", ["echo 'unbalanced", 'echo "open', "echo \\"])
def test_unsplittable_command(logger: JobLogger, command: str) -> None:
    with pytest.raises(JobError, match=r"user: cannot split"):
        run_command(command, logger, "user", error=JobError)


@pytest.mark.parametrize("command", ["", "   "])
def test_empty_command(logger: JobLogger, command: str) -> None:
    with pytest.raises(JobError, match="user: empty command"):
        run_command(command, logger, "user", error=JobError)


def test_timeout_kills_the_command_quickly(logger: JobLogger) -> None:
    start = time.monotonic()
    with pytest.raises(JobError, match=r"power_on: 'sleep 30' did not finish within"):
        run_command("sleep 30", logger, "power_on", error=JobError, limit=0.5)
    assert time.monotonic() - start < 1.5


def test_timeout_kills_the_whole_process_group(logger: JobLogger, tmp_path: Path) -> None:
    marker = f"{time.monotonic_ns() % 10**6 + 30}.{id(tmp_path) % 97}"
    command = f"sh -c 'sleep {marker} & sleep {marker}; wait'"
    start = time.monotonic()
    with pytest.raises(InfrastructureError, match="did not finish"):
        run_command(command, logger, "hard_reset", limit=0.5)
    assert time.monotonic() - start < 1.5
    # Even the background sleep, which the shell did not wait for, is gone.
    end = time.monotonic() + 1
    while sleeps_with_marker(marker) and time.monotonic() < end:
        time.sleep(0.02)
    assert sleeps_with_marker(marker) == []


def test_the_job_deadline_caps_the_limit(logger: JobLogger) -> None:
    start = time.monotonic()
    with pytest.raises(InfrastructureError, match="did not finish"):
        run_command("sleep 30", logger, "power_off", deadline=time.monotonic() + 0.3)
    assert time.monotonic() - start < 1.3


def test_only_the_last_lines_are_logged(logger: JobLogger, stream: io.StringIO) -> None:
    run_command(f"seq 1 {MAX_OUTPUT_LINES + 30}", logger, "power_on")
    lines = output(stream)
    assert len(lines) == MAX_OUTPUT_LINES
    assert lines[-1] == str(MAX_OUTPUT_LINES + 30)


def test_output_is_debug_and_done_is_logged(logger: JobLogger, stream: io.StringIO) -> None:
    run_command("echo hi", logger, "power_on")
    assert records(stream, "debug")[0] == ">> hi"
    assert records(stream, "debug")[-1].startswith("power_on: 'echo' done in ")


def test_stdin_is_closed(logger: JobLogger, stream: io.StringIO) -> None:
    # A command that reads its input must not wait for the dispatcher's.
    run_command("cat", logger, "power_on", limit=5)
    assert output(stream) == []


def test_a_cancel_kills_the_command_and_propagates(
    logger: JobLogger, monkeypatch: pytest.MonkeyPatch
) -> None:
    class Canceled(Exception):
        pass

    def cancel(deadline: float | None, cap: float | None = None) -> float:
        raise Canceled

    monkeypatch.setattr(host_commands, "remaining", cancel)
    marker = f"{time.monotonic_ns() % 10**6 + 40}.5"
    with pytest.raises(Canceled):
        run_command(f"sleep {marker}", logger, "power_on")
    assert sleeps_with_marker(marker) == []
