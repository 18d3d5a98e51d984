"""Fleet-scale throughput: 300 tiny jobs on 20 devices of one worker, what each costs, and idle.

A throw-away lab (tools/livelab.py: nginx, gunicorn, the scheduler daemon,
the publisher, lava-worker) runs on SQLite, then on PostgreSQL (a database
dropped and created at 127.0.0.1:5432). It has 20 QEMU devices on its one
worker. 300 deploy-only jobs (the guest's kernel from ``file://``, no boot)
are submitted over XML-RPC by 4 clients at once, as a CI system submits; the
lab drains them.

Printed per database:
- drain: jobs/s from the first submission to the last end (all must be Complete);
- CPU-seconds per job by process, from /proc before and after: lava-run (the
  worker's fork server's children, or fresh lava-runs), web (gunicorn and
  its workers), worker (lava-worker and its fork server), scheduler,
  publisher and front (nginx);
- idle and peak memory of the stack (RSS summed over its processes, with PSS);
- cold start: from starting the front and gunicorn to a first XML-RPC
  answer;
- job submissions/s, one client and 4 threads, with the scheduler stopped
  so that only the submission is measured;
- ``scheduler.jobs.show`` and ``system.version`` medians (one client, keep-alive).

Usage: .venv/bin/python -m bench.fleet [--jobs N] [--devices N] [--database sqlite|postgresql]
The last line is one JSON object: drain_jobs_per_s, cpu_s_per_job, idle_rss_mib,
cold_start_s, submit_per_s, jobs_show_ms, version_ms (each from the database
its budget names: idle memory from SQLite, the rest from PostgreSQL, drain and
cold start the worse of both), and the same figures per database.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import threading
import time
import xmlrpc.client
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from bench.api import timed
from bench.memory import fresh_postgresql, process_tree, stack_memory
from bench.submit_rate import submit_rate
from tools import example
from tools.livelab import ADMIN, DEVICE_DICT, LiveLab

BUDGETS = {
    "drain_jobs_per_s": (20.0, ">="),
    "idle_rss_mib": (200.0, "<="),
    "cold_start_s": (0.5, "<"),
    "submit_per_s": (300.0, ">="),
    "jobs_show_ms": (4.0, "<="),
    "version_ms": (2.0, "<="),
}
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_NAME = "lava_bench_fleet"
SUBMIT_COUNT = 300  # per submission figure
CALLS = 300

SETUP = """
import json
from django.contrib.auth.models import User
from lava.server.scheduler.models import AuthToken
from lava.server.services.actors import Actor
from lava.server.services.devices import add_device
text = open(DICTIONARY).read()
for n in range(2, DEVICES + 1):
    add_device(Actor.console(), f"qemu-{n:02d}", device_type="qemu", worker=WORKER,
               dictionary=text)
print(json.dumps(AuthToken.objects.create(user=User.objects.get(username="admin")).secret))
"""

TIMES = """
import json
from lava.server.scheduler.models import TestJob
rows = TestJob.objects.filter(id__in=IDS)
print(json.dumps([[j.state, j.health, j.submit_time.timestamp(),
                   j.end_time.timestamp() if j.end_time else None] for j in rows]))
"""


# -- processes -----------------------------------------------------------------------------
def _stat(pid: int) -> list[str] | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return [text[text.index("(") + 1 : text.rindex(")")], *text[text.rindex(")") + 2 :].split()]


def _times(fields: list[str]) -> tuple[float, float]:
    """(own, reaped children's) CPU seconds, from a process's `_stat` fields."""
    # after the name: state is fields[1]; utime, stime, cutime, cstime are stat fields 14-17
    utime, stime, cutime, cstime = (int(value) for value in fields[12:16])
    return (utime + stime) / CLOCK_TICKS, (cutime + cstime) / CLOCK_TICKS


def cpu_by_process(lab: LiveLab) -> dict[str, float]:
    """CPU seconds used so far by each part of the lab, lava-run apart from its worker."""
    usage: dict[str, float] = {}
    for service in lab.services:
        root = lab.running(service)
        if root is None:
            continue
        stats = {pid: fields for pid in process_tree(root) if (fields := _stat(pid))}
        if root not in stats:
            continue
        times = {pid: _times(fields) for pid, fields in stats.items()}
        if service != "worker":
            usage[service] = sum(own for own, _ in times.values()) + times[root][1]
            continue
        # lava-runs (the fork server's children, or commands of the worker's) apart from the
        # worker and its fork server, whose reaped children are lava-runs too
        runs = [pid for pid, fields in stats.items() if fields[0] == "lava-run"]
        servers = [
            pid
            for pid, fields in stats.items()
            if pid != root and int(fields[2]) == root and fields[0] != "lava-run"
        ]
        usage["lava-run"] = sum(times[pid][1] for pid in (root, *servers)) + sum(
            times[pid][0] for pid in runs
        )
        usage["worker"] = sum(times[pid][0] for pid in (root, *servers))
    return usage


class PeakMemory(threading.Thread):
    """Samples the stack's RSS every 0.5 s until stopped; the highest total seen."""

    def __init__(self, lab: LiveLab) -> None:
        super().__init__(daemon=True)
        self.lab = lab
        self.peak = 0.0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.5):
            self.peak = max(self.peak, rss_now(self.lab))


PAGE_MIB = os.sysconf("SC_PAGE_SIZE") / 2**20


def rss_now(lab: LiveLab) -> float:
    """The stack's RSS (MiB), from /proc/PID/statm: cheap enough to sample during the drain
    (stack_memory's PSS walks every page table)."""
    total = 0.0
    for service in lab.services:
        root = lab.running(service)
        for pid in process_tree(root) if root else []:
            try:
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_MIB
            except (OSError, IndexError, ValueError):
                continue
    return total


# -- the lab ------------------------------------------------------------------------------
class Rpc:
    """XML-RPC calls over one keep-alive connection, as lavacli makes them."""

    def __init__(self, url: str, token: str) -> None:
        self.url = f"{url}RPC2"
        self.session = requests.Session()
        self.auth = (ADMIN, token)

    def __call__(self, name: str, *params: object) -> Any:
        body = xmlrpc.client.dumps(params, name, allow_none=True)
        answer = self.session.post(self.url, data=body, auth=self.auth, timeout=60)
        answer.raise_for_status()
        return xmlrpc.client.loads(answer.content, use_builtin_types=True)[0][0]


def median_ms(call: Callable[[], object], count: int) -> float:
    return statistics.median(timed(call, count))  # after bench.api's warm-up calls


def cold_start(lab: LiveLab, rpc: Rpc) -> float:
    """Seconds from starting the front and gunicorn to a first XML-RPC answer."""
    lab.stop(["front", "web"])
    started = time.monotonic()
    lab._start_front()
    lab._spawn("web", lab.command("web"))
    probe = Rpc(lab.url, rpc.auth[1])
    deadline = started + 60
    while time.monotonic() < deadline:
        try:
            probe("system.version")
            return time.monotonic() - started
        except (requests.RequestException, xmlrpc.client.Fault):
            time.sleep(0.005)
    raise SystemExit(f"bench: the web did not answer in 60 s; see {lab.log_file('web')}")


def run_lab(database: str, jobs: int, devices: int, guest: Path) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"lava-bench-fleet-{database}-"))
    settings: dict[str, Any] = {}
    if database == "postgresql":
        settings["DATABASE_URL"] = fresh_postgresql(f"{PG_SERVER}/{PG_NAME}")
    lab = LiveLab(work / "instance", port=0, settings=settings)
    lab.setup(say=False)
    code = (
        SETUP.replace("DICTIONARY", repr(str(DEVICE_DICT)))
        .replace("DEVICES", str(devices))
        .replace("WORKER", repr(lab.worker_name))
    )
    token = lab.query(code)
    figures: dict[str, Any] = {}
    try:
        lab.start()
        rpc = Rpc(lab.url, token)
        print(f"==> {database}: {devices} devices, lab in {work}")
        time.sleep(5)  # idle: the worker's first ping, the fork server's imports
        idle = stack_memory(lab)
        figures["idle_rss_mib"] = idle["total"]["rss_mib"]
        figures["idle_pss_mib"] = idle["total"]["pss_mib"]
        figures["idle_by_service"] = {
            name: round(values["rss_mib"], 1) for name, values in idle.items() if name != "total"
        }
        before = cpu_by_process(lab)
        peak = PeakMemory(lab)
        peak.start()
        first = time.time()
        definitions = [example.deploy_only_job(f"fleet {n}", guest) for n in range(jobs)]
        ids = submit_all(lab.url, token, definitions)
        print(f"    {jobs} jobs submitted in {time.time() - first:.1f} s; draining")
        rows = wait_drained(lab, ids, settings.get("DATABASE_URL"))
        peak.done.set()
        peak.join()
        after = cpu_by_process(lab)
        bad = [row for row in rows if row[1] != 1]  # JobHealth.COMPLETE
        if bad:
            raise SystemExit(f"bench: {len(bad)} jobs did not end Complete:\n{lab.log_tail()}")
        last_end = max(row[3] for row in rows)
        first_submit = min(row[2] for row in rows)
        figures["drain_jobs_per_s"] = jobs / (last_end - first_submit)
        figures["cpu_s_per_job_by_process"] = {
            name: (after.get(name, 0.0) - before.get(name, 0.0)) / jobs for name in after
        }
        figures["cpu_s_per_job"] = sum(figures["cpu_s_per_job_by_process"].values())
        figures["peak_rss_mib"] = peak.peak
        figures["warnings"] = worker_warnings(lab)
        figures["jobs_show_ms"] = median_ms(lambda: rpc("scheduler.jobs.show", ids[-1]), CALLS)
        figures["version_ms"] = median_ms(lambda: rpc("system.version"), CALLS)
        lab.stop(["scheduler"])  # submissions only, no scheduling passes meanwhile
        definition = example.deploy_only_job("fleet submit", guest)
        for threads, key in ((1, "submit_per_s"), (4, "submit_per_s_4_threads")):
            figures[key] = submit_rate(lab.url, ADMIN, token, definition, SUBMIT_COUNT, threads)
        figures["cold_start_s"] = min(cold_start(lab, rpc) for _ in range(3))
    finally:
        lab.stop()
    return figures


def submit_all(url: str, token: str, definitions: list[str], threads: int = 4) -> list[int]:
    """Submit over XML-RPC from ``threads`` clients at once, as a CI system does; the ids."""
    ids: list[int] = []
    lock = threading.Lock()

    def client(share: list[str]) -> None:
        rpc = Rpc(url, token)
        for definition in share:
            answer = rpc("scheduler.jobs.submit", definition)
            with lock:
                ids.append(int(answer[0]) if isinstance(answer, list) else int(answer))

    clients = [
        threading.Thread(target=client, args=(definitions[n::threads],)) for n in range(threads)
    ]
    for thread in clients:
        thread.start()
    for thread in clients:
        thread.join()
    if len(ids) != len(definitions):
        raise SystemExit(f"bench: only {len(ids)} of {len(definitions)} submissions answered")
    return sorted(ids)


def wait_drained(
    lab: LiveLab, ids: list[int], database_url: str | None, timeout: float = 900
) -> list[list[Any]]:
    """Wait until every job is Finished (polling the database itself: a `manage shell` a
    second would cost the host more than the lab does); their state, health and times."""
    deadline = time.monotonic() + timeout
    while (left := unfinished(lab, ids, database_url)) > 0:
        if time.monotonic() > deadline:
            raise SystemExit(f"bench: {left} jobs not finished after {timeout} s")
        time.sleep(0.5)
    return lab.query(TIMES.replace("IDS", repr(ids)))


def unfinished(lab: LiveLab, ids: list[int], database_url: str | None) -> int:
    query = (
        "SELECT count(*) FROM scheduler_testjob WHERE state != 5 AND id BETWEEN "
        f"{min(ids)} AND {max(ids)}"
    )
    if database_url is None:
        with contextlib.closing(sqlite3.connect(lab.instance / "lava.sqlite3")) as conn:
            return int(conn.execute(query).fetchone()[0])
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        return int(conn.execute(query).fetchone()[0])  # type: ignore[index]


def worker_warnings(lab: LiveLab) -> int:
    try:
        text = lab.log_file("worker").read_text(errors="replace")
    except OSError:
        return 0
    return sum(1 for line in text.splitlines() if " WARNING " in line)


# -- the report ---------------------------------------------------------------------------
def verdict(key: str, value: float) -> str:
    budget, how = BUDGETS[key]
    ok = {">=": value >= budget, "<=": value <= budget, "<": value < budget}[how]
    return f"{'ok' if ok else 'OVER BUDGET'} ({how} {budget:g})"


def report(results: dict[str, dict[str, Any]]) -> dict[str, Any]:
    names = list(results)
    rows = [
        ("drain (jobs/s)", "drain_jobs_per_s", "{:.1f}"),
        ("CPU per job (s)", "cpu_s_per_job", "{:.3f}"),
        ("idle RSS (MiB)", "idle_rss_mib", "{:.0f}"),
        ("idle PSS (MiB)", "idle_pss_mib", "{:.0f}"),
        ("peak RSS (MiB)", "peak_rss_mib", "{:.0f}"),
        ("cold start (s)", "cold_start_s", "{:.2f}"),
        ("submissions/s, 1 client", "submit_per_s", "{:.0f}"),
        ("submissions/s, 4 threads", "submit_per_s_4_threads", "{:.0f}"),
        ("jobs.show median (ms)", "jobs_show_ms", "{:.2f}"),
        ("system.version median (ms)", "version_ms", "{:.2f}"),
        ("worker warnings", "warnings", "{}"),
    ]
    print(f"\n{'':28}" + "".join(f"{name:>14}" for name in names))
    for label, key, fmt in rows:
        print(f"{label:28}" + "".join(f"{fmt.format(results[n][key]):>14}" for n in names))
    print("\nCPU-seconds per job, by process:")
    for process in results[names[0]]["cpu_s_per_job_by_process"]:
        cells = "".join(
            f"{results[n]['cpu_s_per_job_by_process'].get(process, 0.0):>14.4f}" for n in names
        )
        print(f"  {process:26}{cells}")
    print("\nIdle RSS by service (MiB):")
    for service in results[names[0]]["idle_by_service"]:
        cells = "".join(f"{results[n]['idle_by_service'].get(service, 0.0):>14.1f}" for n in names)
        print(f"  {service:26}{cells}")

    def pick(key: str, prefer: str, worst: Callable[..., float] | None = None) -> float:
        if worst is not None:
            return worst(results[n][key] for n in names)
        return results[prefer if prefer in results else names[0]][key]

    summary = {
        "drain_jobs_per_s": pick("drain_jobs_per_s", "", min),
        "cpu_s_per_job": pick("cpu_s_per_job", "", max),
        "idle_rss_mib": pick("idle_rss_mib", "sqlite"),
        "cold_start_s": pick("cold_start_s", "", max),
        "submit_per_s": pick("submit_per_s", "postgresql"),
        "jobs_show_ms": pick("jobs_show_ms", "postgresql"),
        "version_ms": pick("version_ms", "postgresql"),
    }
    print()
    for key, value in summary.items():
        if key in BUDGETS:
            print(f"{key:20} {value:10.3f}  {verdict(key, value)}")
    rounded = {key: round(value, 4) for key, value in summary.items()}
    per_database = {
        name: {
            key: round(value, 4) if isinstance(value, float) else value
            for key, value in figures.items()
            if not isinstance(value, dict)
        }
        for name, figures in results.items()
    }
    return {**rounded, **per_database}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=300)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument(
        "--database", choices=["sqlite", "postgresql"], action="append", help="(default: both)"
    )
    options = parser.parse_args()
    guest = example.guest_dir()
    if not (guest / "vmlinuz").exists():
        raise SystemExit(f"bench: no guest kernel in {guest}: run `make guest` first")
    results = {
        database: run_lab(database, options.jobs, options.devices, guest)
        for database in options.database or ["sqlite", "postgresql"]
    }
    summary = report(results)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
