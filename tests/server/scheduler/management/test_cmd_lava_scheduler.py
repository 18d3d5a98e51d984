"""``lava-server manage lava-scheduler``: passes, early wake-ups, database trouble, signals."""

from __future__ import annotations

import itertools
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError

from lava.server.scheduler import daemon
from lava.server.scheduler.models import TestJob
from lava.server.scheduler.scheduling import schedule_pass
from lava.server.scheduler.states import JobState

LAVA_SERVER = Path(sys.executable).with_name("lava-server")


def queue(lab, users) -> TestJob:
    return TestJob.objects.create(
        submitter=users["owner"], definition="job_name: t\n", requested_device_type=lab.device_type
    )


class ScriptedStop:
    """A stop request the test drives: each wait() runs the next action, then says if stopped."""

    def __init__(self, actions: list[Callable[[], Any]], sleep: bool = False) -> None:
        self.actions = actions
        self.sleep = sleep
        self.waits: list[float] = []
        self.stopped = False

    def is_set(self) -> bool:
        return self.stopped

    def wait(self, timeout: float) -> bool:
        self.waits.append(timeout)
        if self.sleep:
            time.sleep(timeout)
        if self.actions:
            self.actions.pop(0)()
        else:
            self.stopped = True
        return self.stopped


def test_once_schedules_and_logs_a_summary(lab, users, tmp_path) -> None:
    job = queue(lab, users)
    log = tmp_path / "scheduler.log"
    call_command("lava-scheduler", "--once", "--log-file", str(log), "--level", "debug")
    job.refresh_from_db()
    assert job.state == JobState.SCHEDULED
    text = log.read_text()
    assert "pass: 1 jobs scheduled, 0 health checks" in text
    assert f"job {job.id}: Submitted -> Scheduled" in text
    assert "lava-scheduler stopping" in text
    # the command gives the logger back as it found it
    assert all(not isinstance(h, daemon.logging.FileHandler) for h in daemon.LOG.parent.handlers)


def test_unwritable_log_file_is_an_error(lab, tmp_path) -> None:
    with pytest.raises(CommandError, match="cannot open log file"):
        call_command("lava-scheduler", "--once", "--log-file", str(tmp_path / "no" / "log"))


def test_a_new_job_wakes_the_loop_within_a_poll(lab, users) -> None:
    queued: list[TestJob] = []
    stop = ScriptedStop([lambda: queued.append(queue(lab, users))])
    passes: list[Any] = []

    def counting_pass() -> Any:
        passes.append(schedule_pass())
        return passes[-1]

    assert daemon.run(60, stop=stop, poll=0.5, pass_fn=counting_pass) == 0
    # pass 1 (empty), one poll sees the new job, pass 2 takes it: no 60 s wait
    assert stop.waits == [0.5, 0.5] and len(passes) == 2
    assert [job_id for job_id, _ in passes[1].assigned] == [queued[0].id]


def test_without_changes_the_loop_waits_the_interval(lab) -> None:
    stop = ScriptedStop([lambda: None] * 12, sleep=True)
    polls_before: list[int] = []

    def counting_pass() -> Any:
        polls_before.append(len(stop.waits))
        return schedule_pass()

    daemon.run(0.2, stop=stop, poll=0.05, pass_fn=counting_pass)
    # about four polls of 0.05 s between passes: the interval, not sooner
    gaps = [b - a for a, b in itertools.pairwise(polls_before)]
    assert len(gaps) >= 2 and all(3 <= gap <= 5 for gap in gaps), gaps


def run_through(failures: list[Exception], caplog) -> list[float]:
    """Run the loop over passes that raise ``failures`` (last first), then a real one;
    the back-off waits."""

    def failing_pass() -> Any:
        if failures:
            raise failures.pop()
        return schedule_pass()

    stop = ScriptedStop([lambda: None, lambda: None])
    caplog.set_level("INFO", logger="lava.server.scheduler.daemon")
    daemon.LOG.addHandler(caplog.handler)
    try:
        assert daemon.run(60, stop=stop, pass_fn=failing_pass) == 0
    finally:
        daemon.LOG.removeHandler(caplog.handler)
    return stop.waits


def test_database_errors_are_survived(lab, users, caplog) -> None:
    job = queue(lab, users)
    failures = [OperationalError("server closed the connection unexpectedly")] * 2
    waits = run_through(failures, caplog)
    assert waits[:2] == [daemon.BACKOFF_FIRST, daemon.BACKOFF_FIRST * 2]  # back-off doubles
    assert "server closed the connection" in caplog.text and "retrying in 1 s" in caplog.text
    assert TestJob.objects.get(id=job.id).state == JobState.SCHEDULED


def test_unexpected_errors_are_survived_in_one_bounded_line(lab, users, caplog) -> None:
    job = queue(lab, users)
    failures = [OverflowError("date value out of range " + "x" * 100_000), KeyError("bug")]
    waits = run_through(failures, caplog)
    assert waits[:2] == [daemon.BACKOFF_FIRST, daemon.BACKOFF_FIRST * 2]
    errors = [r for r in caplog.records if r.levelname == "ERROR"]
    assert all(r.exc_info is None for r in errors)  # no traceback
    lines = list(dict.fromkeys(r.getMessage() for r in errors))  # the record, once per pass
    assert [line.split(":")[1].strip() for line in lines] == ["unexpected error"] * 2
    assert "KeyError at test_cmd_lava_scheduler.py:" in lines[0]
    assert len(lines[1]) < 1100
    assert TestJob.objects.get(id=job.id).state == JobState.SCHEDULED


def test_once_fails_on_an_unexpected_error(lab) -> None:
    def broken() -> Any:
        raise RuntimeError("a bug")

    assert daemon.run(60, stop=ScriptedStop([]), once=True, pass_fn=broken) == 1


def test_once_fails_on_a_database_error(lab) -> None:
    def broken() -> Any:
        raise OperationalError("no such table")

    stop = ScriptedStop([])
    assert daemon.run(60, stop=stop, once=True, pass_fn=broken) == 1


# A throw-away instance for the daemon as a real process: a SQLite file, whatever the
# suite's database, since the suite's SQLite database lives in memory.
HELPER = """
import json, sys, time
import django
django.setup()
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone
from lava.server.scheduler.models import Device, DeviceType, TestJob, Worker
from lava.server.scheduler.states import DeviceHealth, JobState, WorkerState

if sys.argv[1] == "seed":
    call_command("migrate", verbosity=0)
    worker = Worker.objects.create(
        hostname="worker-01", state=WorkerState.ONLINE,
        last_ping=timezone.now() + timezone.timedelta(hours=1),
    )
    qemu = DeviceType.objects.create(name="qemu")
    Device.objects.create(hostname="qemu-01", device_type=qemu, worker_host=worker,
                          health=DeviceHealth.GOOD)
    User.objects.create_user("owner")
else:
    start = time.monotonic()
    job = TestJob.objects.create(submitter=User.objects.get(username="owner"),
                                 definition="job_name: t\\n", requested_device_type_id="qemu")
    while TestJob.objects.get(id=job.id).state != JobState.SCHEDULED:
        if time.monotonic() - start > 10:
            sys.exit("job not scheduled within 10 s")
        time.sleep(0.02)
    print(json.dumps({"latency_s": time.monotonic() - start}))
"""


@pytest.fixture
def instance(tmp_path: Path) -> dict[str, str]:
    """The environment of a migrated SQLite instance with one device, worker and user."""
    config = tmp_path / "dispatcher-config"
    (config / "devices").mkdir(parents=True)
    (config / "devices" / "qemu-01.jinja2").write_text("{% extends 'qemu.jinja2' %}\n")
    env = dict(os.environ)
    env.update(
        LAVA_DATA_DIR=str(tmp_path),
        LAVA_SETTINGS=os.devnull,
        LAVA_DISPATCHER_CONFIG=str(config),
        LAVA_DATABASE_URL=f"sqlite:///{tmp_path / 'lava.sqlite3'}",
        DJANGO_SETTINGS_MODULE="lava.server.settings",
    )
    subprocess.run([sys.executable, "-c", HELPER, "seed"], env=env, check=True, timeout=60)
    return env


def wait_for(path: Path, text: str, timeout: float = 10) -> str:
    """The log's text once it contains ``text``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        content = path.read_text() if path.exists() else ""
        if text in content:
            return content
        time.sleep(0.02)
    raise AssertionError(f"{text!r} not in {path} within {timeout} s:\n{content}")


def test_daemon_process_wakes_for_a_new_job_and_stops_on_sigterm(instance, tmp_path) -> None:
    log = tmp_path / "scheduler.log"
    command = [str(LAVA_SERVER), "manage", "lava-scheduler", "--interval", "60"]
    daemon_proc = subprocess.Popen([*command, "--log-file", str(log)], env=instance)
    try:
        wait_for(log, "pass: 0 jobs scheduled")
        submit = subprocess.run(
            [sys.executable, "-c", HELPER, "submit"],
            env=instance,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert submit.returncode == 0, submit.stderr
        latency = json.loads(submit.stdout)["latency_s"]
        assert latency < 3, f"scheduled after {latency:.2f} s; the interval is 60 s"
        wait_for(log, "pass: 1 jobs scheduled")
        daemon_proc.send_signal(signal.SIGTERM)
        assert daemon_proc.wait(timeout=10) == 0
    finally:
        if daemon_proc.poll() is None:
            daemon_proc.kill()
            daemon_proc.wait()
    assert "lava-scheduler stopping: SIGTERM received" in log.read_text()
