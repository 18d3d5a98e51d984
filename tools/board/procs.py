"""The board's processes as /proc sees them: found by their command line, stopped for sure."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from tools.board.config import BoardError

PROC = Path("/proc")


def argv(pid: int) -> list[str]:
    """The command line of a live process; [] when it is gone or a zombie."""
    try:
        raw = (PROC / str(pid) / "cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")[:-1]


def running(pid: int) -> bool:
    """Whether the process exists and is not a zombie waiting to be reaped."""
    try:
        stat = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def find(*markers: str) -> list[int]:
    """Live pids whose command line holds every marker as a whole argument."""
    found = []
    for entry in PROC.iterdir():
        if entry.name.isdigit() and entry.name != str(os.getpid()):
            args = argv(int(entry.name))
            if args and all(marker in args for marker in markers):
                found.append(int(entry.name))
    return sorted(found)


def read_pid(path: Path) -> int | None:
    """The pid written in a pid file, if the file holds one."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait until the process has exited (a zombie counts: its parent reaps it, not us)."""
    deadline = time.monotonic() + timeout
    while running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def stop(pid: int, sig: int = signal.SIGTERM, grace: float = 5.0) -> None:
    """Send ``sig``, then SIGKILL after ``grace`` seconds; return once the process is gone."""
    for current, wait in ((sig, grace), (signal.SIGKILL, 10.0)):
        try:
            os.kill(pid, current)
        except ProcessLookupError:
            return
        if wait_gone(pid, wait):
            return
    raise BoardError(f"pid {pid} ({' '.join(argv(pid))}) survived SIGKILL for 10 s")
