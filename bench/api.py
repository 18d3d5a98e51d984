"""API latency with 100,000 jobs: XML-RPC system.version and scheduler.jobs.show, REST job list.

A throw-away lab (tools/livelab.py) on PostgreSQL (PG_URL; the database is
dropped and created) serves the APIs with gunicorn, as in production. The
database is seeded with 100,000 jobs of mixed states, a tenth of them
private to their submitter. Calls come one at a time from one client with
keep-alive, as a user with a token who is not a superuser, so every call pays
the visibility rules. Each figure is over 200 calls after 20 warm-up calls.

Then a device type is hidden from all but one group, with a tenth of the jobs
on it, and jobs.show and the list are timed again: the visibility query takes
its slower path (device rules included) whenever a lab hides anything.

Usage: .venv/bin/python -m bench.api [--jobs N] [--calls N]
The last line is one JSON object: version_median_ms, jobs_show_median_ms,
jobs_list_median_ms, jobs_list_p95_ms, and the same three with a hidden device
type: restricted_jobs_show_median_ms, restricted_jobs_list_median_ms,
restricted_jobs_list_p95_ms.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path

import psycopg
import requests
from psycopg import sql

from tools.livelab import LiveLab

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_NAME = "lava_bench_api"
WARM_UP = 20
BUDGET_SHOW_MS, BUDGET_LIST_MS = 10.0, 50.0

SEED = """
import json, random
from django.contrib.auth.models import User
from lava.server.scheduler.models import AuthToken, TestJob
from lava.server.scheduler.states import JobHealth, JobState, Visibility
random.seed(4)
owner, _ = User.objects.get_or_create(username="bench")
others = [User.objects.get_or_create(username=f"user{n}")[0] for n in range(10)]
token = AuthToken.objects.create(user=owner).secret
states = [(JobState.FINISHED, JobHealth.COMPLETE)] * 6 + [
    (JobState.FINISHED, JobHealth.INCOMPLETE), (JobState.SUBMITTED, JobHealth.UNKNOWN),
    (JobState.RUNNING, JobHealth.UNKNOWN), (JobState.FINISHED, JobHealth.CANCELED)]
definition = "job_name: bench\\ndevice_type: qemu\\nvisibility: public\\n"
batch = []
for n in range(TOTAL):
    state, health = random.choice(states)
    private = n % 10 == 0
    batch.append(TestJob(
        submitter=random.choice(others + [owner]), requested_device_type_id="qemu",
        description=f"bench job {n}", state=state, health=health, definition=definition,
        visibility=Visibility.PERSONAL if private else Visibility.PUBLIC, is_public=not private))
    if len(batch) == 5000:
        TestJob.objects.bulk_create(batch); batch = []
TestJob.objects.bulk_create(batch)
print(json.dumps({"token": token, "ids": list(TestJob.objects.values_list("id", flat=True))}))
"""

RESTRICT = """
from django.contrib.auth.models import Group
from lava.server.scheduler.models import DeviceType, GroupDeviceTypePermission, TestJob
secret = DeviceType.objects.create(name="secret")
group = Group.objects.create(name="secret-lab")
GroupDeviceTypePermission.objects.create(devicetype=secret, group=group, permission="view")
ids = list(TestJob.objects.order_by("id").values_list("id", flat=True)[::10])
TestJob.objects.filter(id__in=ids).update(requested_device_type=secret)
print(len(ids))
"""


def fresh_database() -> str:
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5) as conn:
        name = sql.Identifier(PG_NAME)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    return f"{PG_SERVER}/{PG_NAME}"


def timed(call: Callable[[], None], count: int) -> list[float]:
    for _ in range(WARM_UP):
        call()
    times = []
    for _ in range(count):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=100_000, help="jobs in the database")
    parser.add_argument("--calls", type=int, default=200, help="timed calls per figure")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="lava-bench-api-"))
    seeded_url = fresh_database()
    lab = LiveLab(work / "instance", port=0, settings={"DATABASE_URL": seeded_url})
    try:
        lab.setup(say=False)
        started = time.perf_counter()
        seeded = lab.query(SEED.replace("TOTAL", str(options.jobs)))
        print(f"==> {options.jobs:,} jobs seeded in {time.perf_counter() - started:.1f} s")
        with psycopg.connect(seeded_url, autocommit=True) as conn:
            conn.execute("ANALYZE")  # as autovacuum would after a bulk load
        lab.start(["web"])
        session = requests.Session()
        rpc_url = f"{lab.url}RPC2"
        auth = ("bench", seeded["token"])
        rng = random.Random(7)
        ids = seeded["ids"]

        def rpc(name: str, *params: object) -> object:
            body = xmlrpc.client.dumps(params, name, allow_none=True)
            answer = session.post(rpc_url, data=body, auth=auth, timeout=30)
            answer.raise_for_status()
            return xmlrpc.client.loads(answer.content, use_builtin_types=True)[0][0]

        def show() -> None:
            try:
                rpc("scheduler.jobs.show", rng.choice(ids))
            except xmlrpc.client.Fault as fault:  # another user's private job: 404
                assert fault.faultCode == 404, fault

        headers = {"Authorization": f"Token {seeded['token']}"}

        def job_list() -> None:
            answer = session.get(f"{lab.url}api/v0.2/jobs/?limit=50", headers=headers, timeout=30)
            answer.raise_for_status()
            assert len(answer.json()["results"]) == 50

        version = timed(lambda: rpc("system.version"), options.calls)
        shows = timed(show, options.calls)
        lists = timed(job_list, options.calls)
        hidden = lab.query(RESTRICT)
        with psycopg.connect(seeded_url, autocommit=True) as conn:
            conn.execute("ANALYZE")
        print(f"==> device type 'secret' hidden but from one group, with {hidden:,} jobs on it")
        restricted_shows = timed(show, options.calls)
        restricted_lists = timed(job_list, options.calls)
    finally:
        lab.stop()
        shutil.rmtree(work, ignore_errors=True)

    figures = {
        "version_median_ms": statistics.median(version),
        "jobs_show_median_ms": statistics.median(shows),
        "jobs_list_median_ms": statistics.median(lists),
        "jobs_list_p95_ms": p95(lists),
        "restricted_jobs_show_median_ms": statistics.median(restricted_shows),
        "restricted_jobs_list_median_ms": statistics.median(restricted_lists),
        "restricted_jobs_list_p95_ms": p95(restricted_lists),
    }
    print()
    print(f"{'call (' + str(options.calls) + ' each)':<42} {'median ms':>10} {'p95 ms':>8}  budget")
    print(
        f"{'XML-RPC system.version':<42} {figures['version_median_ms']:>10.2f} {p95(version):>8.2f}"
    )
    print(
        f"{'XML-RPC scheduler.jobs.show':<42} {figures['jobs_show_median_ms']:>10.2f} "
        f"{p95(shows):>8.2f}  < {BUDGET_SHOW_MS:g}"
    )
    print(
        f"{'REST GET /api/v0.2/jobs/?limit=50':<42} {figures['jobs_list_median_ms']:>10.2f} "
        f"{figures['jobs_list_p95_ms']:>8.2f}  < {BUDGET_LIST_MS:g}"
    )
    print(
        f"{'  ... a device type hidden: jobs.show':<42} "
        f"{figures['restricted_jobs_show_median_ms']:>10.2f} {p95(restricted_shows):>8.2f}  "
        f"< {BUDGET_SHOW_MS:g}"
    )
    print(
        f"{'  ... a device type hidden: REST list':<42} "
        f"{figures['restricted_jobs_list_median_ms']:>10.2f} "
        f"{figures['restricted_jobs_list_p95_ms']:>8.2f}  < {BUDGET_LIST_MS:g}"
    )
    print(
        "LAVA 2023.01 here: system.version 15.9 ms, jobs.show 21.6 ms, "
        "REST list 39 ms with only 539 jobs."
    )
    ok = all(
        figures[f"{prefix}jobs_show_median_ms"] < BUDGET_SHOW_MS
        and figures[f"{prefix}jobs_list_median_ms"] < BUDGET_LIST_MS
        for prefix in ("", "restricted_")
    )
    print("within budget" if ok else "OVER BUDGET")
    print(json.dumps({key: round(value, 2) for key, value in figures.items()}))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
