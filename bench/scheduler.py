"""Scheduler pass time: 1,000 devices on 100 workers, 10,000 queued jobs, 20 device types.

Each database is set up from nothing, in a process of its own (Django's
settings are per process): PostgreSQL at PG_URL (the database is dropped and
created) and a temporary SQLite file. Each timed pass starts with every
device Idle and every job queued; the reset between passes is not timed.
The first pass after seeding fills the scheduler's render cache and is shown
apart ("cold"); a running daemon only pays it at start and after an edit.
Health-check files are absent, so devices are Good and take user jobs.
Passes run in fair-share order (the default ``SCHEDULER_ORDER``); the same
passes in LAVA's order, on the same rows, are the baseline of the ratio.

Usage: .venv/bin/python -m bench.scheduler [--devices N] [--workers N] [--jobs N]
       [--types N] [--passes N]
The last line is one JSON object: pg_pass_s, sqlite_pass_s (median pass, seconds).
"""

from __future__ import annotations

import argparse
import datetime
import json
import logging
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_NAME = "lava_bench_scheduler"
PG_URL = f"{PG_SERVER}/{PG_NAME}"
BUDGET_S = 1.0

DEFINITION = """job_name: bench job {n}
device_type: {device_type}
priority: {priority}
visibility: public
timeouts:
  job: {{minutes: 30}}
  action: {{minutes: 5}}
{context}actions:
- deploy:
    to: tmpfs
    images:
      kernel: {{url: 'https://example.com/vmlinuz', image_arg: '-kernel {{kernel}}'}}
      ramdisk: {{url: 'https://example.com/initrd.gz', image_arg: '-initrd {{ramdisk}}'}}
- boot:
    method: qemu
    media: tmpfs
    prompts: ['root@lava-guest:~#']
- test:
    definitions:
    - {{from: inline, name: smoke, path: inline/smoke.yaml, repository: {{metadata: {{format: Lava-Test Test Definition 1.0, name: smoke}}, run: {{steps: [uname -a]}}}}}}
"""  # noqa: E501


def child_environment(database: str, work: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        LAVA_DATA_DIR=str(work / "data"),
        LAVA_SETTINGS=os.devnull,
        LAVA_DISPATCHER_CONFIG=str(work / "dispatcher-config"),
        LAVA_DATABASE_URL=PG_URL
        if database == "pg"
        else f"sqlite:///{work / 'data' / 'bench.sqlite3'}",
        DJANGO_SETTINGS_MODULE="lava.server.settings",
    )
    return env


def recreate_pg_database() -> None:
    import psycopg

    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {PG_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {PG_NAME}")


def seed(args: argparse.Namespace, config: Path) -> None:
    """The lab: types, workers, tagged devices with dictionary files, users, queued jobs."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from lava.server.scheduler.models import Device, DeviceType, Tag, TestJob, Worker
    from lava.server.scheduler.states import DeviceHealth, WorkerState

    rng = random.Random(42)
    now = timezone.now()
    types = DeviceType.objects.bulk_create(
        DeviceType(name=f"type-{i:02d}") for i in range(args.types)
    )
    tags = Tag.objects.bulk_create(Tag(name=f"tag-{i:02d}") for i in range(12))
    workers = Worker.objects.bulk_create(
        Worker(
            hostname=f"worker-{i:03d}",
            state=WorkerState.ONLINE,
            last_ping=now,
            job_limit=5 if i % 10 == 0 else 0,  # a few workers cap their jobs
        )
        for i in range(args.workers)
    )
    devices = Device.objects.bulk_create(
        Device(
            hostname=f"device-{i:04d}",
            device_type=types[i % len(types)],
            worker_host=workers[i % len(workers)],
            health=DeviceHealth.GOOD,
        )
        for i in range(args.devices)
    )
    (config / "devices").mkdir(parents=True)
    device_tags = []
    tags_of_type: dict[str, set[int]] = {t.name: set() for t in types}
    for i, device in enumerate(devices):
        (config / "devices" / f"{device.hostname}.jinja2").write_text(
            "{% extends 'qemu.jinja2' %}\n"
            f"{{% set mac_addr = '52:54:00:00:{i // 256:02x}:{i % 256:02x}' %}}\n"
        )
        for tag in rng.sample(tags, rng.choice((0, 0, 1, 2))):
            device_tags.append(Device.tags.through(device_id=device.hostname, tag_id=tag.id))
            tags_of_type[device.device_type_id].add(tag.id)
    Device.tags.through.objects.bulk_create(device_tags)
    users = User.objects.bulk_create(User(username=f"user-{i}") for i in range(10))
    devices_of_type: dict[str, list[Device]] = {t.name: [] for t in types}
    for device in devices:
        devices_of_type[device.device_type_id].append(device)
    jobs, job_tag_ids = [], []
    for n in range(args.jobs):
        device_type = rng.choice(types)
        priority = rng.choice((0, 50, 50, 100))
        context = "context: {arch: amd64, memory: 1024}\n" if n % 5 == 0 else ""
        pinned = rng.choice(devices_of_type[device_type.name]) if n % 100 == 0 else None
        jobs.append(
            TestJob(
                submitter=rng.choice(users),
                requested_device_type=device_type,
                requested_device=pinned,
                requested_worker=workers[rng.randrange(len(workers))] if n % 100 == 1 else None,
                priority=priority,
                submit_time=now - datetime.timedelta(seconds=rng.randrange(86400)),
                definition=DEFINITION.format(
                    n=n, device_type=device_type.name, priority=priority, context=context
                ),
            )
        )
        available = sorted(tags_of_type[device_type.name])
        wanted = rng.sample(available, 1) if available and rng.random() < 0.3 else []
        job_tag_ids.append(wanted)
    jobs = TestJob.objects.bulk_create(jobs, batch_size=2000)
    TestJob.tags.through.objects.bulk_create(
        (
            TestJob.tags.through(testjob_id=job.id, tag_id=tag)
            for job, wanted in zip(jobs, job_tag_ids, strict=True)
            for tag in wanted
        ),
        batch_size=5000,
    )


def reset() -> None:
    """Every device Idle, every assigned job queued again, every worker just heard from."""
    from django.utils import timezone

    from lava.server.scheduler.models import Device, TestJob, Worker
    from lava.server.scheduler.states import DeviceState, JobState

    TestJob.objects.filter(state=JobState.SCHEDULED).update(
        state=JobState.SUBMITTED, actual_device=None
    )
    Device.objects.update(state=DeviceState.IDLE)
    Worker.objects.update(last_ping=timezone.now())


def child(args: argparse.Namespace) -> None:
    """Seed one database and time passes on it; print one JSON line."""
    work = Path(args.work)
    os.environ.update(child_environment(args.child, work))
    (work / "data").mkdir(parents=True, exist_ok=True)
    if args.child == "pg":
        recreate_pg_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from lava.server.scheduler.scheduling import schedule_pass

    # The daemon logs every transition at INFO: pay for the formatting, not the terminal.
    lava_log = logging.getLogger("lava")
    lava_log.handlers = [logging.FileHandler(os.devnull)]
    lava_log.setLevel(logging.INFO)

    start = time.perf_counter()
    call_command("migrate", verbosity=0)
    seed(args, work / "dispatcher-config")
    seed_s = time.perf_counter() - start
    if args.child == "pg":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")

    cold = schedule_pass()
    passes, assigned, phases, lava_passes = [], [], [], []
    fair_order = settings.LAVA.scheduler_order
    for _ in range(args.passes):  # alternate, so that both orders meet the same caches
        reset()
        report = schedule_pass()
        passes.append(report.duration)
        assigned.append(len(report.assigned))
        phases.append(report.durations)
        reset()
        settings.LAVA.scheduler_order = "lava"
        lava_passes.append(schedule_pass().duration)
        settings.LAVA.scheduler_order = fair_order
    names = sorted({name for p in phases for name in p})
    print(
        json.dumps(
            {
                "database": connection.vendor,
                "seed_s": seed_s,
                "cold_s": cold.duration,
                "cold_assigned": len(cold.assigned),
                "order": fair_order,
                "passes": passes,
                "lava_passes": lava_passes,
                "assigned": assigned,
                "phases": {n: statistics.median(p.get(n, 0.0) for p in phases) for n in names},
            }
        )
    )
    if args.child == "pg":
        connection.close()
        recreate_pg_database()  # leave an empty database, not 10,000 jobs


def run_child(database: str, args: argparse.Namespace) -> dict[str, Any] | str:
    work = Path(tempfile.mkdtemp(prefix=f"bench-scheduler-{database}-"))
    command = [sys.executable, "-m", "bench.scheduler", "--child", database]
    command += ["--work", str(work)]
    for name in ("devices", "workers", "jobs", "types", "passes"):
        command += [f"--{name}", str(getattr(args, name))]
    try:
        proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        return lines[-1] if lines else f"exit status {proc.returncode}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=100)
    parser.add_argument("--jobs", type=int, default=10000)
    parser.add_argument("--types", type=int, default=20)
    parser.add_argument("--passes", type=int, default=7, help="timed passes per database")
    parser.add_argument("--child", choices=("pg", "sqlite"), help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    print(
        f"scheduler pass: {args.devices} devices on {args.workers} workers, "
        f"{args.jobs} queued jobs over {args.types} device types, {args.passes} passes each"
    )
    header = (
        f"{'database':<11}{'seed s':>8}{'cold s':>8}{'min s':>8}{'median s':>10}"
        f"{'max s':>8}{'assigned':>10}{'LAVA order s':>14}{'ratio':>7}"
    )
    print(header)
    print("-" * len(header))
    medians: dict[str, float | None] = {}
    phase_lines = []
    for database, label in (("pg", "PostgreSQL"), ("sqlite", "SQLite")):
        result = run_child(database, args)
        if isinstance(result, str):
            print(f"{label:<11} failed: {result}")
            medians[database] = None
            continue
        passes = result["passes"]
        medians[database] = statistics.median(passes)
        baseline = statistics.median(result["lava_passes"])
        assigned = sorted(set(result["assigned"]))
        shown = str(assigned[0]) if len(assigned) == 1 else f"{assigned[0]}-{assigned[-1]}"
        print(
            f"{label:<11}{result['seed_s']:>8.1f}{result['cold_s']:>8.3f}{min(passes):>8.3f}"
            f"{medians[database]:>10.3f}{max(passes):>8.3f}{shown:>10}"
            f"{baseline:>14.3f}{medians[database] / baseline:>7.2f}"
        )
        phases = ", ".join(
            f"{name} {seconds * 1000:.0f}"
            for name, seconds in result["phases"].items()
            if name != "total"
        )
        phase_lines.append(f"  {label} median ms per part: {phases}")
    print(
        "cold: the first pass, with the render cache empty; min/median/max: the timed passes,\n"
        "in fair-share order; LAVA order s: the median of the same passes in LAVA's order, and\n"
        "ratio: fair / LAVA; assigned: jobs per pass (every tenth worker has job_limit 5, so\n"
        "some devices stay free)"
    )
    print("\n".join(phase_lines))
    if medians.get("pg") is not None:
        verdict = "within" if medians["pg"] < BUDGET_S else "OVER"
        print(f"PostgreSQL median pass {medians['pg']:.3f} s: {verdict} the {BUDGET_S:g} s budget")
    if medians.get("pg") and medians.get("sqlite"):
        print(f"ratio SQLite / PostgreSQL: {medians['sqlite'] / medians['pg']:.2f}")
    print(
        json.dumps(
            {
                "pg_pass_s": None if medians.get("pg") is None else round(medians["pg"], 4),
                "sqlite_pass_s": None
                if medians.get("sqlite") is None
                else round(medians["sqlite"], 4),
            }
        )
    )


if __name__ == "__main__":
    main()
