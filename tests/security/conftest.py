"""A live lab attacked by an ordinary user: the fixtures of the security suite.

One lab for the whole suite (tools/livelab.py: gunicorn, the scheduler,
lava-worker and QEMU), because what is under test is that the same lab
survives every attack and still runs the next job. The attacker, ``mallory``,
is an ordinary user with an API token; ``alice`` is another one.

Each test aims its attack at a `Canary` (a directory of files outside every
job's directory) and at paths that must not come to exist, then checks the
host is untouched, the refusal names the problem and the lab still runs a job.
"""

from __future__ import annotations

import base64
import os
import secrets
import time
import xmlrpc.client
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from lava.common import yamlio
from lava.worker import process
from tools import example
from tools.livelab import LiveLab

USERS = ("mallory", "alice")


@dataclass
class SecurityLab:
    """The live lab, its users' tokens, and the calls an ordinary user can make."""

    lab: LiveLab
    guest: Path
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.lab.url

    def rpc(self, user: str | None = "mallory") -> xmlrpc.client.ServerProxy:
        """XML-RPC as lavacli calls it (``USER:TOKEN`` in the URL), or anonymous."""
        host = self.url.removeprefix("http://")
        auth = f"{user}:{self.tokens[user]}@" if user else ""
        return xmlrpc.client.ServerProxy(f"http://{auth}{host}RPC2", allow_none=True)

    def rest(self, user: str | None = "mallory") -> requests.Session:
        """A session for ``/api/v0.2/`` with the user's token (anonymous for None)."""
        session = requests.Session()
        if user:
            session.headers["Authorization"] = f"Token {self.tokens[user]}"
        return session

    def basic(self, user: str) -> str:
        """The ``Authorization`` header value lavacli sends."""
        return "Basic " + base64.b64encode(f"{user}:{self.tokens[user]}".encode()).decode()

    def demo_job(self, **changes: Any) -> str:
        """The demo job (a real boot and two test definitions), with top-level ``changes``."""
        definition = yamlio.load(example.job_text(guest=self.guest))
        definition.update(changes)
        return yamlio.dump(definition)

    def quick_job(self, name: str = "security check") -> str:
        """A job that boots the guest and runs one inline test: the lab's pulse."""
        definition = yamlio.load(example.job_text(guest=self.guest))
        definition["job_name"] = name
        test = definition["actions"][2]["test"]
        test["definitions"] = test["definitions"][:1]
        return yamlio.dump(definition)

    def submit(self, definition: str, user: str = "mallory") -> int:
        """Submit over XML-RPC as ``user``; the job id (a Fault propagates)."""
        ids = self.rpc(user).scheduler.jobs.submit(definition)
        return int(ids[0] if isinstance(ids, list) else ids)

    def wait(self, job_id: int, timeout: float = 300) -> dict[str, Any]:
        """Wait until the job has finished; its state, health, error and device."""
        return self.lab.wait_job(job_id, timeout=timeout)

    def services_alive(self) -> None:
        for name in self.lab.services:
            assert self.lab.running(name), f"the {name} died:\n{self.lab.log_tail()}"

    def assert_runs_jobs(self) -> None:
        """The lab still schedules and runs a job to Complete, and every service is alive."""
        self.services_alive()
        job_id = self.submit(self.quick_job())
        record = self.wait(job_id)
        assert record["health"] == "Complete", (record, self.lab.log_tail())
        assert record["device_health"] == "Good", record
        self.services_alive()

    def job_dir(self, job_id: int) -> Path:
        """The worker's directory of the job (the only place it may write)."""
        return self.lab.worker_jobs_dir() / str(job_id)

    def job_processes(self, job_id: int) -> list[dict[str, Any]]:
        """Every live process of the job: pid, argv, comm, environ.

        Those whose environment carries the worker's marker, and lava-run by the
        pid the worker saved: forked by the worker's fork server, its
        /proc/PID/environ is the server's (a fork keeps its parent's), while what
        it runs inherits the job's environment, marker included.
        """
        state = yamlio.load((self.job_dir(job_id) / "state.json").read_text())
        marker = f"LAVA_WORKER_JOB={state['marker']}".encode()
        lava_run = state["pid"] if process.alive(state["pid"], state["pid_start"]) else None
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                raw = (entry / "environ").read_bytes()
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            variables = raw.split(b"\0")
            if marker in variables or int(entry.name) == lava_run:
                environ = dict(
                    item.decode(errors="replace").partition("=")[::2] for item in variables if item
                )
                found.append(
                    {
                        "pid": int(entry.name),
                        "argv": [a.decode(errors="replace") for a in argv if a],
                        "comm": comm,
                        "environ": environ,
                    }
                )
        return found

    def wait_for_qemu(self, job_id: int, timeout: float = 120) -> list[dict[str, Any]]:
        """The job's processes once QEMU runs among them (fails after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.job_dir(job_id).joinpath("state.json").exists():
                processes = self.job_processes(job_id)
                if any("qemu-system" in " ".join(p["argv"][:1]) for p in processes):
                    return processes
            record = self.lab.job(job_id)
            assert record["state"] != "Finished", (record, "ended before QEMU ran")
            time.sleep(0.2)
        raise AssertionError(f"job {job_id}: no QEMU process after {timeout} s")


@dataclass
class Canary:
    """Files outside every job directory that an attack aims at: they must stay as they are."""

    root: Path
    snapshot: dict[str, tuple[int, int, bytes]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        (self.root / "keep").mkdir(parents=True)
        (self.root / "keep" / "precious.txt").write_text("do not delete\n")
        (self.root / "notes.txt").write_text("do not overwrite\n")
        self.snapshot = self.read()

    def read(self) -> dict[str, tuple[int, int, bytes]]:
        seen = {}
        for path in sorted(self.root.rglob("*")):
            stat = path.lstat()
            content = path.read_bytes() if path.is_file() else b""
            seen[str(path.relative_to(self.root))] = (stat.st_mode, stat.st_size, content)
        return seen

    def assert_untouched(self) -> None:
        assert self.read() == self.snapshot, f"files under {self.root} changed"

    def path(self, name: str) -> Path:
        """A path inside the canary that an attack may try to create: it must not exist."""
        return self.root / name


@pytest.fixture(scope="session")
def security_lab(tmp_path_factory: pytest.TempPathFactory, guest: Path) -> Iterator[SecurityLab]:
    root = tmp_path_factory.mktemp("security")
    # a short cancel grace: the watchdog's test waits for it; 127.0.0.2 stands for the
    # lab's artifact server, the only local address jobs may fetch from (test_host_fetch)
    options = ["--keep-jobs", "--cancel-grace", "10", "--allow-fetch-from=127.0.0.2"]
    lab = LiveLab(root / "instance", port=0, worker_options=options)
    with lab.running_lab():
        found = SecurityLab(lab, guest)
        for user in USERS:
            password = root / f"{user}-password"
            password.write_text(secrets.token_urlsafe(12) + "\n")
            lab.manage("users", "add", user, "--passwd-file", str(password), quiet=True)
            token = lab.manage("tokens", "add", "--user", user, quiet=True).stdout.split()[-1]
            found.tokens[user] = token
        yield found


@pytest.fixture
def canary(tmp_path: Path) -> Iterator[Canary]:
    """A canary directory; the test fails if an attack changed it."""
    found = Canary(tmp_path / "canary")
    yield found
    found.assert_untouched()


def relative_escape(start: Path, target: Path) -> str:
    """A ``../../..`` path from ``start`` that leads to ``target``."""
    return os.path.relpath(target, start)


@pytest.fixture
def refused(security_lab: SecurityLab) -> Any:
    """Submit as mallory; the job must be refused at submission or end Incomplete with a Job
    error. Returns the reason, which must name each of ``reasons``."""

    def check(definition: str, *reasons: str) -> str:
        try:
            job_id = security_lab.submit(definition)
        except xmlrpc.client.Fault as fault:
            text = fault.faultString
        else:
            record = security_lab.wait(job_id)
            assert (record["health"], record["error_type"]) == ("Incomplete", "Job"), record
            text = record["failure_comment"]
        for reason in reasons:
            assert reason in text, (reason, text)
        return text

    return check
