"""Log lines through the worker API: 1,000,000 lines POSTed in 1,000-line batches, then page reads.

A throw-away instance (tools/livelab.py) serves the real worker endpoint
``POST /scheduler/internal/v1/jobs/<id>/logs/`` with gunicorn behind nginx,
as in production: each batch is parsed, appended to the job's ``output.yaml``
and its index, and its ``results`` lines become TestCase rows. One client
sends the batches one after another, as one job's worker does, each with the
index of its first line, as the worker's JSON body (``lava.worker.client.
log_batch``, encoded before the clock starts: the figure is the server's).
The lines are bench/log_store.py's mix (target and info lines, one results
line in ten: far more than real jobs have). Then a 100-line page is read at
line 1 and at line 999,900 through the log store, and over HTTP from the REST
API (``/api/v0.2/jobs/<id>/logs/``, what a script or a log page asks for),
median of many reads.

The whole run is made on SQLite, then on PostgreSQL (PG_URL or --pg-url;
that database is dropped and created).

Usage: .venv/bin/python -m bench.log_ingest [--lines N] [--batch N] [--reads N]
       [--database sqlite|postgresql|both] [--pg-url URL]
The last line is one JSON object: lines_per_s, page_first_ms, page_last_ms
(store), http_page_first_ms, http_page_last_ms on SQLite; the same keys
ending in _postgresql; batch_lines, testcase_rows.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from bench.log_store import PAGE, make_batches, median_ms
from lava.server.logs.store import LogStore
from lava.worker.client import log_batch
from tests.support.databases import fresh_postgresql
from tools.livelab import LiveLab

BUDGET_LINES_PER_S = 100_000
BUDGET_PAGE_MS = 100.0
BUDGET_HTTP_PAGE_MS = 20.0
HTTP_WARM_UP = 20
TOKEN = "b" * 32
PG_URL = "postgresql://postgres@127.0.0.1:5432/lava_bench_log_ingest"
DATABASES = ("sqlite", "postgresql")


def running_job(lab: LiveLab) -> dict[str, Any]:
    """A Running job with a known token, for the endpoint to accept lines; an API token."""
    return lab.query(
        "import json\n"
        "from django.contrib.auth.models import User\n"
        "from lava.server.scheduler.models import AuthToken, DeviceType, TestJob\n"
        "from lava.server.scheduler.states import JobState\n"
        "admin = User.objects.get(username='admin')\n"
        "job = TestJob.objects.create(submitter=admin, "
        "requested_device_type=DeviceType.objects.get(name='qemu'), "
        "definition='job_name: log bench\\ndevice_type: qemu\\n', "
        f"state=JobState.RUNNING, token={TOKEN!r})\n"
        "print(json.dumps({'job': job.id, 'api': AuthToken.objects.create(user=admin).secret}))"
    )


def http_median_ms(call: Callable[[], None], reads: int) -> float:
    for _ in range(HTTP_WARM_UP):
        call()
    return median_ms(call, reads)


def measure(
    database: str, settings: dict[str, str], batches: list[str], options: argparse.Namespace
) -> dict[str, float]:
    """Send the batches to a fresh lab on ``database``, check what it stored, time the reads."""
    work = Path(tempfile.mkdtemp(prefix="lava-bench-ingest-"))
    lab = LiveLab(work / "instance", port=0, settings=settings)
    try:
        lab.setup(say=False)
        lab.start(["web"])  # the web alone: no scheduler or worker touches the job
        made = running_job(lab)
        job_id = made["job"]
        url = f"{lab.url}scheduler/internal/v1/jobs/{job_id}/logs/"
        session = requests.Session()
        headers = {"LAVA-Token": TOKEN, "Content-Type": "application/json"}
        bodies = []
        index = 0
        for text in batches:  # the worker's body (Client.send_logs), off the clock
            bodies.append(log_batch(index, text))
            index += text.count("\n")
        print(f"==> {database}: {options.lines:,} lines in {len(batches):,} batches to {url}")
        index = 0
        start = time.perf_counter()
        for number, body in enumerate(bodies, 1):
            answer = session.post(url, data=body, headers=headers, timeout=60)
            answer.raise_for_status()
            index = answer.json()["line_count"]
            if number % max(1, len(bodies) // 10) == 0:
                done = time.perf_counter() - start
                print(f"    {index:>9,} lines  {index / done:>9,.0f} lines/s", flush=True)
        seconds = time.perf_counter() - start
        rows = lab.query(
            "import json\nfrom lava.server.results.models import TestCase\n"
            f"print(json.dumps(TestCase.objects.filter(suite__job_id={job_id}).count()))"
        )
        store = LogStore(lab.instance / "jobs")
        stored = store.count(job_id)
        on_disk = sum(1 for _ in lab.log_path(job_id).open("rb"))
        if not index == stored == on_disk == options.lines:
            raise SystemExit(
                f"bench: sent {options.lines} lines; the server says {index}, "
                f"its index {stored}, its file {on_disk}"
            )
        results_lines = sum(text.count('"lvl": "results"') for text in batches)
        if rows != results_lines:
            raise SystemExit(f"bench: {results_lines} results lines but {rows} TestCase rows")
        last = max(0, options.lines - PAGE)
        figures = {
            "lines_per_s": options.lines / seconds,
            "seconds": seconds,
            "testcase_rows": rows,
            "page_first_ms": median_ms(lambda: store.read_lines(job_id, 0, PAGE), options.reads),
            "page_last_ms": median_ms(
                lambda: store.read_lines(job_id, last, last + PAGE), options.reads
            ),
        }
        api = {"Authorization": f"Token {made['api']}"}
        logs_url = f"{lab.url}api/v0.2/jobs/{job_id}/logs/"

        def page(first: int) -> Callable[[], None]:
            def read() -> None:
                params = {"start": first, "end": first + PAGE}
                answer = session.get(logs_url, params=params, headers=api, timeout=30)
                answer.raise_for_status()
                if answer.content.count(b"\n") != min(PAGE, options.lines):
                    raise SystemExit(f"bench: {logs_url}?start={first} did not give {PAGE} lines")

            return read

        figures["http_page_first_ms"] = http_median_ms(page(0), options.reads)
        figures["http_page_last_ms"] = http_median_ms(page(last), options.reads)
        return figures
    finally:
        lab.stop()
        shutil.rmtree(work, ignore_errors=True)


def report(database: str, figures: dict[str, float], last: int) -> bool:
    """Print one database's figures against their budgets; whether all are within."""
    rate = figures["lines_per_s"]
    pages = [
        ("page of 100 lines at line 1 (ms, store)", figures["page_first_ms"], BUDGET_PAGE_MS),
        (
            f"page of 100 lines at line {last:,} (ms, store)",
            figures["page_last_ms"],
            BUDGET_PAGE_MS,
        ),
        ("page at line 1 (ms, REST over HTTP)", figures["http_page_first_ms"], BUDGET_HTTP_PAGE_MS),
        (
            f"page at line {last:,} (ms, REST over HTTP)",
            figures["http_page_last_ms"],
            BUDGET_HTTP_PAGE_MS,
        ),
    ]
    print(f"{database}:")
    print(f"  {'TestCase rows derived':<46} {figures['testcase_rows']:>12,}")
    print(f"  {'seconds':<46} {figures['seconds']:>12.2f}")
    print(f"  {'lines/s':<46} {rate:>12,.0f}  >= {BUDGET_LINES_PER_S:,}")
    for name, value, budget in pages:
        print(f"  {name:<46} {value:>12.3f}  < {budget:g}")
    return rate >= BUDGET_LINES_PER_S and all(value < budget for _, value, budget in pages)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines to send")
    parser.add_argument("--batch", type=int, default=1000, help="lines a batch (worker: 1000)")
    parser.add_argument("--reads", type=int, default=200, help="reads per page figure")
    parser.add_argument("--database", choices=[*DATABASES, "both"], default="both")
    parser.add_argument("--pg-url", default=os.environ.get("PG_URL", PG_URL))
    options = parser.parse_args()
    batches = make_batches(options.lines, options.batch)
    started = time.perf_counter()
    for text in batches[:10]:
        log_batch(0, text)
    encode_ms = (time.perf_counter() - started) * 1000 / min(10, len(batches))
    wanted = DATABASES if options.database == "both" else (options.database,)
    results = {}
    for database in wanted:
        settings = {}
        if database == "postgresql":
            server, name = options.pg_url.rsplit("/", 1)
            settings = {"DATABASE_URL": fresh_postgresql(server, name)}
        results[database] = measure(database, settings, batches, options)

    last = max(0, options.lines - PAGE)
    print()
    print(f"{options.lines:,} lines sent over HTTP (one client), {options.batch:,} lines a batch")
    print(f"(the worker's JSON encoding, not timed: {encode_ms:.1f} ms a batch on the client)")
    ok = all([report(database, figures, last) for database, figures in results.items()])
    print("within budget" if ok else "OVER BUDGET")
    out: dict[str, Any] = {}
    for database, figures in results.items():
        suffix = "" if database == "sqlite" else f"_{database}"
        out[f"lines_per_s{suffix}"] = round(figures["lines_per_s"])
        for key in ("page_first_ms", "page_last_ms", "http_page_first_ms", "http_page_last_ms"):
            out[f"{key}{suffix}"] = round(figures[key], 3)
    out["batch_lines"] = options.batch
    out["testcase_rows"] = next(iter(results.values()))["testcase_rows"]  # checked: the same
    print(json.dumps(out))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
