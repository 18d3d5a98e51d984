"""A job's delivery log over REST and XML-RPC: who sees what, and never a token."""

from __future__ import annotations

import pytest
from rpc_helpers import refused, rpc

from lava.server.notifications import sender
from lava.server.scheduler.models import AuthToken, Notification, TestJob
from tests.server.notifications.test_outbox import make_job, run_job
from tests.support.receivers import free_port

pytestmark = pytest.mark.usefixtures("data_dir")

NOTIFY = """
criteria: {{status: finished}}
callback: {{url: 'http://127.0.0.1:{port}/node/{{ID}}', method: POST, token: the-token-name}}
recipients:
- to: {{method: email, user: owner}}
"""


@pytest.fixture
def job(users, lab) -> TestJob:
    AuthToken.objects.create(user=users["owner"], description="the-token-name", secret="s" * 40)
    job = make_job(users["owner"], lab, NOTIFY.format(port=free_port()))
    run_job(job)
    sender.send_due()  # the receiver is down: the callback waits for a retry, the mail goes
    return job


def test_rest_shows_the_delivery_log(client, rest_auth, job) -> None:
    answer = client.get(f"/api/v0.2/jobs/{job.id}/notifications/", **rest_auth["owner"])
    assert answer.status_code == 200
    callback, email = answer.json()["results"]
    assert callback["kind"] == "callback" and callback["event"] == "Finished"
    assert callback["target"].endswith(f"/node/{job.id}")
    assert (callback["status"], callback["attempts"]) == ("Pending", 1)
    assert "ConnectionRefusedError" in callback["error"] and callback["next_attempt"]
    assert (email["kind"], email["target"], email["status"]) == (
        "email",
        "owner@example.com",
        "Sent",
    )
    assert "s" * 40 not in answer.content.decode()


def test_xmlrpc_shows_the_same(client, tokens, job) -> None:
    rows = rpc(client, "scheduler.jobs.notifications", job.id, auth=tokens["owner"])
    assert [row["status"] for row in rows] == ["Pending", "Sent"]
    assert all("token" not in row for row in rows)


def test_others_see_callbacks_but_not_mail_addresses(client, tokens, rest_auth, job) -> None:
    rows = rpc(client, "scheduler.jobs.notifications", job.id, auth=tokens["stranger"])
    assert rows[1]["target"] == "(hidden)" and rows[0]["target"].startswith("http://")
    anonymous = client.get(f"/api/v0.2/jobs/{job.id}/notifications/").json()["results"]
    assert anonymous[1]["target"] == "(hidden)"


def test_a_job_the_caller_cannot_see_reads_as_missing(client, tokens, rest_auth, job) -> None:
    TestJob.objects.filter(pk=job.pk).update(visibility=1, is_public=False)
    answer = client.get(f"/api/v0.2/jobs/{job.id}/notifications/", **rest_auth["stranger"])
    assert answer.status_code == 404
    assert refused(client, "scheduler.jobs.notifications", job.id, auth=tokens["stranger"]) == 404
    assert refused(client, "scheduler.jobs.notifications", "x", auth=tokens["owner"]) == -32602
    assert Notification.objects.filter(job=job).count() == 2


def test_the_admin_never_shows_a_callback_token(client, users, job) -> None:
    client.force_login(users["admin"])
    row = Notification.objects.get(job=job, kind="callback")
    page = client.get(f"/admin/scheduler/notification/{row.pk}/change/")
    assert page.status_code == 200 and b"/node/" in page.content
    assert b"s" * 40 not in page.content
