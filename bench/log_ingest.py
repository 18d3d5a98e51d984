"""Log lines through the worker API: 1,000,000 lines POSTed in 1,000-line batches, then page reads.

A throw-away instance (tools/livelab.py) serves the real worker endpoint
``POST /scheduler/internal/v1/jobs/<id>/logs/`` with gunicorn, as in
production: each batch is parsed, appended to the job's ``output.yaml`` and
its index, and its ``results`` lines become TestCase rows. One client sends
the batches one after another, as one job's worker does, each with the index
of its first line. The lines are bench/log_store.py's mix (target and info
lines, one results line in ten: far more than real jobs have). Then a
100-line page is read at line 1 and at line 999,900 through the log store,
as a log page of the web UI or API reads it (median of many reads).

Usage: .venv/bin/python -m bench.log_ingest [--lines N] [--batch N] [--reads N]
The last line is one JSON object: lines_per_s, page_first_ms, page_last_ms.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import requests

from bench.log_store import PAGE, make_batches, median_ms
from lava.server.logs.store import LogStore
from tools.livelab import LiveLab

BUDGET_LINES_PER_S = 50_000
BUDGET_PAGE_MS = 100.0
TOKEN = "b" * 32


def running_job(lab: LiveLab) -> int:
    """A Running job with a known token, for the endpoint to accept lines."""
    return int(
        lab.query(
            "import json\n"
            "from django.contrib.auth.models import User\n"
            "from lava.server.scheduler.models import DeviceType, TestJob\n"
            "from lava.server.scheduler.states import JobState\n"
            "job = TestJob.objects.create(submitter=User.objects.get(username='admin'), "
            "requested_device_type=DeviceType.objects.get(name='qemu'), "
            "definition='job_name: log bench\\ndevice_type: qemu\\n', "
            f"state=JobState.RUNNING, token={TOKEN!r})\n"
            "print(json.dumps(job.id))"
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines to send")
    parser.add_argument("--batch", type=int, default=1000, help="lines a batch (worker: 1000)")
    parser.add_argument("--reads", type=int, default=200, help="reads per page figure")
    options = parser.parse_args()
    batches = make_batches(options.lines, options.batch)
    work = Path(tempfile.mkdtemp(prefix="lava-bench-ingest-"))
    lab = LiveLab(work / "instance", port=0)
    try:
        lab.setup(say=False)
        lab.start(["web"])  # the web alone: no scheduler or worker touches the job
        job_id = running_job(lab)
        url = f"{lab.url}scheduler/internal/v1/jobs/{job_id}/logs/"
        session = requests.Session()
        headers = {"LAVA-Token": TOKEN}
        print(f"==> {options.lines:,} lines in {len(batches):,} batches to {url}", flush=True)
        index = 0
        start = time.perf_counter()
        for number, text in enumerate(batches, 1):
            answer = session.post(
                url, data={"index": index, "lines": text}, headers=headers, timeout=60
            )
            answer.raise_for_status()
            index = answer.json()["line_count"]
            if number % max(1, len(batches) // 10) == 0:
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
        first_ms = median_ms(lambda: store.read_lines(job_id, 0, PAGE), options.reads)
        last_ms = median_ms(lambda: store.read_lines(job_id, last, last + PAGE), options.reads)
    finally:
        lab.stop()
        shutil.rmtree(work, ignore_errors=True)

    rate = options.lines / seconds
    print()
    print(f"{'figure':<44} {'value':>12}  budget")
    print(f"{'lines sent over HTTP (one client)':<44} {options.lines:>12,}")
    print(f"{'batch size (lines)':<44} {options.batch:>12,}")
    print(f"{'TestCase rows derived':<44} {rows:>12,}")
    print(f"{'seconds':<44} {seconds:>12.2f}")
    print(f"{'lines/s':<44} {rate:>12,.0f}  >= {BUDGET_LINES_PER_S:,}")
    page_first = "page of 100 lines at line 1 (ms, store)"
    print(f"{page_first:<44} {first_ms:>12.3f}  < {BUDGET_PAGE_MS:g}")
    print(
        f"{f'page of 100 lines at line {last:,} (ms, store)':<44} {last_ms:>12.3f}  "
        f"< {BUDGET_PAGE_MS:g}"
    )
    ok = rate >= BUDGET_LINES_PER_S and max(first_ms, last_ms) < BUDGET_PAGE_MS
    print("within budget" if ok else "OVER BUDGET")
    print(
        json.dumps(
            {
                "lines_per_s": round(rate),
                "page_first_ms": round(first_ms, 3),
                "page_last_ms": round(last_ms, 3),
                "batch_lines": options.batch,
                "testcase_rows": rows,
            }
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
