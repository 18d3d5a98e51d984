"""The real ``lavacli events listen`` against a live lab: it prints a QEMU job's state changes
while the job runs, through the lab's front; jobs run on with the publisher down, and lavacli
hears the lab again when it is back.

The newest lavacli (PyPI, in the venv) signs in with the identity's token; Debian's older
one connects without credentials and hears the public job just the same.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.databases import database_for_tests
from tools import example
from tools.livelab import LiveLab

pytestmark = pytest.mark.slow

VENV_LAVACLI = Path(sys.executable).parent / "lavacli"  # the newest, from PyPI
DEBIAN_LAVACLI = Path("/usr/bin/lavacli")


class Listening:
    """A ``lavacli events listen`` process and the lines it printed so far."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.lines: list[str] = []
        self.process = subprocess.Popen(
            argv,
            env=env | {"PYTHONUNBUFFERED": "1"},  # lines as they are printed, not at exit
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, what: Callable[[list[str]], bool], why: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not what(list(self.lines)):
            if time.monotonic() > deadline or self.process.poll() is not None:
                printed = "\n".join(self.lines[-30:])
                pytest.fail(f"lavacli did not print {why} in {timeout:g} s:\n{printed}")
            time.sleep(0.1)

    def states(self, job_id: int) -> list[str]:
        """The states lavacli printed for the job, in order."""
        pattern = re.compile(rf"\.testjob \S+ - \[{job_id}\] <[^>]*> state=(\w+) health=(\w+)")
        return [m.group(1) for line in list(self.lines) if (m := pattern.search(line))]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(10)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveLab, dict[str, str]]]:
    if not VENV_LAVACLI.exists():
        pytest.fail(f"lavacli is not installed beside {sys.executable} (make venv installs it)")
    root = tmp_path_factory.mktemp("events")
    lab = LiveLab(
        root / "instance",
        port=0,
        settings=database_for_tests("lava_events"),
        separate_publisher=True,  # stopped while jobs run below
    )
    with lab.running_lab():
        token = lab.manage("tokens", "add", "--user", "admin", quiet=True).stdout.split()[-1]
        env = {k: v for k, v in os.environ.items() if not k.startswith("LAVA_")}
        env["XDG_CONFIG_HOME"] = str(root / "config")
        identity = ["--uri", f"{lab.url}RPC2", "--username", "admin", "--token", token]
        subprocess.run(
            [str(VENV_LAVACLI), "identities", "add", *identity, "lab"], env=env, check=True
        )
        wait_for_publisher(lab)
        yield lab, env


def wait_for_publisher(lab: LiveLab, timeout: float = 30) -> None:
    """Until LAVA's health check of the publisher answers through the front."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(lab.url + "ws/v1/healthz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"the publisher did not answer in {timeout:g} s:\n{lab.log_tail()}")
        time.sleep(0.1)


def listeners(lab: LiveLab) -> int:
    """Listeners the publisher has signed in so far (its log says each)."""
    log = lab.log_file("publisher").read_text(errors="replace")
    return log.count(" signed in: ")


def wait_listeners(lab: LiveLab, count: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while listeners(lab) < count:
        if time.monotonic() > deadline:
            pytest.fail(f"{count} listeners did not connect:\n{lab.log_tail()}")
        time.sleep(0.1)


def test_lavacli_events_listen_prints_a_running_jobs_states(
    live, guest: Path, tmp_path: Path
) -> None:
    lab, env = live
    clients = [Listening([str(VENV_LAVACLI), "-i", "lab", "events", "listen"], env)]
    if DEBIAN_LAVACLI.exists():
        clients.append(Listening([str(DEBIAN_LAVACLI), "-i", "lab", "events", "listen"], env))
    elif os.environ.get("CI") == "true":
        pytest.fail(f"{DEBIAN_LAVACLI} is missing: make deps installs Debian's lavacli")
    try:
        wait_listeners(lab, len(clients))
        newest = clients[0]
        definition = tmp_path / "job.yaml"
        definition.write_text(example.job_text(guest=guest))
        started = time.monotonic()
        submitted = subprocess.run(
            [str(VENV_LAVACLI), "-i", "lab", "jobs", "submit", str(definition)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        job_id = int(submitted.stdout.strip())
        # while the job runs, not after: Running is printed before the job ends
        newest.wait_for(lambda _: "Running" in newest.states(job_id), "Running", 120)
        assert lab.job(job_id)["state"] in ("Running", "Finished")
        record = lab.wait_job(job_id, timeout=300)
        assert record["health"] == "Complete", lab.log_tail()
        for client in clients:
            client.wait_for(lambda _, c=client: "Finished" in c.states(job_id), "Finished", 30)
            assert client.states(job_id) == ["Submitted", "Scheduled", "Running", "Finished"]
        lines = newest.lines
        assert any(f"[{job_id}] <qemu-01> state=Finished health=Complete" in line for line in lines)
        device = [line for line in lines if ".device lavaserver - [qemu-01] <qemu>" in line]
        assert [re.search(r"state=(\w+)", line).group(1) for line in device] == [  # type: ignore[union-attr]
            "Reserved",
            "Running",
            "Idle",
        ]
        assert f"for {job_id}" in device[0]
        # our test cases, which lavacli prints as their data
        assert any(".testcase lavaserver - " in line and '"0_smoke"' in line for line in lines)
        took = time.monotonic() - started
        print("\n".join(["", *lines, f"job {job_id}: heard Submitted to Finished in {took:.1f} s"]))
    finally:
        for client in clients:
            client.stop()


def test_jobs_run_with_the_publisher_down_and_lavacli_hears_it_again(
    live, guest: Path, tmp_path: Path
) -> None:
    lab, env = live
    before = listeners(lab)
    client = Listening([str(VENV_LAVACLI), "-i", "lab", "events", "listen"], env)
    try:
        wait_listeners(lab, before + 1)
        lab.stop(["publisher"])
        definition = example.job_text(guest=guest)
        job_id = lab.submit(definition)
        assert lab.wait_job(job_id, timeout=300)["health"] == "Complete", lab.log_tail()
        assert client.states(job_id) == []  # nobody published it
        client.wait_for(
            lambda lines: any("Connection issue" in line for line in lines),
            "that it lost the publisher",
            30,
        )
        count = listeners(lab)
        lab.start(["publisher"])
        wait_for_publisher(lab)
        wait_listeners(lab, count + 1)  # lavacli reconnected by itself
        # a job canceled in the queue: Submitted, then Finished at once (no guest boots)
        lab.stop(["scheduler"])
        try:
            queued = lab.submit(definition)
            subprocess.run(
                [str(VENV_LAVACLI), "-i", "lab", "jobs", "cancel", str(queued)],
                env=env,
                check=True,
                capture_output=True,
            )
        finally:
            lab.start(["scheduler"])
        client.wait_for(lambda _: "Finished" in client.states(queued), "the canceled job", 30)
        assert client.states(queued) == ["Submitted", "Finished"]
    finally:
        client.stop()
