"""The fork server: one pre-imported `lava-run` that forks a fresh process per job.

A new interpreter costs a job about 0.15 CPU-seconds before it reads the
definition: Python's start, then the dispatcher, its schemas and its actions
imported and compiled. The worker starts this process once (``python -m
lava.worker.forkserver``, with the worker's end of a socket pair as the fd its argument names);
it imports all of that, then forks one child per job. Each child is what
``lava-run`` would have been: a session of its own, the job's environment
and nothing else, stdin from /dev/null, stdout and stderr to the job's
``lava-run.out``, its own working directory, and `lava.dispatcher.run.main`
on the same arguments. `lava-run` stays a plain command for direct use.

The protocol is JSON, one object per line. The worker asks
``{"id": N, "argv": [...], "env": {...}, "cwd": "...", "output": "..."}`` and
hears ``{"id": N, "pid": P}`` or ``{"id": N, "error": "..."}``; when a child
ends, ``{"exit": P, "code": C}`` (C as `subprocess.Popen.returncode`: the
negative signal number when a signal ended it). The exit is told before the
child is reaped, so whoever checks the pid meanwhile finds a zombie, never a
pid that another process may already have taken. The first line is
``{"ready": VERSION, "pid": P}`` once everything is imported.

After its second argument's seconds without a job, the server says
``{"bye": "idle"}`` and exits: an idle worker holds no pre-imported copy of
the dispatcher. When the worker goes (end of file on the socket), the server exits; its
running children are adopted by init and keep running, and the next worker
adopts their jobs as it would a lava-run it had started itself.
"""

from __future__ import annotations

import contextlib
import ctypes
import gc
import importlib
import json
import os
import pkgutil
import select
import signal
import socket
import sys
import tempfile
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import lava
from lava.common.private import private_open

SOCKET_FD = 3
MAX_REQUEST_BYTES = 4 * 1024 * 1024  # argv and the job's environment, both from the worker
PR_SET_NAME = 15
CHILD_NAME = b"lava-run"
CHILD_SIGNALS = (
    signal.SIGHUP,
    signal.SIGQUIT,
    signal.SIGTERM,
    signal.SIGUSR1,
    signal.SIGUSR2,
    signal.SIGCHLD,
)


# The actions most jobs have, their schemas compiled before any job (3-50 ms each when
# a child compiles one, 0.1-0.9 MiB each here): a QEMU job, a U-Boot board's, LAVA
# test definitions, interactive tests and commands. Every other action's schema is
# compiled in the job that uses it: all 64 of them here would cost 13 MiB.
COMMON_ACTIONS = (
    ("deploy", "tmpfs"),
    ("deploy", "tftp"),
    ("deploy", "nfs"),
    ("deploy", "downloads"),
    ("boot", "qemu"),
    ("boot", "u-boot"),
    ("boot", "minimal"),
    ("test", "definition"),
    ("test", "interactive"),
    ("command", "command"),
)


def warm_up() -> int:
    """Import what a job needs and build the schemas; the number of modules imported."""
    import lava.dispatcher
    import lava.dispatcher.parser
    import lava.dispatcher.run

    # the module: the package's `validate` is the function of the same name
    validate = importlib.import_module("lava.common.schema.validate")

    count = 0
    for module in pkgutil.walk_packages(lava.dispatcher.__path__, "lava.dispatcher."):
        importlib.import_module(module.name)
        count += 1
    # lava-run validates as LAVA's non-strict schema, with the arguments `validate` passes
    # (lru_cache tells (False,) from (False, ())).
    validate.job_schema(False, ())
    for kind, key in COMMON_ACTIONS:
        validate.action_schema(kind, key, False)
    lava.dispatcher.run.parser()
    # Objects made so far live as long as this process: keep the collector off their
    # pages, so that the children do not copy them when a collection runs.
    gc.collect()
    gc.freeze()
    return count


def _name_process(name: bytes) -> None:
    """What `ps`, `top` and /proc/PID/comm call the child (best effort)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_NAME, ctypes.c_char_p(name), 0, 0, 0)


def _open_fds() -> Iterator[int]:
    try:
        names = os.listdir("/proc/self/fd")
    except OSError:
        names = [str(fd) for fd in range(3, 1024)]
    for name in names:
        yield int(name)


def child(request: dict[str, Any]) -> int:
    """In the forked process: become the job's lava-run; its exit status."""
    argv = [str(arg) for arg in request["argv"]]
    os.setsid()
    signal.set_wakeup_fd(-1)
    for signum in CHILD_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    stdin = os.open(os.devnull, os.O_RDONLY)
    os.dup2(stdin, 0)
    with private_open(Path(request["output"]), "ab") as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
    for fd in list(_open_fds()):
        if fd > 2:
            with contextlib.suppress(OSError):
                os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update({str(k): str(v) for k, v in request["env"].items()})
    tempfile.tempdir = None  # TMPDIR comes from the job's environment, not ours
    sys.argv = argv
    _name_process(CHILD_NAME)
    from lava.dispatcher import run

    return run.main(argv[1:])


def _fork(request: dict[str, Any]) -> int:
    """Fork a child for ``request``; its pid (in the server)."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        code = child(request)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    except BaseException:
        with contextlib.suppress(Exception):
            traceback.print_exc()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)
    return 0  # not reached


class Server:
    """The loop: requests from the worker, exits of the children."""

    def __init__(self, sock: socket.socket, idle_exit: float | None = None) -> None:
        self.sock = sock
        self.idle_exit = idle_exit  # leave after this long without a job (None: never)
        self.children: set[int] = set()
        self.buffer = b""

    def send(self, message: dict[str, Any]) -> None:
        self.sock.sendall(json.dumps(message).encode() + b"\n")

    def handle(self, line: bytes) -> None:
        request: Any = None
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("a request is a JSON object")
            for key, kind in (("argv", list), ("env", dict), ("cwd", str), ("output", str)):
                if not isinstance(request.get(key), kind):
                    raise ValueError(f"{key!r} must be a {kind.__name__}")
            pid = _fork(request)
        except (ValueError, OSError) as exc:
            ident = request.get("id") if isinstance(request, dict) else None
            self.send({"id": ident, "error": f"{exc.__class__.__name__}: {exc}"})
            return
        self.children.add(pid)
        self.send({"id": request.get("id"), "pid": pid})

    def reap(self) -> None:
        """Tell each ended child's status, then reap it."""
        while self.children:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None:
                return
            pid = info.si_pid
            killed = info.si_code in (os.CLD_KILLED, os.CLD_DUMPED)
            code = -info.si_status if killed else info.si_status
            with contextlib.suppress(OSError):
                self.send({"exit": pid, "code": code})
            os.waitpid(pid, 0)  # told first: until now the pid is a zombie, not reusable
            self.children.discard(pid)

    def serve(self) -> int:
        wake_read, wake_write = os.pipe()
        os.set_blocking(wake_read, False)
        os.set_blocking(wake_write, False)
        signal.set_wakeup_fd(wake_write)
        signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        self.reap()
        while True:
            wait = self.idle_exit if not self.children else None
            readable, _, _ = select.select([self.sock, wake_read], [], [], wait)
            if not readable and not self.children:
                self.send({"bye": "idle", "seconds": self.idle_exit})
                return 0  # the worker starts another with its next job
            if wake_read in readable:
                with contextlib.suppress(BlockingIOError):
                    os.read(wake_read, 4096)
                self.reap()
            if self.sock in readable:
                data = self.sock.recv(65536)
                if not data:
                    return 0  # the worker has gone: the children carry on without us
                self.buffer += data
                if len(self.buffer) > MAX_REQUEST_BYTES and b"\n" not in self.buffer:
                    self.send({"id": None, "error": "request too large"})
                    return 1
                *lines, self.buffer = self.buffer.split(b"\n")
                for line in lines:
                    if line.strip():
                        self.handle(line)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    sock = socket.socket(fileno=int(args[0]) if args else SOCKET_FD)
    idle_exit = float(args[1]) if len(args) > 1 and float(args[1]) > 0 else None
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a ^C to the worker's terminal is the worker's
    modules = warm_up()
    server = Server(sock, idle_exit)
    server.send({"ready": lava.__version__, "pid": os.getpid(), "modules": modules})
    try:
        return server.serve()
    except (BrokenPipeError, ConnectionResetError):
        return 0


if __name__ == "__main__":
    sys.exit(main())
