"""The worker API over HTTP: tokens, version check, job flow, logs, and garbage never 500s."""

from __future__ import annotations

import json

import pytest
import yaml
from django.test import Client

import lava
from lava.server.scheduler.models import Device, TestJob, Worker
from lava.server.scheduler.scheduling import schedule_pass
from lava.server.scheduler.states import DeviceState, JobHealth, JobState, WorkerState

BASE = "/scheduler/internal/v1"
DEFINITION = "job_name: queued\ndevice_type: qemu\n"
LINE = '- {"dt": "2026-01-01T00:00:00.000000", "lvl": "info", "msg": "hello"}\n'


@pytest.fixture
def job(lab, users, data_dir) -> TestJob:
    created = TestJob.objects.create(
        submitter=users["owner"], requested_device_type=lab.device_type, definition=DEFINITION
    )
    schedule_pass()
    return TestJob.objects.get(id=created.id)


def ping(client: Client, token: str | None, version: str = lava.__version__):
    headers = {} if token is None else {"HTTP_LAVA_TOKEN": token}
    return client.get(f"{BASE}/workers/worker-01/", {"version": version}, **headers)


def test_ping_needs_the_worker_token(client, lab) -> None:
    assert ping(client, None).json() == {"error": "Missing 'token'"}
    response = ping(client, "x" * 32)
    assert (response.status_code, response.json()) == (400, {"error": "Invalid 'token'"})


def test_ping_version_mismatch_is_409_and_offline(client, lab) -> None:
    response = ping(client, lab.worker.token, version="0.0.1")
    assert response.status_code == 409
    assert Worker.objects.get(pk="worker-01").state == WorkerState.OFFLINE


def test_ping_lists_the_scheduled_job(client, job, lab) -> None:
    response = ping(client, lab.worker.token)
    assert response.status_code == 200
    answer = response.json()
    assert len(answer.pop("etag")) == 16
    assert answer == {
        "start": [{"id": job.id, "token": job.token}],
        "cancel": [],
        "running": [],
    }


def test_fetch_run_finish(client, job) -> None:
    auth = {"HTTP_LAVA_TOKEN": job.token}
    url = f"{BASE}/jobs/{job.id}/"
    files = client.get(url, **auth).json()
    assert yaml.safe_load(files["device"])["hostname"] == job.actual_device_id
    assert files["definition"] == DEFINITION
    for state in ("RUNNING", "running"):  # any case, as LAVA
        assert client.post(url, {"state": state}, **auth).json() == {}
    assert Device.objects.get(pk=job.actual_device_id).state == DeviceState.RUNNING
    for _ in range(2):
        response = client.post(url, {"state": "FINISHED", "result": "pass"}, **auth)
        assert (response.status_code, response.json()) == (200, {})
    job.refresh_from_db()
    assert (job.state, job.health) == (JobState.FINISHED, JobHealth.COMPLETE)
    assert Device.objects.get(pk=job.actual_device_id).state == DeviceState.IDLE


def test_another_jobs_token_is_refused(client, job, lab, users) -> None:
    other = TestJob.objects.create(
        submitter=users["owner"], requested_device_type=lab.device_type, definition=DEFINITION
    )
    schedule_pass()
    other.refresh_from_db()
    response = client.get(f"{BASE}/jobs/{job.id}/", HTTP_LAVA_TOKEN=other.token)
    refused = {"error": f"Unknown job '{job.id}', or not with this 'token'"}
    assert (response.status_code, response.json()) == (404, refused)
    assert client.get(f"{BASE}/jobs/{job.id}/", HTTP_LAVA_TOKEN=lab.worker.token).status_code == 404


def test_unknown_job_is_404(client, job) -> None:
    response = client.post(
        f"{BASE}/jobs/999999/logs/", {"lines": LINE, "index": 0}, HTTP_LAVA_TOKEN=job.token
    )
    refused = {"error": "Unknown job '999999', or not with this 'token'"}
    assert (response.status_code, response.json()) == (404, refused)


def test_logs_append_once(client, job) -> None:
    auth = {"HTTP_LAVA_TOKEN": job.token}
    url = f"{BASE}/jobs/{job.id}/logs/"
    for _ in range(2):
        response = client.post(url, {"lines": LINE * 3, "index": 0}, **auth)
        assert response.json() == {"line_count": 3}
    assert client.post(url, {"lines": LINE, "index": 3}, **auth).json() == {"line_count": 4}
    assert client.post(url, {"lines": LINE, "index": 9}, **auth).status_code == 400


def test_logs_of_a_finished_job_are_refused(client, job) -> None:
    from lava.server.logs.store import log_store
    from lava.server.services import Actor
    from lava.server.services.jobs import fail_job

    auth = {"HTTP_LAVA_TOKEN": job.token}
    url = f"{BASE}/jobs/{job.id}/logs/"
    assert client.post(url, {"lines": LINE, "index": 0}, **auth).json() == {"line_count": 1}
    fail_job(Actor.console(), job, "the worker went silent")
    response = client.post(url, {"lines": LINE * 2, "index": 1}, **auth)
    assert response.status_code == 409
    assert response.json()["error"] == (
        f"Job {job.id} has ended (Incomplete): its log takes no more lines"
    )
    assert log_store().count(job.id) == 1


def test_logs_batch_too_big_is_413(client, job, monkeypatch) -> None:
    from lava.server.scheduler.internal import views

    monkeypatch.setattr(views, "MAX_LOG_LINES", 2)
    url = f"{BASE}/jobs/{job.id}/logs/"
    response = client.post(url, {"lines": LINE * 3, "index": 0}, HTTP_LAVA_TOKEN=job.token)
    assert response.status_code == 413


GARBAGE = ["", "abc", "-1", "99999999999999999999999", "\x00", "1e3", "😀", "¹", "٣"]


@pytest.mark.parametrize("value", GARBAGE)
def test_garbage_never_500(client, job, lab, value) -> None:
    auth = {"HTTP_LAVA_TOKEN": job.token}
    responses = [
        client.get(f"{BASE}/workers/{value or 'x'}/", {"version": value}),
        ping(client, lab.worker.token, version=value),
        client.get(f"{BASE}/jobs/{value or 'x'}/", **auth),
        client.put(f"{BASE}/jobs/{job.id}/", **auth),
        client.post(f"{BASE}/jobs/{job.id}/", {"state": value}, **auth),
        client.post(f"{BASE}/jobs/{job.id}/", {"state": "FINISHED", "result": value}, **auth),
        client.post(f"{BASE}/jobs/{job.id}/logs/", {"lines": value, "index": value}, **auth),
        client.post(f"{BASE}/jobs/{job.id}/logs/", {"lines": value + "\n", "index": 0}, **auth),
        client.post(f"{BASE}/jobs/{job.id}/logs/", "not a form", "text/plain", **auth),
        client.post(f"{BASE}/jobs/{job.id}/logs/", value, "application/json", **auth),
        post_json(client, job, {"lines": value, "index": value}),
        post_json(client, job, {"lines": value + "\n", "index": 0}),
        client.get(f"{BASE}/jobs/{job.id}/", HTTP_LAVA_TOKEN=value or "y"),
    ]
    for response in responses:
        assert response.status_code < 500
        assert "error" in response.json() or response.status_code == 200


def test_logs_derive_results_once(client, job) -> None:
    from lava.server.results.models import TestCase

    result = (
        '- {"dt": "2026-01-01T00:00:01.000000", "lvl": "results", '
        '"msg": {"definition": "0_smoke", "case": "ls", "result": "pass"}}\n'
    )
    url = f"{BASE}/jobs/{job.id}/logs/"
    for _ in range(2):  # a retried batch
        response = client.post(url, {"lines": LINE + result, "index": 0}, HTTP_LAVA_TOKEN=job.token)
        assert response.json() == {"line_count": 2}
    assert list(TestCase.objects.filter(suite__job=job).values_list("name", flat=True)) == ["ls"]


@pytest.mark.parametrize("wait", ["soon", "-1", "31", "nan"])
def test_ping_refuses_a_bad_wait(client, lab, wait) -> None:
    response = client.get(
        f"{BASE}/workers/worker-01/",
        {"version": lava.__version__, "wait": wait},
        HTTP_LAVA_TOKEN=lab.worker.token,
    )
    assert response.status_code == 400
    assert "Invalid 'wait'" in response.json()["error"]


def test_a_scheduled_job_whose_context_cannot_be_used_is_a_400_not_a_500(client, job) -> None:
    # scheduled before its context was checked (an older version): the worker is told why
    TestJob.objects.filter(id=job.id).update(definition=DEFINITION + "context: [amd64]\n")
    response = client.get(f"{BASE}/jobs/{job.id}/", HTTP_LAVA_TOKEN=job.token)
    assert response.status_code == 400
    assert "context: must be a mapping" in response.json()["error"]


def test_start_and_end_in_one_call_each(client, job) -> None:
    # the worker's short way: Running with the files, the log's last lines with the end
    from lava.server.logs.store import log_store

    auth = {"HTTP_LAVA_TOKEN": job.token}
    url = f"{BASE}/jobs/{job.id}/"
    files = client.post(url, {"state": "RUNNING", "files": "1"}, **auth).json()
    assert files["definition"] == DEFINITION
    assert yaml.safe_load(files["device"])["hostname"] == job.actual_device_id
    job.refresh_from_db()
    assert job.state == JobState.RUNNING
    assert client.post(f"{url}logs/", {"lines": LINE, "index": 0}, **auth).json() == {
        "line_count": 1
    }
    end = {"state": "FINISHED", "result": "pass", "index": 1, "lines": LINE * 2}
    gap = client.post(url, {**end, "index": 5}, **auth)
    assert gap.status_code == 400 and "lines are stored" in gap.json()["error"]
    job.refresh_from_db()
    assert job.state == JobState.RUNNING, "a refused batch ends nothing"
    assert client.post(url, end, **auth).json() == {"line_count": 3}
    assert client.post(url, end, **auth).json() == {}, "a retry whose answer was lost"
    job.refresh_from_db()
    assert (job.state, job.health) == (JobState.FINISHED, JobHealth.COMPLETE)
    assert log_store().count(job.id) == 3


def test_a_start_whose_device_cannot_render_is_400_and_not_running(client, job, lab) -> None:
    (lab.root / "devices" / f"{job.actual_device_id}.jinja2").write_text("{% extends 'nope' %}")
    auth = {"HTTP_LAVA_TOKEN": job.token}
    response = client.post(f"{BASE}/jobs/{job.id}/", {"state": "RUNNING", "files": "1"}, **auth)
    assert response.status_code == 400
    job.refresh_from_db()
    assert job.state == JobState.SCHEDULED


def post_json(client: Client, job: TestJob, body: bytes | dict, token: str | None = None):
    """POST a log batch as the worker sends it: a JSON object."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers = {"HTTP_LAVA_TOKEN": job.token if token is None else token}
    return client.post(f"{BASE}/jobs/{job.id}/logs/", data, "application/json", **headers)


def test_logs_as_json_store_what_a_form_stores(client, job) -> None:
    from lava.server.logs.store import log_store
    from lava.server.results.models import TestCase

    result = (
        '- {"dt": "2026-01-01T00:00:01.000000", "lvl": "results", '
        '"msg": {"definition": "0_smoke", "case": "ls", "result": "pass"}}\n'
    )
    for _ in range(2):  # a retried batch
        answer = post_json(client, job, {"index": 0, "lines": LINE + result})
        assert (answer.status_code, answer.json()) == (200, {"line_count": 2})
    # the same lines as a form are the same stored lines: no conflict
    url = f"{BASE}/jobs/{job.id}/logs/"
    form = client.post(url, {"lines": LINE + result + LINE, "index": 0}, HTTP_LAVA_TOKEN=job.token)
    assert form.json() == {"line_count": 3}
    assert post_json(client, job, {"index": "3", "lines": LINE}).json() == {"line_count": 4}
    gap = post_json(client, job, {"index": 9, "lines": LINE})
    assert gap.status_code == 400 and "resend from line 4" in gap.json()["error"]
    assert log_store().read_lines(job.id) == [LINE[:-1], result[:-1], LINE[:-1], LINE[:-1]]
    assert list(TestCase.objects.filter(suite__job=job).values_list("name", flat=True)) == ["ls"]


DEEP = b'{"index": 0, "lines": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"index": 0, "lines": ', "Invalid JSON body: Expecting value"),
        (b"\xff\xfe", "Invalid JSON body: "),
        (b'["- {}"]', "Invalid JSON body: an object with index and lines, not an array"),
        (DEEP, "Invalid JSON body: nested too deep"),
        ({"index": 0, "lines": LINE, "state": "FINISHED"}, "Invalid JSON body: unknown field"),
        ({"index": [0], "lines": LINE}, "Invalid 'index': a whole number, not an array"),
        ({"index": False, "lines": LINE}, "Invalid 'index': a whole number, not a boolean"),
        ({"index": -1, "lines": LINE}, "Invalid 'index': '-1'"),
        ({"index": 10**30, "lines": LINE}, "Invalid 'index': '1000000000000000000000000000000'"),
        ({"index": "1e3", "lines": LINE}, "Invalid 'index': '1e3'"),
        ({"index": 0, "lines": [LINE]}, "Invalid 'lines': a string of log lines, not an array"),
        ({"index": 0, "lines": 1}, "Invalid 'lines': a string of log lines, not a number"),
        ({"index": 0, "lines": LINE.replace("hello", "\x00")}, "NUL byte in the request"),
        ({"index": 0, "lines": LINE.replace("hello", "\ud800")}, "Invalid 'lines': "),
        ({"index": 0, "lines": "hello\n"}, "Invalid 'lines': log line 1 of the batch"),
        ({"index": 0, "lines": LINE[:-1]}, "Invalid 'lines': log line 1 of the batch does not"),
    ],
)
def test_a_json_batch_that_cannot_be_stored_is_a_clear_400(client, job, body, message) -> None:
    from lava.server.logs.store import log_store

    response = post_json(client, job, body)
    assert response.status_code == 400
    assert response.json()["error"].startswith(message)
    assert log_store().count(job.id) == 0


def test_a_json_body_too_big_is_413(client, job, settings) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = post_json(client, job, {"index": 0, "lines": LINE * 20})
    assert response.status_code == 413
    assert response.json() == {"error": "Request body too large: at most 1000 bytes"}


def test_a_json_batch_of_too_many_lines_is_413(client, job, monkeypatch) -> None:
    from lava.server.scheduler.internal import views

    monkeypatch.setattr(views, "MAX_LOG_LINES", 2)
    response = post_json(client, job, {"index": 0, "lines": LINE * 3})
    assert response.status_code == 413
    assert response.json() == {"error": "Too many lines: at most 2 a batch"}


def test_a_json_batch_needs_the_token_before_it_is_read(client, job) -> None:
    assert post_json(client, job, b"[", token="").json() == {"error": "Missing 'token'"}
    refused = post_json(client, job, b"[", token="x" * 32)
    assert refused.status_code == 404 and "not with this 'token'" in refused.json()["error"]
