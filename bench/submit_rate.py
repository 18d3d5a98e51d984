"""Job submissions per second over XML-RPC, as lavacli sends them.

``submit_rate`` is the measurement (bench/fleet.py imports it): ``scheduler.jobs.submit``
of one definition, ``count`` times, by ``threads`` clients that each keep their
connection alive. ``main`` measures it on a throw-away lab (tools/livelab.py:
gunicorn behind nginx, no scheduler, so that only the submission is timed) on
SQLite and on PostgreSQL (PG_SERVER; the database is dropped and created), as a
user with a token who is not a superuser, so every submission pays the
permission checks.

Usage: .venv/bin/python -m bench.submit_rate [--count N] [--database sqlite|postgresql|both]
The last line is one JSON object: submit_per_s_serial, submit_per_s_4threads (from
PostgreSQL when it was measured, else SQLite), and the same per database.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import sys
import tempfile
import threading
import time
import xmlrpc.client
from pathlib import Path

import requests

from bench.memory import fresh_postgresql
from tools.livelab import LiveLab

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_NAME = "lava_bench_submit"
WARM_UP = 5  # per client: connections open, the server's caches filled
BUDGET_SERIAL = 300.0

DEFINITION = """job_name: submit rate
device_type: qemu
visibility: public
priority: medium
timeouts: {job: {minutes: 5}, action: {minutes: 2}}
actions:
- deploy:
    to: tmpfs
    images:
      kernel: {url: 'file:///srv/guest/vmlinuz', image_arg: '-kernel {kernel}'}
"""

USER = """
import json
from django.contrib.auth.models import User
from lava.server.scheduler.models import AuthToken
user, _ = User.objects.get_or_create(username="submitter")
print(json.dumps(AuthToken.objects.create(user=user).secret))
"""


def _client(url: str, user: str, token: str, definition: str, count: int) -> None:
    """Submit ``definition`` ``count`` times on one kept-alive connection."""
    session = requests.Session()
    body = xmlrpc.client.dumps((definition,), "scheduler.jobs.submit", allow_none=True)
    for _ in range(count):
        answer = session.post(f"{url}RPC2", data=body, auth=(user, token), timeout=60)
        answer.raise_for_status()
        xmlrpc.client.loads(answer.content)  # a fault raises: a refused job is no submission


def submit_rate(
    url: str, user: str, token: str, definition: str, count: int, threads: int
) -> float:
    """Submissions per second: ``count`` submissions of ``definition`` shared by ``threads``
    clients (each on its own kept-alive connection), after a few untimed ones each."""
    shares = [count // threads + (n < count % threads) for n in range(threads)]
    errors: list[BaseException] = []
    start = threading.Barrier(threads + 1)

    def run(share: int) -> None:
        try:
            _client(url, user, token, definition, WARM_UP)
            start.wait(timeout=120)
            _client(url, user, token, definition, share)
        except BaseException as exc:  # reported by the caller, not lost in a thread
            errors.append(exc)
            start.abort()

    workers = [threading.Thread(target=run, args=(share,)) for share in shares]
    for worker in workers:
        worker.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a client failed: see errors
        start.wait(timeout=120)
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"submission failed: {errors[0]!r}") from errors[0]
    return count / elapsed


def measure(database: str, count: int, rounds: int) -> dict[str, float]:
    """Median serial and 4-thread rates over ``rounds`` on a new lab on ``database``."""
    work = Path(tempfile.mkdtemp(prefix="lava-bench-submit-"))
    settings = (
        {"DATABASE_URL": fresh_postgresql(f"{PG_SERVER}/{PG_NAME}")}
        if database == "postgresql"
        else {}
    )
    lab = LiveLab(work / "instance", port=0, settings=settings)
    serial, threaded = [], []
    try:
        lab.setup(say=False)
        token = lab.query(USER)
        lab.start(["web"])
        for _ in range(rounds):
            serial.append(submit_rate(lab.url, "submitter", token, DEFINITION, count, 1))
            threaded.append(submit_rate(lab.url, "submitter", token, DEFINITION, count, 4))
    finally:
        lab.stop()
        shutil.rmtree(work, ignore_errors=True)
    return {"serial": sorted(serial)[len(serial) // 2], "4threads": sorted(threaded)[rounds // 2]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=300, help="submissions per figure")
    parser.add_argument("--rounds", type=int, default=3, help="figures per median")
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    options = parser.parse_args()
    databases = ["sqlite", "postgresql"] if options.database == "both" else [options.database]
    results = {db: measure(db, options.count, options.rounds) for db in databases}
    print()
    title = f"submissions/s (median of {options.rounds})"
    print(f"{title:<34} {'serial':>8} {'4 threads':>10}")
    for db, figures in results.items():
        print(f"{db:<34} {figures['serial']:>8.1f} {figures['4threads']:>10.1f}")
    main_figures = results.get("postgresql") or results["sqlite"]
    ok = all(figures["serial"] >= BUDGET_SERIAL for figures in results.values())
    print(f"budget: serial >= {BUDGET_SERIAL:g}/s: " + ("met" if ok else "NOT MET"))
    line = {
        "submit_per_s_serial": round(main_figures["serial"], 1),
        "submit_per_s_4threads": round(main_figures["4threads"], 1),
    }
    for db, figures in results.items():
        line[f"{db}_submit_per_s_serial"] = round(figures["serial"], 1)
        line[f"{db}_submit_per_s_4threads"] = round(figures["4threads"], 1)
    print(json.dumps(line))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
