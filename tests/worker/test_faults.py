"""Faults during a real job: worker or lava-run killed, the web restarted or away, a cancel.

One lab for the module, with short timeouts: a worker is Offline after 3 s
without a ping, and its jobs end after a further 12 s (longer than the 10 s
outage the web test makes). The worker keeps finished job directories, so
each test compares the server's log with what lava-run wrote, line for line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from lava.common import yamlio
from tools import example
from tools.livelab import LiveLab

pytestmark = pytest.mark.slow

OFFLINE, GRACE = 3, 12


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveLab]:
    lab = LiveLab(
        tmp_path_factory.mktemp("faults") / "instance",
        port=0,
        settings={
            "SCHEDULER_INTERVAL": 1,
            "WORKER_OFFLINE_TIMEOUT": OFFLINE,
            "WORKER_GRACE_PERIOD": GRACE,
        },
        worker_options=["--keep-jobs", "--cancel-grace", "10"],
    )
    with lab.running_lab():
        yield lab


@pytest.fixture(autouse=True)
def services_up(lab: LiveLab) -> Iterator[None]:
    """Every test starts and ends with all three services running."""
    lab.start()
    yield
    lab.start()


def slow_job(guest: Path, seconds: int = 8) -> str:
    """The demo job with a `sleep` in its test shell: time to hurt it mid-test."""
    data = yamlio.load(example.job_text(guest=guest))
    test = next(action["test"] for action in data["actions"] if "test" in action)
    steps = test["definitions"][0]["repository"]["run"]["steps"]
    steps.insert(1, f"sleep {seconds}")
    return yamlio.dump(data)


def wait_for_line(lab: LiveLab, job_id: int, text: str, timeout: float = 120) -> int:
    """Wait until the server's copy of the log has a line containing ``text``; its index."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for index, line in enumerate(lab.log_lines(job_id)):
            if text in line:
                return index
        time.sleep(0.05)
    raise AssertionError(f"no log line with {text!r} in {timeout:g} s\n{lab.log_tail()}")


def written_by_lava_run(lab: LiveLab, job_id: int) -> list[str]:
    path = lab.worker_jobs_dir() / str(job_id) / "output" / "output.yaml"
    return path.read_text(encoding="utf-8").splitlines()


def assert_same_log(lab: LiveLab, job_id: int) -> None:
    stored, written = lab.log_lines(job_id), written_by_lava_run(lab, job_id)
    assert len(stored) == len(written), (len(stored), len(written))
    assert stored == written


def qemu_of(lab: LiveLab, job_id: int) -> list[int]:
    """QEMU processes of this job: their command line names the job's directory."""
    pattern = f"qemu-system.*{lab.worker_jobs_dir()}/{job_id}/"
    out = subprocess.run(["pgrep", "-f", pattern], capture_output=True, text=True)
    return [int(pid) for pid in out.stdout.split()]


def in_service(record: dict[str, Any]) -> bool:
    return record["device_state"] == "Idle" and record["device_health"] in ("Good", "Unknown")


def test_worker_killed_mid_test_and_restarted(lab: LiveLab, guest: Path) -> None:
    job_id = lab.submit(slow_job(guest))
    wait_for_line(lab, job_id, '"case": "kernel-version"')
    lab.kill("worker")
    time.sleep(1)
    lab.start(["worker"])  # adopts the job: lava-run never stopped
    record = lab.wait_job(job_id, timeout=120)
    assert record["health"] == "Complete" or (
        record["health"] == "Incomplete" and record["error_type"] == "Infrastructure"
    ), (record, lab.log_tail())
    assert record["health"] == "Complete", "lava-run outlives the worker: the job completes"
    assert in_service(record), record
    assert_same_log(lab, job_id)
    assert "adopting the job" in lab.log_file("worker").read_text()


def test_web_restarted_mid_job(lab: LiveLab, guest: Path) -> None:
    job_id = lab.submit(slow_job(guest))
    wait_for_line(lab, job_id, '"case": "kernel-version"')
    lab.stop(["web"])
    lab.start(["web"])
    record = lab.wait_job(job_id, timeout=120)
    assert record["health"] == "Complete", (record, lab.log_tail())
    assert in_service(record)
    assert_same_log(lab, job_id)


def test_server_unreachable_for_10_s(lab: LiveLab, guest: Path) -> None:
    job_id = lab.submit(slow_job(guest))
    wait_for_line(lab, job_id, '"case": "kernel-version"')
    lab.kill("web")
    time.sleep(10)  # the job goes on writing its log on the worker meanwhile
    lab.start(["web"])
    record = lab.wait_job(job_id, timeout=120)
    assert record["health"] == "Complete", (record, lab.log_tail())
    assert in_service(record)
    assert_same_log(lab, job_id)
    assert "server unreachable" in lab.log_file("worker").read_text()


def test_worker_never_comes_back(lab: LiveLab, guest: Path) -> None:
    job_id = lab.submit(slow_job(guest, seconds=30))
    wait_for_line(lab, job_id, '"case": "kernel-version"')
    killed_at = time.monotonic()
    lab.kill("worker")
    record = lab.wait_job(job_id, timeout=OFFLINE + GRACE + 30)
    waited = time.monotonic() - killed_at
    assert record["health"] == "Incomplete", record
    assert record["error_type"] == "Infrastructure"
    assert lab.worker_name in record["failure_comment"]
    assert in_service(record), record
    assert waited >= OFFLINE + GRACE - 1, waited
    assert "no ping" in lab.log_lines(job_id)[-1]  # the reason ends the log

    # The worker comes back after all: it stops the job the server has ended,
    # QEMU included, and the device runs the next job.
    lab.start(["worker"])
    deadline = time.monotonic() + 30
    while qemu_of(lab, job_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert qemu_of(lab, job_id) == []
    assert lab.job(job_id)["health"] == "Incomplete"
    assert "no ping" in lab.log_lines(job_id)[-1]  # nothing written after the server's end
    next_id = lab.submit(example.job_text(guest=guest))
    assert lab.wait_job(next_id, timeout=120)["health"] == "Complete", lab.log_tail()


class Canceler:
    """A Django shell that is already up, to cancel a job within milliseconds of being told.

    ``wait`` is Python run first with ``job`` bound (a `manage jobs cancel` would
    spend most of a second starting).
    """

    def __init__(self, lab: LiveLab, wait: str = "") -> None:
        code = (
            "import sys, time\n"
            "from lava.server.services import Actor\n"
            "from lava.server.services.jobs import cancel_job\n"
            "from lava.server.scheduler.models import TestJob\n"
            "print('ready', flush=True)\n"
            "job = TestJob.objects.get(id=int(sys.stdin.readline()))\n"
            f"{wait}\n"
            "cancel_job(Actor.console(), job, 'canceled by the fault test')\n"
            "print('canceled', flush=True)\n"
        )
        command = [str(Path(lab.command("scheduler")[0])), "manage", "shell", "-c", code]
        self.proc = subprocess.Popen(
            command, env=lab.environment(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        while (line := self.proc.stdout.readline()) and line.strip() != "ready":
            pass  # Django's shell may say which models it imported first
        assert line.strip() == "ready"

    def cancel(self, job_id: int) -> None:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(f"{job_id}\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "canceled"

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


def test_cancel_mid_boot(lab: LiveLab, guest: Path) -> None:
    canceler = Canceler(lab)
    try:
        job_id = lab.submit(example.job_text(guest=guest))
        wait_for_line(lab, job_id, "Boot command:")
        assert qemu_of(lab, job_id), "QEMU runs"
        canceler.cancel(job_id)
    finally:
        canceler.close()
    record = lab.wait_job(job_id, timeout=60)
    assert record["health"] == "Canceled", (record, lab.log_tail())
    assert in_service(record), record
    assert qemu_of(lab, job_id) == []
    lines = lab.log_lines(job_id)
    assert not any("lava-test-shell" in line and '"lvl": "results"' in line for line in lines)
    assert any("canceled" in line.lower() for line in lines[-10:])
    assert_same_log(lab, job_id)


def test_cancel_as_lava_run_starts(lab: LiveLab, guest: Path) -> None:
    # The cancel lands as the worker reports the job Running: lava-run is still starting,
    # and may die of the SIGTERM before it can catch it. A cancel all the same: the
    # device keeps its health (a Bug would have made it Unknown).
    wait = (
        "while TestJob.objects.filter(id=job.id, state__lt=3).exists():  # until Running\n"
        "    time.sleep(0.002)\n"
        "job.refresh_from_db()"
    )
    healths = "import json\nfrom lava.server.scheduler.models import Device\n" + (
        "print(json.dumps(dict(Device.objects.values_list('hostname', 'health'))))"
    )
    before = lab.query(healths)
    canceler = Canceler(lab, wait)
    try:
        job_id = lab.submit(example.job_text(guest=guest))
        canceler.cancel(job_id)
    finally:
        canceler.close()
    record = lab.wait_job(job_id, timeout=60)
    assert (record["health"], record["error_type"]) == ("Canceled", "Canceled"), record
    assert record["device_state"] == "Idle" and lab.query(healths) == before, record
    assert qemu_of(lab, job_id) == []


def test_lava_run_killed_mid_test(lab: LiveLab, guest: Path) -> None:
    job_id = lab.submit(slow_job(guest))
    wait_for_line(lab, job_id, '"case": "kernel-version"')
    state = json.loads((lab.worker_jobs_dir() / str(job_id) / "state.json").read_text())
    assert qemu_of(lab, job_id)
    os.kill(state["pid"], signal.SIGKILL)  # the dispatcher dies; QEMU, in its own session, not
    record = lab.wait_job(job_id, timeout=60)
    assert (record["health"], record["error_type"]) == ("Incomplete", "Bug"), record
    assert "lava-run ended without writing result.yaml" in record["failure_comment"]
    assert in_service(record), record
    assert qemu_of(lab, job_id) == []  # the worker killed what lava-run left behind
    assert_same_log(lab, job_id)


def test_lava_run_hung_past_its_job_timeout(lab: LiveLab, guest: Path) -> None:
    # lava-run frozen (as in an uninterruptible wait): its own deadlines cannot fire, and
    # without the worker's watchdog its device would stay Running until an admin came
    data = yamlio.load(slow_job(guest, seconds=600))
    data["timeouts"] |= {"job": {"seconds": 75}, "action": {"minutes": 1}}
    for action in data["actions"]:
        next(iter(action.values()))["timeout"] = {"minutes": 1}
    job_id = lab.submit(yamlio.dump(data))
    wait_for_line(lab, job_id, '"case": "kernel-version"')
    state = json.loads((lab.worker_jobs_dir() / str(job_id) / "state.json").read_text())
    os.kill(state["pid"], signal.SIGSTOP)
    # the job timeout, the 10 s grace to SIGTERM, 10 s more to SIGKILL, and some slack
    record = lab.wait_job(job_id, timeout=180)
    assert (record["health"], record["error_type"]) == ("Incomplete", "Job"), record
    assert "did not end within the job timeout" in record["failure_comment"], record
    assert in_service(record), record
    assert qemu_of(lab, job_id) == []
    assert_same_log(lab, job_id)
