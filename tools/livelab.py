"""A whole lab on this machine: a lava-server instance and its web, scheduler and worker processes.

Shared by the demo (tools/demo_server.py), the end-to-end and fault tests and
the benchmarks, so that all of them run the same real processes:
gunicorn serving the server on a unix socket behind its front (nginx, which
reads each request whole first: tools/front.py), ``lava-server manage
lava-scheduler`` and ``lava-worker``, each in a session of its own with its
log in ``<instance>/logs/<name>.log`` and its pid in ``<instance>/<name>.pid``.
Every step is idempotent: setting up twice reuses the instance.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lava.server import config
from tools import front
from tools.board.ports import bindable

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin" if (ROOT / ".venv" / "bin").is_dir() else Path(sys.executable).parent
DEVICE_DICT = ROOT / "examples" / "devices" / "qemu-01.jinja2"
# What the example job names on the worker: the guest (tools/guest/build-guest's
# cache) and this checkout, its git-hosted test definition.
GUEST_CACHE = Path(os.environ.get("LAVA_GUEST_CACHE") or "~/.cache/lava-guest").expanduser()
LOCAL_PATHS = (GUEST_CACHE, ROOT)
ADMIN = "admin"
# "front" is nginx, the address clients use; "web" is gunicorn behind it; "publisher"
# serves the events at /ws/ behind the front too (a thread of "scheduler" unless the lab
# asks for a separate lava-publisher).
SERVICES = ("front", "web", "scheduler", "publisher", "worker")
# glibc raises its mmap threshold after each large free, up to 32 MB, after which
# a request's megabytes (a big definition, its YAML, its XML) come from a heap that
# never shrinks: gunicorn's workers grew by ~90 MB each over 1,000 fuzzed submissions
# (tests/security/test_fuzz.py). A fixed threshold returns such blocks to the system:
# ~+27 MB each over 2,000.
SERVICE_ENVIRONMENT = {"web": {"MALLOC_MMAP_THRESHOLD_": "131072"}}
FINAL = {"Finished"}


class LabError(RuntimeError):
    """A service did not come up, a command failed, a wait ran out."""


class LiveLab:
    """One instance directory and the processes that serve it."""

    def __init__(
        self,
        instance: Path,
        port: int = 8000,
        settings: dict[str, Any] | None = None,
        worker_options: Iterable[str] = (),
        separate_publisher: bool = False,
    ) -> None:
        self.instance = instance
        # the events' publisher: a thread of the scheduler (one process less), or the
        # lava-publisher service of its own (a test that stops it while jobs run)
        self.separate_publisher = separate_publisher
        self.preferred_port = port
        self.settings = settings or {}
        self.worker_options = list(worker_options)
        self.worker_name = socket.gethostname()
        self._processes: dict[str, subprocess.Popen[bytes]] = {}

    # -- the instance
    def environment(self) -> dict[str, str]:
        """The server's settings: everything under the instance directory."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAVA_")}
        env["LAVA_SETTINGS"] = str(self.instance / "settings.yaml")
        return env

    def manage(
        self, *args: str, check: bool = True, quiet: bool = False
    ) -> subprocess.CompletedProcess:
        """Run ``lava-server manage ARGS`` on the instance."""
        proc = subprocess.run(
            [str(BIN / "lava-server"), "manage", *args],
            env=self.environment(),
            capture_output=True,
            text=True,
        )
        if check and proc.returncode != 0:
            sys.stderr.write(proc.stdout + proc.stderr)
            raise LabError(f"`lava-server manage {' '.join(args)}` failed")
        if not quiet and proc.stdout.strip():
            print("  " + proc.stdout.strip().replace("\n", "\n  "))
        return proc

    def setup(self, say: bool = True) -> None:
        """Create (or bring up to date) the instance: admin, device type qemu, worker, qemu-01."""
        out = print if say else (lambda *_: None)
        self.instance.mkdir(parents=True, exist_ok=True)
        settings = self.instance / "settings.yaml"
        if not settings.exists():
            # the front on gunicorn's unix socket names the client (rate limits by address)
            values = {"TRUSTED_PROXIES": ["unix"], **self.settings}
            extra = "".join(f"{key}: {json.dumps(value)}\n" for key, value in values.items())
            settings.write_text(
                "# lava-server settings of this instance (README: Settings)\n"
                f"DATA_DIR: {self.instance}\n"
                f"DISPATCHER_CONFIG: {self.instance / 'dispatcher-config'}\n" + extra
            )
        database = self.instance / "lava.sqlite3"
        out(f"==> lava-server instance in {self.instance}/ (SQLite: {database})")
        self.manage("migrate", "--noinput", quiet=True)
        self.manage("collectstatic", "--noinput", quiet=True)
        password_file = self.instance / "admin-password"
        if self.manage("users", "details", ADMIN, check=False, quiet=True).returncode != 0:
            password_file.write_text(secrets.token_urlsafe(12) + "\n")
            password_file.chmod(0o600)
            out(f"==> admin user {ADMIN!r} (password in {password_file})")
            self.manage(
                "users", "add", ADMIN, "--superuser", "--staff", "--passwd-file", str(password_file)
            )
        if self.manage("device-types", "details", "qemu", check=False, quiet=True).returncode != 0:
            out("==> device type qemu")
            self.manage("device-types", "add", "qemu", quiet=not say)
        worker = self.worker_name
        if self.manage("workers", "details", worker, check=False, quiet=True).returncode != 0:
            out(f"==> worker {worker!r} (this host)")
            self.manage(
                "workers", "add", worker, "--description", "the local worker", quiet=not say
            )
        token_file = self.instance / "worker-token"
        if not token_file.exists():
            details = self.manage("workers", "details", worker, "--format", "json", quiet=True)
            token_file.write_text(json.loads(details.stdout)["token"] + "\n")
            token_file.chmod(0o600)
        if self.manage("devices", "details", "qemu-01", check=False, quiet=True).returncode != 0:
            out(f"==> device qemu-01 on {worker!r}, dictionary {DEVICE_DICT.relative_to(ROOT)}")
            self.manage(
                "devices",
                "add",
                "qemu-01",
                "--device-type",
                "qemu",
                "--worker",
                worker,
                "--device-dict",
                str(DEVICE_DICT),
                quiet=not say,
            )

    def add_board(
        self,
        board: Any,
        hostname: str | None = None,
        dictionary: str | None = None,
        health_check: str = "",
    ) -> str:
        """Add an emulated U-Boot board (tools.board.Board) as a device on this worker.

        The device type qemu-uboot-arm64, the board's dictionary (for `hostname`, the
        board's name by default), and the worker's dispatcher.yaml keys it needs
        (TFTP root, the address U-Boot reaches it at). `dictionary` replaces the
        board's own (a broken PDU, say). With `health_check`, the
        device type gets that health-check job first (the device then runs it).
        """
        from tools.board import DEVICE_TYPE

        hostname = hostname or board.name
        if self.manage("device-types", "details", DEVICE_TYPE, check=False, quiet=True).returncode:
            self.manage("device-types", "add", DEVICE_TYPE, quiet=True)
        if health_check:
            # LAVA's place: <dispatcher-config>/health-checks/<device type>.yaml
            path = self.instance / "dispatcher-config" / "health-checks" / f"{DEVICE_TYPE}.yaml"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(health_check, encoding="utf-8")
        config = self.instance / "dispatcher.d" / self.worker_name / "dispatcher.yaml"
        config.parent.mkdir(parents=True, exist_ok=True)
        config.write_text(
            "".join(
                f"{key}: {json.dumps(value)}\n" for key, value in board.dispatcher_config().items()
            ),
            encoding="utf-8",
        )
        if self.manage("devices", "details", hostname, check=False, quiet=True).returncode:
            path = self.instance / f"{hostname}.jinja2"
            path.write_text(dictionary or board.device_dictionary(), encoding="utf-8")
            self.manage(
                "devices", "add", hostname, "--device-type", DEVICE_TYPE,
                "--worker", self.worker_name, "--device-dict", str(path),
                quiet=True,
            )  # fmt: skip
        return hostname

    @contextlib.contextmanager
    def running_lab(self) -> Iterator[LiveLab]:
        """Set up and start everything; stop it all when the block ends, however it ends."""
        self.setup(say=False)
        try:
            self.start()
            yield self
        finally:
            self.stop()

    # -- the processes
    @property
    def services(self) -> tuple[str, ...]:
        """The services this lab runs as processes (the publisher only when separate)."""
        return tuple(n for n in SERVICES if n != "publisher" or self.separate_publisher)

    def pid_file(self, name: str) -> Path:
        return self.instance / f"{name}.pid"

    def log_file(self, name: str) -> Path:
        return self.instance / "logs" / f"{name}.log"

    def running(self, name: str) -> int | None:
        """The pid of a service that is alive (not a zombie), else None."""
        process = self._processes.get(name)
        if process is not None and process.poll() is not None:
            return None
        try:
            pid = int(self.pid_file(name).read_text())
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, ValueError, IndexError):
            return None
        return None if state == "Z" else pid

    @property
    def port(self) -> int:
        """The front's port: where every client, the worker included, reaches the server."""
        return int((self.instance / "web.port").read_text())

    @property
    def socket(self) -> Path:
        """gunicorn's unix socket, inside the instance: only the front reaches it."""
        return self.instance / "web.sock"

    @property
    def publisher_socket(self) -> Path:
        """The event publisher's unix socket, inside the instance: the front passes /ws/ to it."""
        return self.instance / "publisher.sock"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def _free_port(self) -> int:
        for port in (self.preferred_port, 0):
            with socket.socket() as sock:
                try:
                    sock.bind(("127.0.0.1", port))
                except OSError:
                    continue
                return sock.getsockname()[1]
        raise LabError("no free TCP port on 127.0.0.1")

    def _spawn(self, name: str, argv: list[str]) -> None:
        self.log_file(name).parent.mkdir(exist_ok=True)
        with self.log_file(name).open("ab") as log:
            process = subprocess.Popen(
                argv,
                env=self.environment() | SERVICE_ENVIRONMENT.get(name, {}),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # outlives its starter; `stop` ends it
            )
        self._processes[name] = process
        self.pid_file(name).write_text(f"{process.pid}\n")

    def command(self, name: str) -> list[str]:
        """The command line of a service."""
        if name == "front":
            binary = front.nginx()
            if binary is None:
                raise LabError("nginx, the lab's front, is not installed: `make deps` installs it")
            directory = self.instance / "front"
            return [
                binary,
                "-p",
                str(directory),
                "-c",
                str(directory / "nginx.conf"),
                "-e",
                str(self.log_file("front")),
            ]
        if name == "web":
            return [
                str(BIN / "gunicorn"),
                "lava.server.wsgi:application",
                # the server's own gunicorn settings: an access log without credentials
                "--config",
                "python:lava.server.gunicorn_config",
                "--bind",
                f"unix:{self.socket}",
                # one process: each holds its own ~75 MB copy of Django and the views
                # (RSS), twice the lab's idle memory budget for two (bench/memory.py)
                "--workers",
                "1",
                # threads: a worker's long-polled ping holds one while it waits
                "--worker-class",
                "gthread",
                "--threads",
                "16",
                # longer than the front keeps idle connections: the front closes them
                "--keep-alive",
                str(2 * front.UPSTREAM_KEEPALIVE),
                "--access-logfile",
                "-",
            ]
        if name == "scheduler":
            command = [str(BIN / "lava-server"), "manage", "lava-scheduler"]
            if not self.separate_publisher:
                command.append(f"--publisher=unix:{self.publisher_socket}")
            return command
        if name == "publisher":
            bind = f"unix:{self.publisher_socket}"
            return [str(BIN / "lava-server"), "manage", "lava-publisher", "--bind", bind]
        if name == "worker":
            return [
                str(BIN / "lava-worker"),
                "--url",
                self.url,
                "--name",
                self.worker_name,
                "--token-file",
                str(self.instance / "worker-token"),
                "--worker-dir",
                str(self.instance / "worker"),
                *(f"--allow-local-path={path}" for path in LOCAL_PATHS),
                *self.worker_options,
            ]
        raise LabError(f"unknown service {name!r}")

    def start(self, names: Iterable[str] = SERVICES) -> None:
        """Start these services unless they run; wait until the web answers through its front.

        The web comes with its front: nothing reaches gunicorn but through it.
        """
        names = list(names)
        if "web" in names and "front" not in names:
            names.insert(0, "front")
        if "web" in names and self.running("web") is None:
            if len(str(self.publisher_socket)) > 100:  # sun_path holds 108 bytes
                raise LabError(
                    f"the instance's path is too long for a unix socket: {self.publisher_socket}"
                )
            self._spawn("web", self.command("web"))
        if "front" in names and self.running("front") is None:
            self._start_front()
        if "web" in names or ("front" in names and self.running("web")):
            self.wait_for_web()
        names = [name for name in names if name in self.services]  # not a thread's name
        for name in names:
            if name not in ("front", "web") and self.running(name) is None:
                self._spawn(name, self.command(name))
        time.sleep(0.3)
        for name in names:
            if self.running(name) is None:
                raise LabError(f"the {name} stopped at once; see {self.log_file(name)}")

    def _start_front(self) -> None:
        port_file = self.instance / "web.port"
        if not port_file.exists() or not bindable(self.port):
            port_file.write_text(f"{self._free_port()}\n")
        max_job_size = config.load(self.environment()).max_job_size
        front.write(
            self.instance / "front",
            self.log_file("front").parent,
            self.port,
            self.socket,
            front.body_limit(max_job_size),
            publisher=self.publisher_socket,
        )
        self._spawn("front", self.command("front"))

    def wait_for_web(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                pass
            if self.running("web") is None or self.running("front") is None:
                break
            time.sleep(0.1)
        raise LabError(
            f"the web server did not answer at {self.url} in {timeout:.0f} s; "
            f"see {self.log_file('web')} and {self.log_file('front')}"
        )

    def stop(
        self, names: Iterable[str] = SERVICES, sig: int = signal.SIGTERM, timeout: float = 15
    ) -> list[tuple[str, int]]:
        """Signal these services' process groups and wait for them to end; what was stopped."""
        stopped = []
        for name in names:
            pid = self.running(name)
            if pid is None:
                self.pid_file(name).unlink(missing_ok=True)
                continue
            os.killpg(pid, sig)
            deadline = time.monotonic() + timeout
            while self.running(name) is not None and time.monotonic() < deadline:
                time.sleep(0.05)
            if self.running(name) is not None:
                os.killpg(pid, signal.SIGKILL)
                while self.running(name) is not None:
                    time.sleep(0.05)
            self.pid_file(name).unlink(missing_ok=True)
            stopped.append((name, pid))
        return stopped

    def kill(self, name: str) -> None:
        """``kill -9`` a service, as a crash would."""
        self.stop([name], signal.SIGKILL)

    # -- jobs
    def submit(self, definition: str, submitter: str = ADMIN) -> int:
        """Submit through the server's submission function (``manage jobs submit``)."""
        path = self.instance / f"submit-{time.monotonic_ns()}.yaml"
        path.write_text(definition, encoding="utf-8")
        try:
            proc = self.manage("jobs", "submit", "--submitter", submitter, str(path), quiet=True)
        finally:
            path.unlink(missing_ok=True)
        return int(proc.stdout.split()[0])

    def query(self, code: str) -> Any:
        """Run Python in the server's Django (``manage shell``); the JSON ``code`` prints."""
        proc = self.manage("shell", "-c", code, quiet=True)
        return json.loads(proc.stdout.strip().splitlines()[-1])

    def job(self, job_id: int) -> dict[str, Any]:
        """The job's state, health, error and its device's state and health, as labels."""
        return self.query(
            "import json\n"
            "from lava.server.scheduler.models import TestJob\n"
            "from lava.server.scheduler.states import JobState, JobHealth, DeviceState, "
            "DeviceHealth\n"
            f"j = TestJob.objects.select_related('actual_device').get(id={int(job_id)})\n"
            "d = j.actual_device\n"
            "print(json.dumps({'state': JobState(j.state).label, "
            "'health': JobHealth(j.health).label, 'error_type': j.error_type, "
            "'failure_comment': j.failure_comment, "
            "'device_state': DeviceState(d.state).label if d else None, "
            "'device_health': DeviceHealth(d.health).label if d else None, "
            "'start_time': j.start_time.timestamp() if j.start_time else None, "
            "'end_time': j.end_time.timestamp() if j.end_time else None, "
            "'submit_time': j.submit_time.timestamp()}))"
        )

    def wait_job(
        self, job_id: int, states: Iterable[str] = FINAL, timeout: float = 300, poll: float = 0.5
    ) -> dict[str, Any]:
        """Wait until the job is in one of ``states``; its `job` record."""
        wanted = set(states)
        deadline = time.monotonic() + timeout
        while True:
            record = self.job(job_id)
            if record["state"] in wanted:
                return record
            if time.monotonic() > deadline:
                raise LabError(f"job {job_id} still {record['state']} after {timeout:g} s")
            time.sleep(poll)

    def log_path(self, job_id: int) -> Path:
        return self.instance / "jobs" / f"job-{job_id}" / "output.yaml"

    def log_lines(self, job_id: int) -> list[str]:
        """The job's log as the server stores it."""
        try:
            return self.log_path(job_id).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []

    def testcases(self, job_id: int) -> list[dict[str, Any]]:
        """The job's TestCase rows: suite, name, result, measurement, units."""
        return self.query(
            "import json\n"
            "from lava.server.results.models import TestCase\n"
            f"rows = TestCase.objects.filter(suite__job_id={int(job_id)}).order_by('id')\n"
            "print(json.dumps([{'suite': c.suite.name, 'set': c.test_set.name if c.test_set "
            "else None, 'name': c.name, 'result': c.get_result_display(), "
            "'measurement': None if c.measurement is None else float(c.measurement), "
            "'units': c.units} for c in rows]))"
        )

    def log_tail(self, lines: int = 40) -> str:
        """The end of each service's log, for a failing test's message."""
        parts = []
        for name in SERVICES:
            try:
                text = self.log_file(name).read_text(errors="replace").splitlines()[-lines:]
            except OSError:
                continue
            parts.append(f"--- {name}.log\n" + "\n".join(text))
        return "\n".join(parts)

    def worker_jobs_dir(self) -> Path:
        return self.instance / "worker" / "jobs"
