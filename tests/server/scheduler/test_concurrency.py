"""Two scheduler processes at once never double-book a device or a job.

Two real OS processes run ``schedule_pass()`` against the same database, released
together by a barrier file, for several rounds; between rounds the test frees
every device and queues every job again. Each round must leave every device
with exactly one job, every Scheduled job on its own device, and each job
reported by exactly one of the two processes.

PostgreSQL: the suite's test database (committed, ``transactional_db``),
which the processes reach through LAVA_DATABASE_URL. SQLite: the suite's
database lives in memory, so the SQLite variant seeds a file of its own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection, transaction

from lava.server.scheduler import transitions
from lava.server.scheduler.models import Device, TestJob
from lava.server.scheduler.scheduling import schedule_pass
from lava.server.scheduler.states import DeviceState, JobState

ROUNDS = 8
TYPES, DEVICES_PER_TYPE, WORKERS, JOBS_PER_TYPE = 3, 20, 6, 45

# Runs in the scheduler processes: seed the lab, or take part in the rounds.
SCRIPT = """
import json, random, sys, time
from pathlib import Path
import django
django.setup()

def seed(types, per_type, workers, jobs_per_type, migrate):
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.utils import timezone
    from lava.server.scheduler.models import Device, DeviceType, Tag, TestJob, Worker
    from lava.server.scheduler.states import DeviceHealth, WorkerState
    from lava.server.settings import LAVA

    if migrate:
        call_command("migrate", verbosity=0)
    rng = random.Random(7)
    hosts = [Worker.objects.create(hostname=f"worker-{i}", state=WorkerState.ONLINE,
                                   last_ping=timezone.now() + timezone.timedelta(hours=1))
             for i in range(workers)]
    fast, slow = Tag.objects.create(name="fast"), Tag.objects.create(name="slow")
    users = [User.objects.create_user(f"user-{i}") for i in range(3)]
    LAVA.devices_dir.mkdir(parents=True, exist_ok=True)
    for t in range(types):
        device_type = DeviceType.objects.create(name=f"type-{t}")
        for d in range(per_type):
            device = Device.objects.create(
                hostname=f"type-{t}-{d:02d}", device_type=device_type,
                worker_host=hosts[(t * per_type + d) % workers], health=DeviceHealth.GOOD)
            (LAVA.devices_dir / f"{device.hostname}.jinja2").write_text(
                "{% extends 'qemu.jinja2' %}\\n")
            if d % 4 == 0:
                device.tags.add(fast)
            if d % 5 == 0:
                device.tags.add(slow)
        for j in range(jobs_per_type):
            job = TestJob.objects.create(
                submitter=rng.choice(users), requested_device_type=device_type,
                priority=rng.choice((0, 50, 100)), definition="job_name: race\\n")
            if j % 9 == 0:
                job.tags.add(fast)

def race(barrier, me, rounds):
    from lava.server.scheduler.scheduling import schedule_pass
    (barrier / f"ready-{me}").touch()
    for r in range(rounds):
        go = barrier / f"go-{r}"
        deadline = time.monotonic() + 60
        while not go.exists():
            if time.monotonic() > deadline:
                sys.exit(f"racer {me}: no go for round {r}")
            time.sleep(0.001)
        # up to about one pass apart: the other is planning, claiming or done
        time.sleep(random.Random(100 * r + me).uniform(0, 0.03))
        report = schedule_pass()
        result = {"assigned": report.assigned, "rounds": report.rounds}
        (barrier / f"done-{r}-{me}.tmp").write_text(json.dumps(result))
        (barrier / f"done-{r}-{me}.tmp").rename(barrier / f"done-{r}-{me}")

if sys.argv[1] == "seed":
    seed(*map(int, sys.argv[2:7]))
else:
    race(Path(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
"""

# Between rounds: every device Idle, every job queued again (plain SQL: the
# SQLite variant's database is not the one Django in this process talks to).
RESET = [
    "UPDATE scheduler_testjob SET state = 0, actual_device_id = NULL WHERE state = 2",
    "UPDATE scheduler_device SET state = 0",
]
DOUBLE_BOOKED = (
    "SELECT actual_device_id FROM scheduler_testjob WHERE state = 2 "
    "GROUP BY actual_device_id HAVING COUNT(*) > 1"
)
SCHEDULED = "SELECT id, actual_device_id FROM scheduler_testjob WHERE state = 2"
DEVICES = "SELECT hostname, state FROM scheduler_device"


class Database:
    """Plain SQL on the database the scheduler processes use."""

    def __init__(self, sqlite_file: Path | None = None) -> None:
        self.sqlite_file = sqlite_file

    def run(self, sql: str) -> list[tuple[Any, ...]]:
        if self.sqlite_file is not None:
            import sqlite3

            with sqlite3.connect(self.sqlite_file, timeout=30) as db:
                return db.execute(sql).fetchall()
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []


def environment(tmp_path: Path, database_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LAVA_DATA_DIR=str(tmp_path / "data"),
        LAVA_SETTINGS=os.devnull,
        LAVA_DISPATCHER_CONFIG=str(tmp_path / "dispatcher-config"),
        LAVA_DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="lava.server.settings",
    )
    return env


def wait_for(paths: list[Path], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not all(p.exists() for p in paths):
        assert time.monotonic() < deadline, f"still waiting for {paths}"
        time.sleep(0.002)


def race(
    env: dict[str, str], db: Database, tmp_path: Path, migrate: bool
) -> list[list[tuple[int, int]]]:
    """Seed, run the rounds, check each; per round and process: (assignments, plan rounds)."""
    seed_args = [TYPES, DEVICES_PER_TYPE, WORKERS, JOBS_PER_TYPE, int(migrate)]
    subprocess.run(
        [sys.executable, "-c", SCRIPT, "seed", *map(str, seed_args)],
        env=env,
        check=True,
        timeout=120,
    )
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    racers = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, "race", str(barrier), str(me), str(ROUNDS)], env=env
        )
        for me in (0, 1)
    ]
    counts = []
    try:
        wait_for([barrier / "ready-0", barrier / "ready-1"])
        devices = TYPES * DEVICES_PER_TYPE
        for r in range(ROUNDS):
            if r:
                for sql in RESET:
                    db.run(sql)
            (barrier / f"go-{r}").touch()
            done = [barrier / f"done-{r}-{me}" for me in (0, 1)]
            wait_for(done)
            reports = [json.loads(p.read_text()) for p in done]
            claimed = [tuple(pair) for report in reports for pair in report["assigned"]]
            assert db.run(DOUBLE_BOOKED) == [], f"round {r}: a device holds two jobs"
            scheduled = sorted(db.run(SCHEDULED))
            # each job reported once, by one process, and as the database has it
            assert Counter(j for j, _ in claimed).most_common(1)[0][1] == 1, f"round {r}"
            assert sorted(claimed) == scheduled, f"round {r}: reports differ from the database"
            assert len({device for _, device in scheduled}) == len(scheduled)
            # every device could take a job, and did
            states = dict(db.run(DEVICES))
            assert len(scheduled) == devices, f"round {r}: {len(scheduled)} of {devices} used"
            assert set(states.values()) == {1}, f"round {r}: a device is not Reserved"
            counts.append([(len(report["assigned"]), report["rounds"]) for report in reports])
    finally:
        for proc in racers:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    assert [proc.returncode for proc in racers] == [0, 0]
    return counts


@pytest.mark.django_db(transaction=True)
def test_two_schedulers_on_postgresql(tmp_path: Path) -> None:
    if connection.vendor != "postgresql":
        pytest.skip(
            "row locking is PostgreSQL's; this run's database is SQLite "
            "(see test_two_schedulers_on_a_sqlite_file)"
        )
    settings = connection.settings_dict
    url = (
        f"postgresql://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}"
    )
    if settings["PASSWORD"]:
        url = url.replace("@", f":{settings['PASSWORD']}@", 1)
    counts = race(environment(tmp_path, url), Database(), tmp_path, migrate=False)
    assert sum(n for c in counts for n, _ in c) == ROUNDS * TYPES * DEVICES_PER_TYPE


def test_two_schedulers_on_a_sqlite_file(tmp_path: Path) -> None:
    if connection.vendor != "sqlite":
        pytest.skip("the SQLite variant runs with the SQLite suite")
    sqlite_file = tmp_path / "data" / "lava.sqlite3"
    env = environment(tmp_path, f"sqlite:///{sqlite_file}")
    counts = race(env, Database(sqlite_file), tmp_path, migrate=True)
    assert sum(n for c in counts for n, _ in c) == ROUNDS * TYPES * DEVICES_PER_TYPE


@pytest.mark.django_db(transaction=True)
def test_a_pass_leaves_rows_another_claim_holds(lab, users) -> None:
    """A claim holds half the devices and the first jobs; a pass meanwhile uses the rest."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite passes take turns (see above)")
    for n in range(3, 21):
        lab.device(f"qemu-{n:02d}")
    owner = User.objects.get(username="owner")
    jobs = [
        TestJob.objects.create(
            submitter=owner, definition="job_name: t\n", requested_device_type=lab.device_type
        )
        for _ in range(30)
    ]
    held = [(job.id, f"qemu-{n + 1:02d}") for n, job in enumerate(jobs[:10])]
    locked, release = threading.Event(), threading.Event()
    reports: list[Any] = []

    def other_scheduler() -> None:
        try:
            with transaction.atomic():
                hostnames = [h for _, h in held]
                list(Device.objects.select_for_update().filter(hostname__in=hostnames))
                list(TestJob.objects.select_for_update().filter(id__in=[j for j, _ in held]))
                transitions.jobs_scheduled(held)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    def this_scheduler() -> None:
        try:
            reports.append(schedule_pass())
        finally:
            connection.close()

    other = threading.Thread(target=other_scheduler)
    other.start()
    assert locked.wait(10)
    this = threading.Thread(target=this_scheduler)
    this.start()
    time.sleep(0.3)  # this pass skips the held devices and waits for the held jobs
    release.set()
    other.join(10)
    this.join(10)
    (report,) = reports
    assert not {j for j, _ in report.assigned} & {j for j, _ in held}
    # the held jobs it had planned were gone once it got their locks: it planned again
    assert len(report.assigned) == 10 and report.rounds == 2
    scheduled = TestJob.objects.filter(state=JobState.SCHEDULED)
    assert scheduled.count() == 20
    assert len(set(scheduled.values_list("actual_device", flat=True))) == 20
    assert set(Device.objects.values_list("state", flat=True)) == {DeviceState.RESERVED}
