"""Web page times at 1,000,000 jobs: job lists, the job page, a million-line log, device, home.

A lab (tools/livelab.py: gunicorn behind its nginx front) on PostgreSQL at
PG_SERVER, in a database of its own named after the job count. It is seeded
with plain SQL (INSERT ... SELECT over generate_series, after ``migrate``):
N jobs over a year, a tenth private to their submitter, on five device types
and forty devices, from twenty submitters, most finished (complete,
incomplete, canceled), the newest queued or running, some tagged; results
for a tenth of them; a health history per device. One job holds a
1,000,000-line log written through the log store in big chunks, with action
start/end lines, errors and result lines (and their result rows).

Pages are fetched one at a time with keep-alive by an ordinary signed-in user
(not staff: every page pays the visibility rules). Each figure is the median
wall time of 50 requests after 5 warm-up ones, on loopback through the front.
Then Chromium (headless) opens the big log's job page and the time from
navigation to its first log lines on screen is taken (median of 5).

Beside each wall time, the CPU the web's processes and the database's
backends spent per request: on a shared machine the wall time grows with
everyone else's load, the CPU time hardly.

Seeding a million jobs takes minutes: ``--keep`` keeps the database and the
instance directory (with the log) and reuses them when they are there
(``migrate`` still runs, so new indexes are added to the seeded data);
without it both are removed at the end. ``--jobs 20000`` is a quick check.
``--queries`` lists each page's slowest SQL (in-process, Django's test
client); ``--page PATH`` times more pages (shown, not in the JSON).

Usage: .venv/bin/python -m bench.web [--jobs N] [--keep] [--calls N] [--queries]
       [--page PATH]... [--no-browser]
The last line is one JSON object: jobs_list_ms, jobs_filtered_ms, jobs_deep_ms,
job_page_ms, log_page_ms, device_page_ms, home_ms, log_first_paint_ms.
"""

from __future__ import annotations

import argparse
import base64
import datetime
import html
import json
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain, count, islice
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import psycopg
import requests
from psycopg import sql

from lava.server.logs.store import LogStore
from tools.livelab import LiveLab

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
# Bump when the seed changes: a kept database seeded otherwise is seeded again.
SEED_VERSION = 3
WARM_UP = 5
PAGE_BUDGET_MS, PAINT_BUDGET_MS = 50.0, 1000.0
LOG_LINES = 1_000_000
LOG_CHUNK = 50_000  # lines per LogStore.append: a worker's big batch
LOG_PAGE_START, LOG_PAGE_COUNT = 999_500, 500
READER, READER_PASSWORD = "reader", "reader-bench-password"
BROWSER_RUNS = 5
LIST = "scheduler/alljobs"

DEVICE_TYPES = ("qemu", "bbb", "juno-r2", "rpi4", "x86")
DEVICES_PER_TYPE = 8
SUBMITTERS = 20
TAGS = ("usb", "hdmi", "sata", "big-ram", "ethernet", "audio")
WORKERS = 4

# Small objects through the ORM (users need hashed passwords); jobs come after, in SQL.
SETUP = """
import json
from django.contrib.auth.models import User
from lava.server.scheduler.models import Device, DeviceType, Tag, Worker
from lava.server.scheduler.states import DeviceHealth, WorkerState
reader, _ = User.objects.get_or_create(username=READER)
reader.set_password(PASSWORD); reader.save()
users = [User.objects.get_or_create(username=f"tester{n}")[0].pk for n in range(SUBMITTERS)]
workers = [Worker.objects.get_or_create(hostname=f"bench-worker-{n}")[0]
           for n in range(WORKERS)]
Worker.objects.filter(hostname__startswith="bench-worker-").update(state=WorkerState.ONLINE)
devices = []
for t, name in enumerate(TYPES):
    device_type, _ = DeviceType.objects.get_or_create(name=name)
    for n in range(PER_TYPE):
        hostname = f"{name}-{n + 1:02d}"
        Device.objects.get_or_create(hostname=hostname, defaults=dict(
            device_type=device_type, worker_host=workers[(t + n) % len(workers)],
            health=DeviceHealth.BAD if n == 5 else DeviceHealth.GOOD))
        devices.append([hostname, name])
tags = [Tag.objects.get_or_create(name=name)[0].pk for name in TAGS]
print(json.dumps({"reader": reader.pk, "users": users, "devices": devices, "tags": tags}))
"""

DEFINITION = (
    "job_name: ' || {name} || '\n"
    "device_type: ' || {device_type} || '\n"
    "visibility: ' || (CASE WHEN {private} THEN 'personal' ELSE 'public' END) || '\n"
    "priority: medium\n"
    "timeouts:\n  job: {{minutes: 30}}\n  action: {{minutes: 5}}\n"
    "actions:\n"
    "- deploy:\n    to: tmpfs\n    images:\n"
    "      kernel: {{url: ''https://images.example.com/vmlinuz'', image_arg: ''-kernel {{kernel}}''}}\n"  # noqa: E501
    "- boot:\n    method: qemu\n    media: tmpfs\n    prompts: [''root@lava-guest:~#'']\n"
    "- test:\n    definitions:\n"
    "    - {{from: git, repository: ''https://git.example.com/tests.git'', "
    "path: smoke.yaml, name: smoke}}\n"
)

JOB_NAME = "(ARRAY['lt-smoke', 'kselftest', 'ltp-syscalls', 'boot', 'baseline'])[1 + g %% 5]"
# One row per job: r1..r4 are the job's random draws, t its submit time (ids follow time).
JOBS_SQL = """
INSERT INTO scheduler_testjob (
    id, sub_id, target_group, submitter_id, visibility, is_public, description, health_check,
    requested_device_type_id, requested_device_id, requested_worker_id, actual_device_id,
    submit_time, start_time, end_time, state, health, priority, definition,
    original_definition, multinode_definition, metadata, warnings, queue_timeout,
    failure_comment, error_type, token)
SELECT
    g, '', NULL,
    CASE WHEN r3 < 0.05 THEN %(reader)s ELSE (%(users)s::int[])[1 + (g * 7 + 3) %% %(nusers)s] END,
    CASE WHEN g %% 10 = 0 THEN 1 ELSE 0 END,
    g %% 10 <> 0,
    (CASE WHEN g %% 20 = 7 THEN 'health-check' ELSE JOB_NAME END) || ' on ' || dev,
    g %% 20 = 7,
    typ, NULL, NULL,
    CASE WHEN st IN (0, 1) THEN NULL ELSE dev END,
    t,
    CASE WHEN st IN (0, 1) THEN NULL ELSE t + r1 * interval '10 minutes' END,
    CASE WHEN st = 5 THEN t + r1 * interval '10 minutes' + (1 + r2 * 59) * interval '1 minute'
         ELSE NULL END,
    st,
    CASE WHEN st <> 5 THEN 0 WHEN r4 < 0.78 THEN 1 WHEN r4 < 0.92 THEN 2 ELSE 3 END,
    CASE WHEN r3 > 0.9 THEN 100 WHEN r3 > 0.8 THEN 0 ELSE 50 END,
    'DEFINITION',
    '', '', '{}'::jsonb, '[]'::jsonb, NULL,
    CASE WHEN st = 5 AND r4 >= 0.78 AND r4 < 0.92
         THEN 'auto-login-action timed out after 181 seconds' ELSE NULL END,
    CASE WHEN st = 5 AND r4 >= 0.78 AND r4 < 0.92
         THEN (ARRAY['Infrastructure', 'Job', 'Test', 'Bug'])[1 + g %% 4] ELSE '' END,
    ''
FROM (
    SELECT g, r1, r2, r3, r4,
        (%(devices)s::text[])[1 + floor(r2 * %(ndevices)s)::int] AS dev,
        (%(types)s::text[])[1 + floor(r2 * %(ndevices)s)::int] AS typ,
        %(now)s::timestamptz - (%(total)s::int - g) * interval '31 seconds'
            - r1 * interval '20 seconds' AS t,
        CASE WHEN g <= %(total)s::int - 300 THEN 5
             WHEN g <= %(total)s::int - 260 THEN (ARRAY[3, 3, 3, 4])[1 + g %% 4]
             ELSE (ARRAY[0, 0, 0, 1, 2])[1 + g %% 5] END AS st
    FROM (
        SELECT g, random() AS r1, random() AS r2, random() AS r3, random() AS r4
        FROM generate_series(%(first)s::int, %(last)s::int) AS g
    ) AS draws
) AS jobs
"""

TAGS_SQL = """
INSERT INTO scheduler_testjob_tags (testjob_id, tag_id)
SELECT g, (%(tags)s::int[])[1 + (g / 7) %% %(ntags)s]
FROM generate_series(7, %(total)s::int, 7) AS g
"""

# Results for every tenth job that finished: LAVA's suite and a test definition's suite.
SUITES_SQL = """
INSERT INTO results_testsuite (job_id, name)
SELECT j.id, s.name FROM scheduler_testjob j, (VALUES ('lava'), ('0_smoke')) AS s(name)
WHERE j.id %% 10 = 3 AND j.state = 5 AND j.id <> %(log_job)s
"""
CASES_SQL = """
INSERT INTO results_testcase (name, units, result, measurement, metadata, suite_id,
    test_set_id, start_log_line, end_log_line, logged, log_line)
SELECT c.name, c.units,
    CASE WHEN c.name = 'job' THEN (CASE j.health WHEN 1 THEN 0 ELSE 1 END)
         WHEN (s.id + c.n) %% 17 = 0 THEN 1 ELSE 0 END,
    CASE WHEN c.units = '' THEN NULL ELSE ((s.id * 7 + c.n) %% 1000) / 10.0 END,
    NULL, s.id, NULL, NULL, NULL, coalesce(j.end_time, j.submit_time), c.n
FROM results_testsuite s JOIN scheduler_testjob j ON j.id = s.job_id
JOIN (VALUES ('lava', 'validate', '', 1), ('lava', 'auto-login-action', '', 2),
             ('lava', 'job', '', 3), ('0_smoke', 'uname', '', 4),
             ('0_smoke', 'network', '', 5), ('0_smoke', 'boot-time', 'seconds', 6),
             ('0_smoke', 'disk-speed', 'MB/s', 7)) AS c(suite, name, units, n)
  ON c.suite = s.name
WHERE j.id <> %(log_job)s
"""
HISTORY_SQL = """
INSERT INTO scheduler_healthchange (kind, name, time, old, new, reason)
SELECT 'device', d.hostname, %(now)s::timestamptz - g * interval '7 days',
    CASE WHEN g %% 2 = 0 THEN 'Good' ELSE 'Bad' END,
    CASE WHEN g %% 2 = 0 THEN 'Bad' ELSE 'Good' END,
    CASE WHEN g %% 2 = 0 THEN 'health check failed (by lava-health)'
         ELSE 'health check passed (by lava-health)' END
FROM scheduler_device d, generate_series(1, 50) AS g
"""


@dataclass
class Seeded:
    """What the measuring needs to know of the seed."""

    jobs: int
    log_job: int
    device: str
    device_type: str

    def as_json(self) -> str:
        return json.dumps(self.__dict__)


def database_name(jobs: int) -> str:
    return f"lava_bench_web_{jobs}"


def instance_dir(jobs: int) -> Path:
    # short: gunicorn's unix socket lives inside it (108 bytes of sun_path)
    return Path(tempfile.gettempdir()) / f"lava-bench-web-{jobs}"


def server_connection() -> psycopg.Connection:
    return psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True, connect_timeout=5)


def kept_seed(jobs: int) -> Seeded | None:
    """The seed of a kept database and instance for ``jobs``, if both are whole."""
    with server_connection() as conn:
        found = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database_name(jobs),)
        ).fetchone()
    if not found or not (instance_dir(jobs) / "settings.yaml").exists():
        return None
    with psycopg.connect(f"{PG_SERVER}/{database_name(jobs)}", autocommit=True) as conn:
        try:
            row = conn.execute("SELECT version, seed FROM bench_web_seed").fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    if row is None or row[0] != SEED_VERSION:
        return None
    seeded = Seeded(**json.loads(row[1]))
    if LogStore(instance_dir(jobs) / "jobs").count(seeded.log_job) != LOG_LINES:
        return None
    return seeded


def fresh_database(jobs: int) -> str:
    name = sql.Identifier(database_name(jobs))
    with server_connection() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
    return f"{PG_SERVER}/{database_name(jobs)}"


def step(what: str) -> Callable[[], None]:
    """Print what is being done; the returned call prints how long it took."""
    print(f"==> {what}", end="", flush=True)
    started = time.perf_counter()
    return lambda: print(f" ({time.perf_counter() - started:.1f} s)", flush=True)


def seed(lab: LiveLab, url: str, jobs: int) -> Seeded:
    """Fill the migrated database: small objects by the ORM, the rest in SQL; write the log."""
    done = step("users, device types, devices, tags")
    setup = (
        SETUP.replace("READER", repr(READER))
        .replace("PASSWORD", repr(READER_PASSWORD))
        .replace("SUBMITTERS", str(SUBMITTERS))
        .replace("WORKERS", str(WORKERS))
        .replace("TYPES", repr(DEVICE_TYPES))
        .replace("PER_TYPE", str(DEVICES_PER_TYPE))
        .replace("TAGS", repr(TAGS))
    )
    made = lab.query(setup)
    done()
    now = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    devices = [hostname for hostname, _ in made["devices"]]
    types = [device_type for _, device_type in made["devices"]]
    log_job = jobs - 500  # finished; made public and incomplete below
    params = {
        "reader": made["reader"],
        "users": made["users"],
        "nusers": len(made["users"]),
        "devices": devices,
        "types": types,
        "ndevices": len(devices),
        "now": now,
        "total": jobs,
        "tags": made["tags"],
        "ntags": len(made["tags"]),
        "log_job": log_job,
    }
    definition = DEFINITION.format(name=JOB_NAME, device_type="typ", private="g %% 10 = 0")
    jobs_sql = JOBS_SQL.replace("JOB_NAME", JOB_NAME).replace(
        "'DEFINITION'", "'" + definition + "'"
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT setseed(0.42)")
        done = step(f"{jobs:,} jobs")
        batch = 200_000
        for first in range(1, jobs + 1, batch):
            last = min(first + batch - 1, jobs)
            conn.execute(jobs_sql, params | {"first": first, "last": last})
            print(".", end="", flush=True)
        conn.execute(
            "SELECT setval(pg_get_serial_sequence('scheduler_testjob', 'id'), %s)", (jobs,)
        )
        done()
        done = step("tags, results, health history")
        conn.execute(TAGS_SQL, params)
        conn.execute(SUITES_SQL, params)
        conn.execute(CASES_SQL, params)
        conn.execute(HISTORY_SQL, params)
        done()
        row = conn.execute(
            "SELECT j.actual_device_id, d.device_type_id FROM scheduler_testjob j "
            "JOIN scheduler_device d ON d.hostname = j.actual_device_id WHERE j.id = %s",
            (log_job,),
        ).fetchone()
        seeded = Seeded(jobs, log_job, row[0], row[1])
        done = step(f"a {LOG_LINES:,}-line log for job {log_job}")
        results = write_log(lab, log_job, now)
        conn.execute(
            "UPDATE scheduler_testjob SET state = 5, health = 2, visibility = 0, is_public = true, "
            "failure_comment = 'a test case failed: see the log', error_type = 'Test' "
            "WHERE id = %s",
            (log_job,),
        )
        store_results(conn, log_job, results, now)
        done()
        done = step("VACUUM ANALYZE (as autovacuum would after a bulk load)")
        conn.execute("VACUUM ANALYZE")
        done()
        conn.execute("CREATE TABLE bench_web_seed (version int, seed text)")
        conn.execute("INSERT INTO bench_web_seed VALUES (%s, %s)", (SEED_VERSION, seeded.as_json()))
    return seeded


def log_lines() -> Iterator[tuple[str, object]]:
    """A long job's log as (level, message), exactly LOG_LINES of them.

    Top-level actions of ~100,000 lines, each with nested actions of ~100
    lines of target output; a result line every 50 lines; now and then a
    warning or an error. Ends with the final ``job`` result.
    """
    head = [
        ("info", "lava-dispatcher, installed at version: 2026.05"),
        ("info", "start: 0 validate"),
        ("info", "validate duration: 0.04"),
    ]
    tail = [
        ("info", "end: 11 test-shell-retry (duration 00:59:00) [common]"),
        ("error", "lava-test-shell: a test case failed"),
        ("results", {"definition": "lava", "case": "job", "result": "fail"}),
    ]
    return chain(head, islice(_actions(), LOG_LINES - len(head) - len(tail)), tail)


def _actions() -> Iterator[tuple[str, object]]:
    for top in count(1):
        yield "info", f"start: {top} test-shell-retry (timeout 02:00:00) [common]"
        for sub in range(1, 1000):
            name = f"{top}.{sub} lava-test-shell"
            yield "debug", f"start: {name} (timeout 00:10:00) [common]"
            yield "input", "lava-test-shell /lava-1/0/tests/0_smoke/run.sh\n"
            for n in range(94):
                if n % 50 == 49:
                    case = f"case-{top}-{sub}-{n}"
                    result = "fail" if (sub + n) % 97 == 0 else "pass"
                    yield "results", {"definition": "0_smoke", "case": case, "result": result}
                elif n % 31 == 30 and sub % 40 == 0:
                    yield "error", f"command 'dd if=/dev/zero of=/tmp/x' failed with status {n}"
                elif n % 29 == 28:
                    yield "warning", "the device is slow to answer: retrying"
                else:
                    yield "target", f"smoke step {n}: ok (loop {sub}, section {top})"
            yield "debug", f"end: {name} (duration 00:00:01) [common]"
        yield "info", f"end: {top} test-shell-retry (duration 01:00:00) [common]"


def write_log(lab: LiveLab, job_id: int, now: datetime.datetime) -> list[tuple[int, dict]]:
    """Write the big log through the log store in big chunks; its result lines (index, msg)."""
    root = lab.query(
        "import json\nfrom django.conf import settings\n"
        "print(json.dumps(str(settings.LAVA.job_output_dir)))"
    )
    store = LogStore(root)
    store.remove(job_id)
    start = now - datetime.timedelta(hours=10)
    chunk: list[str] = []
    results: list[tuple[int, dict]] = []
    stored = 0
    for index, (level, msg) in enumerate(log_lines()):
        dt = (start + datetime.timedelta(milliseconds=30 * index)).isoformat()
        if isinstance(msg, dict):
            results.append((index, msg))
        record = {"dt": dt, "lvl": level, "msg": msg}
        chunk.append("- " + json.dumps(record, separators=(", ", ": ")) + "\n")
        if len(chunk) == LOG_CHUNK:
            stored = store.append(job_id, stored, "".join(chunk))
            chunk = []
    if chunk:
        stored = store.append(job_id, stored, "".join(chunk))
    if stored != LOG_LINES:
        raise RuntimeError(f"the log has {stored} lines, not {LOG_LINES}")
    return results


def store_results(
    conn: psycopg.Connection, job_id: int, results: list[tuple[int, dict]], now: datetime.datetime
) -> None:
    """The big log's result rows, as the server stores them from its result lines."""
    suites = {
        name: conn.execute(
            "INSERT INTO results_testsuite (job_id, name) VALUES (%s, %s) RETURNING id",
            (job_id, name),
        ).fetchone()[0]
        for name in sorted({msg["definition"] for _, msg in results})
    }
    with (
        conn.cursor() as cursor,
        cursor.copy(
            "COPY results_testcase (name, units, result, suite_id, logged, log_line, metadata) "
            "FROM STDIN"
        ) as copy,
    ):
        for index, msg in results:
            result = 0 if msg["result"] == "pass" else 1
            copy.write_row((msg["case"], "", result, suites[msg["definition"]], now, index, None))


# -- measuring


class Client:
    """One signed-in browser-like client: a session with keep-alive, through the front."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = requests.Session()

    def sign_in(self, lab: LiveLab) -> str:
        """Sign in at /accounts/login/; else make a session with Django's engine. How."""
        login = urljoin(self.base, "accounts/login/")
        page = self.session.get(login, timeout=30)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
        if page.status_code == 200 and token:
            answer = self.session.post(
                login,
                data={
                    "csrfmiddlewaretoken": token.group(1),
                    "username": READER,
                    "password": READER_PASSWORD,
                    "next": "/",
                },
                headers={"Referer": login},
                allow_redirects=False,
                timeout=30,
            )
            if answer.status_code == 302:
                return "/accounts/login/"
        made = lab.query(
            "import json\nfrom django.conf import settings\n"
            "from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, "
            "SESSION_KEY\n"
            "from django.contrib.auth.models import User\n"
            "from importlib import import_module\n"
            f"user = User.objects.get(username={READER!r})\n"
            "store = import_module(settings.SESSION_ENGINE).SessionStore()\n"
            "store[SESSION_KEY] = str(user.pk)\n"
            "store[BACKEND_SESSION_KEY] = 'django.contrib.auth.backends.ModelBackend'\n"
            "store[HASH_SESSION_KEY] = user.get_session_auth_hash()\n"
            "store.create()\n"
            "print(json.dumps([settings.SESSION_COOKIE_NAME, store.session_key]))"
        )
        self.session.cookies.set(made[0], made[1], domain="127.0.0.1", path="/")
        return "a session made by Django's session engine"

    def get(self, path: str) -> requests.Response:
        answer = self.session.get(urljoin(self.base, path), timeout=60, allow_redirects=False)
        return answer

    def timed(
        self, path: str, calls: int, cpu: Callable[[], float] | None = None
    ) -> tuple[list[float], int, int, float | None]:
        """Wall times (ms) of ``calls`` GETs after the warm-up; the status and size seen;
        the server's mean CPU ms per request (when ``cpu`` reads it)."""
        for _ in range(WARM_UP):
            answer = self.get(path)
        times = []
        spent = cpu() if cpu else 0.0
        for _ in range(calls):
            started = time.perf_counter()
            answer = self.get(path)
            times.append((time.perf_counter() - started) * 1000)
        per_call = (cpu() - spent) / calls if cpu else None
        return times, answer.status_code, len(answer.content), per_call


TICK_MS = 1000 / os.sysconf("SC_CLK_TCK")


class ServerCpu:
    """CPU time the lab's web (gunicorn's processes) and its database backends spend.

    Wall times on a shared machine grow with everyone else's load; the CPU the
    server itself spends per request does not, so it is shown beside them.
    """

    def __init__(self, lab: LiveLab, url: str) -> None:
        self.group = lab.running("web")
        self.url = url

    def _pids(self) -> list[int]:
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[2]) == self.group:  # its process group: gunicorn and workers
                    pids.append(int(entry))
        with psycopg.connect(self.url, autocommit=True) as conn:
            rows = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ).fetchall()
        return pids + [row[0] for row in rows]

    def __call__(self) -> float:
        """The CPU ms spent so far by the web's processes and the database's backends."""
        total = 0
        for pid in self._pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime + stime
        return total * TICK_MS


NEXT_LINK = re.compile(r"<a\b[^>]*\brel=\"next\"[^>]*>|<link\b[^>]*\brel=\"next\"[^>]*>", re.I)
HREF = re.compile(r"\bhref=\"([^\"]+)\"")


def next_page(page: str) -> str | None:
    """The href of the page's rel="next" link (the keyset cursor to the next page)."""
    found = NEXT_LINK.search(page)
    if not found:
        return None
    href = HREF.search(found.group(0))
    return html.unescape(href.group(1)) if href else None


def deep_page(client: Client, seeded: Seeded) -> str | None:
    """A job list page nine tenths of the way down, reached by its keyset cursor.

    The first page's Next link carries the cursor (``after=``: base64 of the
    JSON ``[sort, value, id]``, web/tables.py); the same cursor naming a job id
    far down gives the deep page without walking thousands of pages. None when
    the list has no Next link.
    """
    first = client.get(LIST)
    link = next_page(first.text) if first.status_code == 200 else None
    if link is None:
        return None
    url = urlsplit(urljoin(urljoin(client.base, LIST), link))
    query = parse_qs(url.query)
    deep_id = max(seeded.jobs // 10, 2)
    try:
        token, value, pk = json.loads(base64.urlsafe_b64decode(query["after"][0] + "=="))
    except (KeyError, ValueError, TypeError):
        return url.path.lstrip("/") + "?" + url.query  # a cursor of another shape: page 2
    if value == pk:
        value = deep_id
    cursor = json.dumps([token, value, deep_id], separators=(",", ":"))
    query["after"] = [base64.urlsafe_b64encode(cursor.encode()).decode().rstrip("=")]
    return url.path.lstrip("/") + "?" + urlencode(query, doseq=True)


@dataclass
class Figure:
    key: str | None  # the JSON key; None for an extra page
    label: str
    path: str | None
    times: list[float]
    status: int | None = None
    size: int = 0
    cpu: float | None = None  # the server's CPU ms per request (web + database)

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None

    @property
    def p95(self) -> float | None:
        if len(self.times) < 2:
            return self.median
        return statistics.quantiles(self.times, n=20)[-1]


def measure_pages(
    client: Client,
    seeded: Seeded,
    calls: int,
    extra: list[str] = (),
    cpu: Callable[[], float] | None = None,
) -> list[Figure]:
    deep = deep_page(client, seeded)
    pages = [
        ("jobs_list_ms", "job list, first page", LIST),
        (
            "jobs_filtered_ms",
            "job list, filtered",
            f"scheduler/alljobs?device_type={seeded.device_type}&health=Incomplete",
        ),
        ("jobs_deep_ms", "job list, deep page (keyset)", deep),
        ("job_page_ms", "job page (1,000,000-line log)", f"scheduler/job/{seeded.log_job}"),
        (
            "log_page_ms",
            f"log, {LOG_PAGE_COUNT} lines at {LOG_PAGE_START:,}",
            f"scheduler/job/{seeded.log_job}/log_lines?start={LOG_PAGE_START}"
            f"&count={LOG_PAGE_COUNT}",
        ),
        ("device_page_ms", "device page", f"scheduler/device/{seeded.device}"),
        ("home_ms", "home page", ""),
        *((None, f"(extra) {path[:32]}", path.lstrip("/")) for path in extra),
    ]
    figures = []
    for key, label, path in pages:
        if path is None:
            figures.append(Figure(key, label, path, []))
            continue
        times, status, size, cpu_ms = client.timed(path, calls, cpu)
        if status != 200:  # a page not built yet: no figure
            figures.append(Figure(key, label, path, [], status, size))
            continue
        figures.append(Figure(key, label, path, times, status, size, cpu_ms))
    return figures


# In the server's Django: each page through the test client, with its SQL timed.
PROFILE = """
import json, time
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
client = Client(HTTP_HOST="127.0.0.1")
client.force_login(User.objects.get(username=READER))
found = {}
for path in PATHS:
    client.get(path)
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        answer = client.get(path)
        took = (time.perf_counter() - started) * 1000
    spent = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))
    found[path] = {"status": answer.status_code, "ms": took, "queries": len(spent),
                   "sql_ms": sum(float(q["time"]) for q in spent) * 1000,
                   "slowest": [[float(q["time"]) * 1000, q["sql"]] for q in spent[:SLOWEST]]}
print(json.dumps(found))
"""


def profile_pages(lab: LiveLab, figures: list[Figure], slowest: int = 3) -> None:
    """Print each page's query count, its SQL time and its slowest queries (in-process)."""
    paths = ["/" + f.path for f in figures if f.path is not None and f.key != "log_first_paint_ms"]
    code = (
        PROFILE.replace("READER", repr(READER))
        .replace("PATHS", repr(paths))
        .replace("SLOWEST", str(slowest))
    )
    found = lab.query(code)
    print()
    print("queries per page (in-process, one request after one warm-up):")
    for path, seen in found.items():
        print(
            f"  {path}: HTTP {seen['status']}, {seen['ms']:.1f} ms, {seen['queries']} queries, "
            f"{seen['sql_ms']:.1f} ms in SQL"
        )
        for took, text in seen["slowest"]:
            print(f"    {took:7.1f} ms  {text[:2000]}")


FIRST_LINES = """() => {
    const line = document.querySelector(SELECTOR);
    if (!line) return null;
    const box = line.getBoundingClientRect();
    return box.height > 0 && box.bottom > 0 && box.top < innerHeight ? performance.now() : null;
}"""
# a row of the log viewer (web/static/web/log.js) once its line has come: it has a level
LOG_LINE_SELECTOR = "#log-viewer .log-line[class*='lvl-']"


def measure_first_paint(lab: LiveLab, client: Client, seeded: Seeded) -> Figure:
    """Chromium: ms from navigation start to the first log line on screen (median of runs)."""
    from playwright.sync_api import Error, sync_playwright

    path = f"scheduler/job/{seeded.log_job}"
    figure = Figure("log_first_paint_ms", "browser: first log lines visible", path, [])
    cookies = [{"name": c.name, "value": c.value, "url": lab.url} for c in client.session.cookies]
    script = FIRST_LINES.replace("SELECTOR", json.dumps(LOG_LINE_SELECTOR))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True)
        try:
            context = browser.new_context(viewport={"width": 1400, "height": 900})
            context.add_cookies(cookies)
            page = context.new_page()
            for run in range(BROWSER_RUNS + 1):  # the first run warms the caches
                try:
                    page.goto(urljoin(lab.url, path), wait_until="commit")
                    shown = page.wait_for_function(script, timeout=15_000, polling="raf")
                except Error as error:
                    print(f"  (no log line appeared: {str(error).splitlines()[0]})")
                    return figure
                if run:
                    figure.times.append(float(shown.json_value()))
            page.screenshot(path=str(Path(tempfile.gettempdir()) / "bench-web-log.png"))
        finally:
            browser.close()
    return figure


def report(figures: list[Figure], calls: int) -> bool:
    """The table: each figure against its budget; whether all of the issue's are within."""
    print()
    print(
        f"{'page (' + str(calls) + ' requests each)':<36} {'median ms':>9} {'p95 ms':>7} "
        f"{'cpu ms':>6}  {'budget':<8} {'status':<7} path"
    )
    ok = True
    for figure in figures:
        budget = PAINT_BUDGET_MS if figure.key == "log_first_paint_ms" else PAGE_BUDGET_MS
        cpu = "-" if figure.cpu is None else f"{figure.cpu:.1f}"
        if figure.median is None:
            skipped = figure.path is None  # not measured on purpose (--no-browser)
            ok = ok and (figure.key is None or skipped)
            status = (
                "skipped" if skipped else f"HTTP {figure.status}" if figure.status else "no page"
            )
            print(
                f"{figure.label[:36]:<36} {'-':>9} {'-':>7} {cpu:>6}  < {budget:<6g} "
                f"{status:<7} {figure.path or ''}"
            )
            continue
        verdict = "ok" if figure.median < budget else "OVER"
        ok = ok and (figure.median < budget or figure.key is None)
        print(
            f"{figure.label[:36]:<36} {figure.median:>9.2f} {figure.p95:>7.2f} {cpu:>6}  "
            f"< {budget:<6g} {verdict:<7} {figure.path}"
        )
    print(
        "median/p95: wall time of one request through the front, on loopback; cpu: CPU the "
        "web's processes and the database's backends spent per request (load-independent)."
    )
    print(
        "LAVA here: job list 60 ms, job page 77 ms (601-line log), device page 58 ms, "
        "with ~1,000 jobs."
    )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=1_000_000, help="jobs in the database")
    parser.add_argument("--calls", type=int, default=50, help="timed requests per page")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="keep the seeded database and instance, and reuse them when already there",
    )
    parser.add_argument("--no-browser", action="store_true", help="skip the Chromium figure")
    parser.add_argument(
        "--queries", action="store_true", help="also list each page's slowest SQL queries"
    )
    parser.add_argument(
        "--page",
        action="append",
        default=[],
        metavar="PATH",
        help="also time this page (shown in the table, not in the JSON); LOG_JOB and DEVICE "
        "in it name the big log's job and its device",
    )
    options = parser.parse_args()
    if options.jobs < 1000:
        parser.error("--jobs: at least 1000")
    work = instance_dir(options.jobs)
    url = f"{PG_SERVER}/{database_name(options.jobs)}"
    seeded = kept_seed(options.jobs) if options.keep else None
    if seeded is None:
        shutil.rmtree(work, ignore_errors=True)
        url = fresh_database(options.jobs)
    lab = LiveLab(work, port=0, settings={"DATABASE_URL": url})
    try:
        done = step("migrate" + (" (kept database)" if seeded else ""))
        lab.setup(say=False)
        done()
        if seeded is None:
            started = time.perf_counter()
            seeded = seed(lab, url, options.jobs)
            print(f"==> seeded in {time.perf_counter() - started:.0f} s")
        else:  # statistics for indexes that migrate may just have made (autovacuum would)
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("ANALYZE")
        lab.start(["web"])
        client = Client(lab.url)
        how = client.sign_in(lab)
        print(f"==> signed in as {READER!r} (an ordinary user) through {how}")
        extra = [
            path.replace("LOG_JOB", str(seeded.log_job)).replace("DEVICE", seeded.device)
            for path in options.page
        ]
        figures = measure_pages(client, seeded, options.calls, extra, ServerCpu(lab, url))
        if options.no_browser:
            figures.append(
                Figure("log_first_paint_ms", "browser: first log lines visible", None, [])
            )
        else:
            figures.append(measure_first_paint(lab, client, seeded))
        if options.queries:
            profile_pages(lab, figures)
    finally:
        lab.stop()
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)
            with server_connection() as conn:
                name = sql.Identifier(database_name(options.jobs))
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
    ok = report(figures, options.calls)
    print("within budget" if ok else "OVER BUDGET (or pages missing)")
    print(
        json.dumps(
            {f.key: None if f.median is None else round(f.median, 2) for f in figures if f.key}
        )
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
