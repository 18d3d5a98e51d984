"""The worker's side of the fork server (`lava.worker.forkserver`): start it, ask it for jobs.

Shared by the job threads: requests are numbered and answered in order, a
reader thread files the answers and the children's exits. When the server
is not there (it failed to start, or died), `spawn` raises
`ForkServerUnavailable` and the caller starts a fresh `lava-run` instead;
a dead server is started again at most once a minute. The server starts with
the first job and leaves after `IDLE_EXIT` seconds without one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

LOG = logging.getLogger("lava.worker")

READY_TIMEOUT = 60.0  # the imports take 0.3 s idle; far longer on a loaded TCG host
ANSWER_TIMEOUT = 30.0
RESTART_PAUSE = 60.0
IDLE_EXIT = 300.0  # the server leaves after this long without a job; the next job restarts it
MAX_EXITS_KEPT = 10_000


class ForkServerUnavailable(RuntimeError):
    """The fork server is not running or did not answer: start lava-run as a command."""


class ForkServer:
    """One fork server process and the conversation with it."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        python: str = sys.executable,
        idle_exit: float = IDLE_EXIT,
    ) -> None:
        self.python = python
        self.idle_exit = idle_exit
        self._bye = False
        # The server's own environment shows in each child's /proc/PID/environ (a fork
        # keeps its parent's start); the children's real one is the job's, set in the fork.
        self.env = dict(env) if env is not None else None
        self.pid = 0
        self._sock: socket.socket | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._send_lock = threading.Lock()
        self._state = threading.Condition()
        self._ready = False
        self._dead = True
        self._started_at = -RESTART_PAUSE
        self._next_id = 0
        self._answers: dict[int, dict[str, Any]] = {}
        self._children: set[int] = set()
        self._exits: dict[int, int] = {}
        self._on_exit: dict[int, Callable[[], None]] = {}

    # -- the process
    def start(self) -> None:
        """Start the server (it imports in the background; `spawn` waits for it)."""
        with self._state:
            if not self._dead:
                return
            self._started_at = time.monotonic()
            ours, theirs = socket.socketpair()
            try:
                self._process = subprocess.Popen(
                    [
                        self.python,
                        "-m",
                        "lava.worker.forkserver",
                        str(theirs.fileno()),
                        f"{self.idle_exit:g}",
                    ],
                    stdin=subprocess.DEVNULL,
                    env=self.env,
                    pass_fds=(theirs.fileno(),),
                    close_fds=True,
                )
            except OSError as exc:
                ours.close()
                LOG.error("fork server: cannot start %s: %s", self.python, exc)
                return
            finally:
                theirs.close()
            self._sock = ours
            self.pid = self._process.pid
            self._ready, self._dead, self._bye = False, False, False
        threading.Thread(target=self._read, args=(ours,), name="fork-server", daemon=True).start()

    def stop(self) -> None:
        """Close the socket: the server exits, the jobs it started run on."""
        with self._state:
            sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)  # the reader hears the end and closes it
        if self._process is not None:
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()

    def _read(self, sock: socket.socket) -> None:
        buffer = b""
        try:
            while True:
                data = sock.recv(65536)
                if not data:
                    break
                *lines, buffer = (buffer + data).split(b"\n")
                for line in lines:
                    self._file(json.loads(line))
        except (OSError, ValueError) as exc:
            LOG.error("fork server: connection lost: %s", exc)
        finally:
            sock.close()
        with self._state:
            self._dead = True
            if self._bye:  # left while idle, as asked: the next job starts it at once
                self._started_at = -RESTART_PAUSE
            self._state.notify_all()
        if self._process is not None:
            code = self._process.wait()
            if self._bye:
                LOG.info("fork server: left after %g s without a job", self.idle_exit)
            elif self._sock is sock:  # not a stop() of ours
                LOG.error("fork server: exited with status %d; fresh lava-runs meanwhile", code)

    def _file(self, message: dict[str, Any]) -> None:
        callback = None
        with self._state:
            if "ready" in message:
                self._ready = True
                LOG.info(
                    "fork server: pid %s ready, %s modules imported",
                    message.get("pid"),
                    message.get("modules"),
                )
            elif "bye" in message:
                self._bye = True
            elif "exit" in message:
                pid = int(message["exit"])
                self._children.discard(pid)
                self._exits[pid] = int(message["code"])
                if len(self._exits) > MAX_EXITS_KEPT:
                    for old in list(self._exits)[: MAX_EXITS_KEPT // 10]:
                        del self._exits[old]
                callback = self._on_exit.pop(pid, None)
            elif "id" in message:
                self._answers[int(message["id"] or -1)] = message
            self._state.notify_all()
        if callback is not None:
            callback()

    # -- jobs
    def spawn(
        self,
        command: Sequence[str],
        env: Mapping[str, str],
        output: Path,
        cwd: Path,
        on_exit: Callable[[], None] | None = None,
    ) -> int:
        """Fork ``command`` (a lava-run command line) as a job; its pid."""
        with self._state:
            restart = self._dead and time.monotonic() - self._started_at >= RESTART_PAUSE
        if restart:
            self.start()
        with self._state:
            if not self._state.wait_for(lambda: self._ready or self._dead, READY_TIMEOUT):
                raise ForkServerUnavailable("the fork server is not ready yet")
            if self._dead or self._sock is None:
                raise ForkServerUnavailable("the fork server is not running")
            self._next_id += 1
            ident = self._next_id
            sock = self._sock
        request = {
            "id": ident,
            "argv": list(command),
            "env": dict(env),
            "cwd": str(cwd),
            "output": str(output),
        }
        try:
            with self._send_lock:
                sock.sendall(json.dumps(request).encode() + b"\n")
        except OSError as exc:
            raise ForkServerUnavailable(f"the fork server is gone: {exc}") from exc
        with self._state:
            if not self._state.wait_for(
                lambda: ident in self._answers or self._dead, ANSWER_TIMEOUT
            ):
                raise ForkServerUnavailable("the fork server did not answer")
            answer = self._answers.pop(ident, None)
            if answer is None:
                raise ForkServerUnavailable("the fork server died")
            if "pid" not in answer:
                error = answer.get("error")
                raise ForkServerUnavailable(f"the fork server could not fork: {error}")
            pid = int(answer["pid"])
            if pid in self._exits:  # it ended before we heard of it
                exited = True
            else:
                exited = False
                self._children.add(pid)
                if on_exit is not None:
                    self._on_exit[pid] = on_exit
        if exited and on_exit is not None:
            on_exit()
        return pid

    def alive(self, pid: int) -> bool | None:
        """True or False for a child of this server; None when only /proc can tell."""
        with self._state:
            if pid in self._exits:
                return False
            if pid in self._children and not self._dead:
                return True
            return None

    def exit_code(self, pid: int) -> int | None:
        with self._state:
            return self._exits.get(pid)
