"""ShellSession against real processes on a pty (an interactive busybox shell)."""

from __future__ import annotations

import io
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lava.common import log
from lava.common.exceptions import ConnectionClosedError, InfrastructureError
from lava.dispatcher.connections.serial import ShellSession
from lava.dispatcher.logger import JobLogger

PROMPT = "dut-shell: # "


def lines(stream: io.StringIO, lvl: str) -> list[str]:
    records = [log.decode(line) for line in stream.getvalue().splitlines()]
    return [r["msg"] for r in records if r["lvl"] == lvl]


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()


@pytest.fixture
def shell(tmp_path: Path, stream: io.StringIO) -> Iterator[ShellSession]:
    env = {"PATH": os.environ["PATH"], "PS1": PROMPT, "HOME": str(tmp_path), "ENV": ""}
    session = ShellSession(["busybox", "sh", "-i"], JobLogger(stream), name="dut", env=env)
    session.prompts = [PROMPT]
    assert session.wait_for_prompt(10)
    yield session
    # An interactive shell ignores SIGTERM: ask it to leave.
    if session.alive():
        session.sendline("exit")
        session.wait_exit(5)
    session.close()


def gone(pid: int) -> bool:
    """No such process, not even a zombie."""
    return not Path(f"/proc/{pid}").exists()


def dead(pid: int) -> bool:
    """Gone, or a zombie left for init to reap (its parent, our shell, is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[0] == "Z"


def test_run_command_returns_the_output_without_echo(shell: ShellSession) -> None:
    assert shell.run_command("echo one; echo two", 10) == "one\ntwo"
    assert shell.run_command("true", 10) == ""


def test_pty_line_endings_are_logged_as_plain_lines(
    shell: ShellSession, stream: io.StringIO
) -> None:
    shell.run_command("printf 'a\\r\\nb\\n'", 10)
    target = lines(stream, "target")
    assert "a" in target and "b" in target
    assert not any(line.endswith("\r") for line in target)


def test_prompt_after_a_large_output_is_found_quickly(shell: ShellSession) -> None:
    # ~170 KB of output between two prompts: the search window keeps this linear.
    start = time.monotonic()
    output = shell.run_command("seq 1 30000", 30)
    assert output.splitlines()[-1] == "30000"
    assert time.monotonic() - start < 10


def test_timeout_returns_false_within_the_timeout(shell: ShellSession) -> None:
    shell.sendline("sleep 5")
    start = time.monotonic()
    assert not shell.wait_for_prompt(0.3)
    assert time.monotonic() - start < 1.5
    shell.sendcontrol("c")
    assert shell.wait_for_prompt(5)


def test_deadline_caps_the_timeout(shell: ShellSession) -> None:
    start = time.monotonic()
    assert shell.expect(["never-printed"], 30, deadline=time.monotonic() + 0.2) == -1
    assert time.monotonic() - start < 1.5


def test_run_command_timeout_names_command_and_prompt(shell: ShellSession) -> None:
    with pytest.raises(InfrastructureError, match=r"dut-shell.*'sleep 3'"):
        shell.run_command("sleep 3", 0.2)
    shell.sendcontrol("c")
    assert shell.wait_for_prompt(5)


def test_end_of_file_says_status_and_last_lines(stream: io.StringIO) -> None:
    session = ShellSession(
        ["sh", "-c", "echo 'qemu: -badopt: invalid option'; exit 3"], JobLogger(stream)
    )
    with pytest.raises(ConnectionClosedError) as info:
        session.expect(["never-printed"], 10)
    assert "status 3" in str(info.value)
    assert "invalid option" in str(info.value)
    assert session.tail() == ["qemu: -badopt: invalid option"]
    session.close()


def test_end_of_file_can_be_expected(stream: io.StringIO) -> None:
    import pexpect

    session = ShellSession(["true"], JobLogger(stream))
    assert session.expect([pexpect.EOF], 10) == 0
    session.close()
    assert session.exit_status() == 0


def test_secret_lines_are_masked_in_the_log(shell: ShellSession, stream: io.StringIO) -> None:
    shell.sendline("s3cret-password", secret=True)
    shell.wait_for_prompt(5)
    inputs = lines(stream, "input")
    assert "[MASKED]" in inputs
    assert not any("s3cret-password" in line for line in inputs)


def test_character_delay_spaces_the_characters(shell: ShellSession) -> None:
    shell.character_delay = 20
    start = time.monotonic()
    shell.sendline("echo abcdefghij")
    assert time.monotonic() - start >= 0.2
    assert shell.wait_for_prompt(5)
    shell.character_delay = 0
    start = time.monotonic()
    shell.sendline("echo abcdefghij")
    assert time.monotonic() - start < 0.05  # pexpect's default 50 ms pause is off
    assert shell.wait_for_prompt(5)


def test_listener_gets_buffered_and_new_output(shell: ShellSession) -> None:
    class Collect:
        def __init__(self) -> None:
            self.text = ""

        def write(self, text: str) -> None:
            self.text += text

    shell.sendline("echo first-$((1+1))")
    assert shell.expect(["first-2"], 5) == 0
    collect = Collect()
    shell.add_listener(collect)  # the rest of that line is still buffered
    shell.run_command("echo second-$((1+2))", 5)
    shell.remove_listener(collect)
    shell.run_command("echo third", 5)
    assert "second-3" in collect.text
    assert "third" not in collect.text


def test_close_stops_the_whole_process_group(shell: ShellSession) -> None:
    child = int(shell.run_command("sleep 100 & echo $!", 5).split()[-1])
    leader = shell.pid
    assert not gone(child)
    shell.close(grace=0.2)  # the shell ignores SIGTERM: this tests the SIGKILL path
    deadline = time.monotonic() + 5
    while not dead(child) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert gone(leader), "the shell is left (or our zombie)"
    assert dead(child), "a child of the console process survived"
    assert not shell.alive()
    shell.close()  # a second close is harmless
