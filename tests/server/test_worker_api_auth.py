"""The worker API tells nothing to a caller without the token, and keeps stored lines as sent."""

from __future__ import annotations

import pytest
from django.test import Client

import lava
from lava.server.logs.store import log_store
from lava.server.scheduler.models import TestJob
from lava.server.scheduler.scheduling import schedule_pass

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


@pytest.fixture
def job(lab, users, data_dir) -> TestJob:
    created = TestJob.objects.create(
        submitter=users["owner"],
        requested_device_type=lab.device_type,
        definition="job_name: x\ndevice_type: qemu\n",
    )
    schedule_pass()
    return TestJob.objects.get(id=created.id)


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
