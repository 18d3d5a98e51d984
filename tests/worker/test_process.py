"""lava-run's process on the worker: a session of its own, liveness, and finding its children."""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from pathlib import Path

from lava.worker import process


def wait_gone(pid: int, started: int, timeout: float = 5) -> bool:
    deadline = time.monotonic() + timeout
    while process.alive(pid, started):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def test_spawn_in_its_own_session_with_its_output_in_a_file(tmp_path: Path) -> None:
    out = tmp_path / "out.txt"
    pid = process.spawn(
        [sys.executable, "-c", "import os; print(os.getsid(0)); raise SystemExit(3)"],
        dict(os.environ),
        out,
        tmp_path,
    )
    started = process.start_time(pid)
    assert started > 0
    assert wait_gone(pid, started)
    assert process.exit_code(pid) == 3
    assert out.read_text().strip() == str(pid)  # the session leader is lava-run itself


def test_alive_tells_a_reused_pid(tmp_path: Path) -> None:
    pid = process.spawn(["sleep", "30"], dict(os.environ), tmp_path / "out", tmp_path)
    started = process.start_time(pid)
    try:
        assert process.alive(pid, started)
        process._children.pop(pid)  # as after a restart: no Popen, only /proc
        assert process.alive(pid, started)
        assert not process.alive(pid, started + 1)  # another process with the same pid
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert not process.alive(pid, started)
    assert process.start_time(pid) == 0


def test_marked_processes_are_found_across_sessions(tmp_path: Path) -> None:
    marker = uuid.uuid4().hex
    env = dict(os.environ, **{process.MARKER_VARIABLE: marker})
    # The grandchild leaves the session, as QEMU under pexpect does.
    pid = process.spawn(
        ["sh", "-c", "setsid sleep 60 & echo $! > child.pid; wait"], env, tmp_path / "o", tmp_path
    )
    bystander = process.spawn(["sleep", "60"], dict(os.environ), tmp_path / "b", tmp_path)
    try:
        deadline = time.monotonic() + 5
        while not (tmp_path / "child.pid").exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        time.sleep(0.1)
        child = int((tmp_path / "child.pid").read_text())
        assert os.getsid(child) != os.getsid(pid)
        assert set(process.marked(marker)) >= {pid, child}
        assert bystander not in process.marked(marker)
        killed = process.kill_marked(marker)
        assert set(killed) >= {pid, child}
        assert wait_gone(pid, process.start_time(pid) or 1)
        assert process.alive(bystander, process.start_time(bystander))
    finally:
        for leftover in process.marked(marker):
            os.kill(leftover, signal.SIGKILL)
        os.kill(bystander, signal.SIGKILL)


def test_kill_marked_without_a_marker_kills_nothing() -> None:
    assert process.kill_marked("") == []


def test_signal_a_gone_group(tmp_path: Path) -> None:
    pid = process.spawn(["true"], dict(os.environ), tmp_path / "o", tmp_path)
    started = process.start_time(pid)
    assert wait_gone(pid, started)
    assert process.signal_group(pid, signal.SIGTERM) is False
