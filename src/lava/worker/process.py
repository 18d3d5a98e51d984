"""lava-run as a process: start it in a session of its own, watch it, stop it and its children.

QEMU and other helpers started through pexpect get sessions of their own,
so the process group does not reach them. Every process of a job carries
``LAVA_WORKER_JOB=<marker>`` in its environment instead, and `kill_marked`
finds them through ``/proc`` even after the worker itself was restarted.
lava-run itself is known by the pid and start time saved in ``state.json``:
forked by the fork server, its /proc/PID/environ is the server's (a fork
keeps its parent's), while what it starts inherits the job's, marker and all.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from lava.common.private import private_open

from .forkclient import ForkServer, ForkServerUnavailable

LOG = logging.getLogger("lava.worker")
MARKER_VARIABLE = "LAVA_WORKER_JOB"

_children: dict[int, subprocess.Popen[bytes]] = {}
_exited: dict[int, int] = {}
_fork_server: ForkServer | None = None


def use_fork_server(server: ForkServer | None) -> None:
    """Start lava-run through this fork server from now on (None: as a command)."""
    global _fork_server
    _fork_server = server


def spawn(
    command: Sequence[str],
    env: Mapping[str, str],
    output: Path,
    cwd: Path,
    on_exit: Callable[[], None] | None = None,
) -> int:
    """Start ``command`` in a new session (its own process group); its pid.

    Through the fork server when the worker runs one (``command`` is then
    lava-run's command line, run in a fork of the pre-imported dispatcher);
    ``on_exit`` is then called as soon as the process ends.
    """
    if _fork_server is not None:
        try:
            return _fork_server.spawn(command, env, output, cwd, on_exit)
        except ForkServerUnavailable as exc:
            LOG.warning("%s: starting lava-run as a command", exc)
    with private_open(output, "ab") as out:
        process = subprocess.Popen(
            list(command),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=cwd,
            start_new_session=True,
            close_fds=True,
        )
    _children[process.pid] = process  # `alive` reaps it; after a restart init does
    return process.pid


def start_time(pid: int) -> int:
    """The process's start time in clock ticks since boot (0 when it is gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2 :].split()
    return int(fields[19])  # field 22 of the whole line


def alive(pid: int, started: int) -> bool:
    """Whether this pid is still the process started at ``started`` and not a zombie."""
    if _fork_server is not None:
        known = _fork_server.alive(pid)
        if known is not None:
            return known
    process = _children.get(pid)
    if process is not None:
        if process.poll() is None:
            return True
        _exited[pid] = process.returncode
        del _children[pid]
        return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[0] != "Z" and int(fields[19]) == started


def exit_code(pid: int) -> int | None:
    """The exit status of a child this worker started (None after a restart)."""
    if _fork_server is not None and (code := _fork_server.exit_code(pid)) is not None:
        return code
    return _exited.get(pid)


def signal_group(pid: int, signum: int) -> bool:
    """Send ``signum`` to the process group ``pid`` leads; False when it is gone."""
    try:
        os.killpg(pid, signum)
    except ProcessLookupError:
        return False
    except PermissionError:
        return False
    return True


def marked(marker: str) -> list[int]:
    """Pids of the processes whose environment carries this job's marker.

    Read at every job's end, over every process of the host: plain file
    descriptors, no path objects (a third of the cost).
    """
    needle = b"\0" + f"{MARKER_VARIABLE}={marker}".encode() + b"\0"
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            fd = os.open(f"/proc/{name}/environ", os.O_RDONLY)
        except OSError:
            continue
        try:
            chunks = []
            while chunk := os.read(fd, 65536):
                chunks.append(chunk)
        except OSError:
            continue
        finally:
            os.close(fd)
        if needle in b"\0" + b"".join(chunks) + b"\0":
            found.append(int(name))
    return found


def kill_marked(marker: str) -> list[int]:
    """SIGKILL every process left over from a job (QEMU after a lava-run crash, say)."""
    killed = []
    if not marker:
        return killed
    for pid in marked(marker):
        if pid == os.getpid():
            continue
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except OSError:
            pass
    return killed
