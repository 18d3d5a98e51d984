"""The worker API tells nothing to a caller without the token, and keeps stored lines as sent."""

from __future__ import annotations

import contextlib
import gc
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

import lava
from lava.server.logs.store import log_store
from lava.server.scheduler.models import TestJob
from lava.server.scheduler.scheduling import schedule_pass
from lava.server.scheduler.states import JobHealth, JobState
from lava.server.services import Actor
from lava.server.services.jobs import fail_job, remove_jobs
from lava.worker.jobdir import JobDir
from lava.worker.jobdir import JobState as WorkerJobState
from lava.worker.runner import JobRunner, Settings

CONSOLE = Actor.console()

BASE = "/scheduler/internal/v1"
LINE = '- {{"dt": "2026-01-01T00:00:00.000000", "lvl": "info", "msg": "line {}"}}\n'


def ping(client: Client, hostname: str, token: str | None):
    headers = {} if token is None else {"HTTP_LAVA_TOKEN": token}
    return client.get(f"{BASE}/workers/{hostname}/", {"version": lava.__version__}, **headers)


@pytest.mark.parametrize("token", [None, "x" * 32, ""])
def test_an_unknown_worker_gets_the_bad_token_answer(client, lab, token) -> None:
    known, unknown = ping(client, "worker-01", token), ping(client, "no-such-worker", token)
    assert (known.status_code, known.json()) == (unknown.status_code, unknown.json())
    assert known.status_code == 400 and "token" in known.json()["error"]
    assert "worker" not in unknown.json()["error"].lower()


def test_the_right_token_still_pings(client, lab) -> None:
    assert ping(client, "worker-01", lab.worker.token).status_code == 200


def scheduled(lab, user) -> TestJob:
    """A job of ``user``, scheduled on one of the lab's devices: it has its token."""
    created = TestJob.objects.create(
        submitter=user, requested_device_type=lab.device_type, definition="job_name: x\n"
    )
    schedule_pass()
    return TestJob.objects.get(id=created.id)


@pytest.fixture
def job(lab, users, data_dir) -> TestJob:
    return scheduled(lab, users["owner"])


# Each job endpoint, called with a job id and the headers of a token (or of none).
JOB_CALLS = {
    "files": lambda c, job_id, auth: c.get(f"{BASE}/jobs/{job_id}/", **auth),
    "running": lambda c, job_id, auth: c.post(
        f"{BASE}/jobs/{job_id}/", {"state": "RUNNING"}, **auth
    ),
    "finished": lambda c, job_id, auth: c.post(
        f"{BASE}/jobs/{job_id}/", {"state": "FINISHED", "result": "pass"}, **auth
    ),
    "logs": lambda c, job_id, auth: c.post(
        f"{BASE}/jobs/{job_id}/logs/", {"lines": LINE.format(0), "index": 0}, **auth
    ),
}
UNKNOWN_JOB = 987654


def tokens(job: TestJob, other: TestJob, worker_token: str) -> dict[str, dict[str, str]]:
    """Every wrong way to ask for ``job``: no token, an empty one, a made-up one, another's."""
    return {
        "none": {},
        "empty": {"HTTP_LAVA_TOKEN": ""},
        "made-up": {"HTTP_LAVA_TOKEN": "0" * 32},
        "another job's": {"HTTP_LAVA_TOKEN": other.token},
        "the worker's": {"HTTP_LAVA_TOKEN": worker_token},
    }


@pytest.fixture
def other(job, lab, users) -> TestJob:
    """A second scheduled job, on the lab's other device: its token opens only itself."""
    return scheduled(lab, users["stranger"])


@pytest.mark.parametrize("endpoint", JOB_CALLS)
def test_an_unknown_job_gets_the_bad_token_answer(client, job, other, lab, endpoint) -> None:
    call = JOB_CALLS[endpoint]
    for name, auth in tokens(job, other, lab.worker.token).items():
        answers = {}
        for job_id in (job.id, UNKNOWN_JOB, "not-a-number"):
            answer = call(client, job_id, auth)
            answers[job_id] = (
                answer.status_code,
                answer.json()["error"].replace(str(job_id), "ID"),
            )
        assert len(set(answers.values())) == 1, f"{endpoint}, {name} token: {answers}"
        status, error = answers[job.id]
        assert status == (400 if name in ("none", "empty") else 404), (name, error)
        assert "token" in error
    job.refresh_from_db()
    assert job.state == JobState.SCHEDULED and log_store().count(job.id) == 0


def test_a_job_not_scheduled_yet_has_no_token_to_guess(client, lab, users) -> None:
    queued = TestJob.objects.create(
        submitter=users["owner"], requested_device_type=lab.device_type, definition="job_name: z\n"
    )
    for guess in ("", "0" * 32):
        answer = client.get(f"{BASE}/jobs/{queued.id}/", HTTP_LAVA_TOKEN=guess)
        unknown = client.get(f"{BASE}/jobs/{UNKNOWN_JOB}/", HTTP_LAVA_TOKEN=guess)
        assert answer.status_code == unknown.status_code != 200


def test_the_right_token_still_opens_the_job(client, job) -> None:
    for endpoint in ("files", "running", "logs", "finished"):
        answer = JOB_CALLS[endpoint](client, job.id, {"HTTP_LAVA_TOKEN": job.token})
        assert answer.status_code == 200, (endpoint, answer.json())
    job.refresh_from_db()
    assert (job.state, job.health) == (JobState.FINISHED, JobHealth.COMPLETE)


def send(client: Client, job: TestJob, index: int, numbers: list[int | str]):
    lines = "".join(LINE.format(n) for n in numbers)
    return client.post(
        f"{BASE}/jobs/{job.id}/logs/", {"lines": lines, "index": index}, HTTP_LAVA_TOKEN=job.token
    )


def test_a_batch_that_rewrites_a_stored_line_is_409(client, job) -> None:
    assert send(client, job, 0, [0, 1, 2]).json() == {"line_count": 3}
    assert send(client, job, 1, [1, 2, 3]).json() == {"line_count": 4}  # an honest retry
    refused = send(client, job, 1, [1, "forged", 3, 4])
    assert refused.status_code == 409
    assert refused.json()["error"].startswith("log line 2 of the batch differs")
    assert log_store().read_lines(job.id) == [LINE.format(n)[:-1] for n in range(4)]


def test_a_batch_over_the_body_limit_is_413_so_the_worker_halves_it(client, job, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    answer = send(client, job, 0, ['"{}"' * 100 for _ in range(20)])
    assert answer.status_code == 413 and "at most 4096 bytes" in answer.json()["error"]
    assert send(client, job, 0, [0]).json() == {"line_count": 1}


# The worker's side: the real JobRunner against the real server, for the two refusals.


@pytest.fixture
def server(live_server) -> Iterator[str]:
    """The live server's URL; at the end, the connections made to it are closed.

    Under pytest, urllib3 leaves a kept-alive connection open after its
    session is closed; the server's thread serving it would then close the
    database connection of another thread when the server stops.
    """
    yield live_server.url + "/"
    port = int(live_server.url.rsplit(":", 1)[1])
    # type(), not isinstance(): the latter asks a dead weakref.proxy its class, and raises
    for sock in [o for o in gc.get_objects() if issubclass(type(o), socket.socket)]:
        with contextlib.suppress(OSError):
            tcp = sock.fileno() != -1 and sock.family in (socket.AF_INET, socket.AF_INET6)
            if tcp and sock.getpeername()[1] == port:  # a unix socket's peer is a path
                sock.close()
    end = time.monotonic() + 10
    while time.monotonic() < end and any(
        "process_request_thread" in thread.name for thread in threading.enumerate()
    ):
        time.sleep(0.01)


def runner(url: str, tmp_path: Path, job_id: int, token: str, **state: Any) -> JobRunner:
    settings = Settings(url=url, lava_run="/bin/false", http_timeout=10)
    jobdir = JobDir(tmp_path, job_id)
    jobdir.create()
    return JobRunner(settings, jobdir, WorkerJobState(job_id, token, **state), threading.Event())


@pytest.mark.parametrize("case", ["removed on the server", "token the server never gave"])
def test_the_worker_drops_a_job_the_server_does_not_have(
    server, job, tmp_path, caplog, case
) -> None:
    token = job.token
    if case == "removed on the server":
        fail_job(CONSOLE, job, "for the test")
        remove_jobs(CONSOLE, [job.id])
    else:
        token = "f" * 32
    run = runner(server, tmp_path, job.id, token)
    run.run()  # in this thread: fetch the files, refused, drop
    assert run.finished and not run.jobdir.path.exists()
    assert "refused: HTTP 404" in caplog.text and "dropping the job" in caplog.text
    assert "lava-run started" not in caplog.text
    if case != "removed on the server":
        job.refresh_from_db()
        assert job.state == JobState.SCHEDULED  # nothing reported on its behalf


def test_the_worker_drops_a_running_job_the_server_removed(server, job, tmp_path, caplog) -> None:
    run = runner(server, tmp_path, job.id, job.token, started_reported=True)
    run.jobdir.log.write_text(LINE.format(0))
    fail_job(CONSOLE, job, "for the test")
    remove_jobs(CONSOLE, [job.id])
    run.adopted = True  # its lava-run is gone: ship the log, which is refused
    run.run()
    assert run.finished and not run.jobdir.path.exists()
    assert "refused: HTTP 404" in caplog.text and "dropping the job" in caplog.text
