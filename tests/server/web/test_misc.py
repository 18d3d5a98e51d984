"""The lab's small documents: API help, health, Prometheus metrics, robots.txt, /RPC2 GET."""

from __future__ import annotations

import base64
import re

import pytest
from django.contrib.auth.models import Group
from django.db import OperationalError
from django.test import Client

from lava.server.scheduler.models import (
    AuthToken,
    Device,
    DeviceType,
    GroupDeviceTypePermission,
    TestJob,
    Worker,
)
from lava.server.scheduler.states import (
    DeviceHealth,
    DeviceState,
    JobHealth,
    JobState,
    WorkerHealth,
    WorkerState,
)
from lava.server.web import metrics

METRICS = "/v1/prometheus/"


def basic(username: str, secret: str) -> dict[str, str]:
    encoded = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {encoded}"}


def values(text: str) -> dict[str, float]:
    """The samples of an exposition, by their name and labels."""
    found = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            found[name] = float(value)
    return found


# --- /api/help/ and /RPC2 -----------------------------------------------------------------


def test_help_lists_every_method_with_its_help(client, db) -> None:
    from lava.server.api.xmlrpc.registry import METHODS

    page = client.get("/api/help/")
    assert page.status_code == 200
    body = page.content.decode()
    for name in ("system.listMethods", "system.methodHelp", "scheduler.jobs.submit"):
        assert f'id="{name}"' in body
    assert len(re.findall(r'<dt id="', body)) == len(METHODS)
    assert "Submit a job definition (YAML)" in body  # scheduler.jobs.submit's help
    assert 'href="/api/v0.2/"' in body
    assert "Older name of" in body  # scheduler.submit_job


def test_a_browser_asking_rpc2_is_sent_to_the_help(client, db) -> None:
    answer = client.get("/RPC2", HTTP_ACCEPT="text/html,application/xhtml+xml,*/*;q=0.8")
    assert answer.status_code == 302 and answer["Location"] == "/api/help/"
    plain = client.get("/RPC2")
    assert plain.status_code == 200 and b"system.version" in plain.content


# --- /v1/healthz/ --------------------------------------------------------------------------


def test_healthz_is_good(client, db) -> None:
    answer = client.get("/v1/healthz/")
    assert answer.status_code == 200 and answer.json() == {"health": "good"}


def test_healthz_is_bad_without_a_database(client, db, monkeypatch) -> None:
    from lava.server.web.views import misc

    class Lost:
        def cursor(self):
            raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(misc, "connection", Lost())
    answer = client.get("/v1/healthz/")
    assert answer.status_code == 500
    assert answer.json() == {"health": "bad", "error": "database connection lost"}


# --- /robots.txt ---------------------------------------------------------------------------


def test_robots_keeps_crawlers_off_the_dynamic_pages(client, db) -> None:
    answer = client.get("/robots.txt")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/plain")
    body = answer.content.decode()
    assert body.startswith("User-agent: *\n")
    for place in ("/scheduler/", "/results/", "/api/"):
        assert f"Disallow: {place}\n" in body
    assert "Disallow: /\n" not in body  # the home page stays


# --- /v1/prometheus/ -----------------------------------------------------------------------


NAMES = [
    "devices_online",
    "devices_not_retired",
    "devices_running",
    "jobs_running",
    "devices_health_check_total",
    "devices_health_check_complete",
    "device_type",
    "workers_not_retired",
    "workers_online",
    "workers_offline",
    "workers_maintenance",
    "workers_active",
]


@pytest.fixture
def small_lab(lab, users):
    """qemu: 01 idle/good, 02 running a job, 03 maintenance, 04 bad, 05 retired, 06 on an
    offline worker; a second worker offline and one retired; two jobs queued for qemu."""
    offline = Worker.objects.create(
        hostname="worker-02", state=WorkerState.OFFLINE, health=WorkerHealth.MAINTENANCE
    )
    Worker.objects.create(
        hostname="worker-03", state=WorkerState.OFFLINE, health=WorkerHealth.RETIRED
    )
    for name, health in (
        ("qemu-03", DeviceHealth.MAINTENANCE),
        ("qemu-04", DeviceHealth.BAD),
        ("qemu-05", DeviceHealth.RETIRED),
    ):
        lab.device(name, health=health)
    lab.device("qemu-06", worker=offline)
    owner = users["owner"]
    running = TestJob.objects.create(
        submitter=owner,
        definition="x",
        requested_device_type=lab.device_type,
        actual_device_id="qemu-02",
        state=JobState.RUNNING,
    )
    Device.objects.filter(pk="qemu-02").update(state=DeviceState.RUNNING)
    check = TestJob.objects.create(
        submitter=owner,
        definition="x",
        health_check=True,
        state=JobState.FINISHED,
        health=JobHealth.COMPLETE,
    )
    failed = TestJob.objects.create(
        submitter=owner,
        definition="x",
        health_check=True,
        state=JobState.FINISHED,
        health=JobHealth.INCOMPLETE,
    )
    Device.objects.filter(pk="qemu-01").update(last_health_report_job=check)
    Device.objects.filter(pk="qemu-04").update(last_health_report_job=failed)
    for _ in range(2):
        TestJob.objects.create(submitter=owner, definition="x", requested_device_type_id="qemu")
    # a private device type with one device, seen only by the group "lab"
    secret = DeviceType.objects.create(name="secret-board")
    lab.device("secret-01", device_type=secret)
    GroupDeviceTypePermission.objects.create(
        devicetype=secret, group=Group.objects.get(name="lab"), permission="view"
    )
    return running


def test_prometheus_names_and_values(client, small_lab) -> None:
    answer = client.get(METRICS)
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("text/plain; version=0.0.4")
    text = answer.content.decode()
    for name in NAMES:
        assert f"# HELP {name} " in text and f"# TYPE {name} gauge" in text
    got = values(text)
    assert got["devices_not_retired"] == 6  # 01-04, 06, secret-01
    assert got["devices_online"] == 3  # 01, 02, secret-01 (good on an online worker)
    assert got["devices_running"] == 1
    assert got["jobs_running"] == 1
    assert got["devices_health_check_total"] == 2
    assert got["devices_health_check_complete"] == 1
    qemu = {
        state: got[f'device_type{{name="qemu",state="{state}"}}']
        for state in ("idle", "busy", "offline", "maintenance", "queue")
    }
    # idle: 01 · busy: 02 · offline: 04 (bad), 06 (worker offline) · maintenance: 03
    assert qemu == {"idle": 1, "busy": 1, "offline": 2, "maintenance": 1, "queue": 2}
    assert got["workers_not_retired"] == 2
    assert got["workers_online"] == 1
    assert got["workers_offline"] == 1
    assert got["workers_maintenance"] == 1
    assert got["workers_active"] == 1
    assert "secret-board" not in text  # anonymous: public device types only


def test_prometheus_with_a_token_shows_what_the_user_may_see(client, small_lab, users) -> None:
    token = AuthToken.objects.create(user=users["owner"])
    text = client.get(METRICS, **basic("owner", token.secret)).content.decode()
    assert values(text)['device_type{name="secret-board",state="idle"}'] == 1
    stranger = AuthToken.objects.create(user=users["stranger"])
    assert (
        "secret-board"
        not in client.get(METRICS, **basic("stranger", stranger.secret)).content.decode()
    )


def test_prometheus_refuses_bad_credentials(client, small_lab, users) -> None:
    assert client.get(METRICS, **basic("owner", "wrong")).status_code == 401
    assert client.get(METRICS, HTTP_AUTHORIZATION="Bearer x").status_code == 400
    assert client.get(METRICS, HTTP_AUTHORIZATION="Basic %%%").status_code == 400


def test_prometheus_quotes_label_values() -> None:
    assert metrics.label('a"b\\c\nd') == '"a\\"b\\\\c\\nd"'


def test_prometheus_is_a_fixed_handful_of_queries(
    client, small_lab, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(8):
        client.get(METRICS)


def test_prometheus_counts_jobs_by_state_not_by_reading_them(client, small_lab, users) -> None:
    TestJob.objects.bulk_create(
        TestJob(submitter=users["owner"], definition="x", state=JobState.FINISHED)
        for _ in range(200)
    )
    assert values(client.get(METRICS).content.decode())["jobs_running"] == 1


def test_the_small_documents_answer_only_get(client, db) -> None:
    for url in ("/api/help/", "/v1/healthz/", METRICS, "/robots.txt"):
        assert client.post(url).status_code in (403, 405)
    assert Client().head("/v1/healthz/").status_code in (200, 405)
