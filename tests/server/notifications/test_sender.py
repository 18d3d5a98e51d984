"""The sender against real receivers: an HTTP server that records requests, an SMTP server."""

from __future__ import annotations

import datetime
import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone

from lava.server.notifications import sender
from lava.server.scheduler.models import Notification
from tests.server.notifications.test_outbox import make_job, run_job
from tests.support.receivers import HttpReceiver, free_port, smtp_server

pytestmark = pytest.mark.usefixtures("data_dir")
PENDING, SENT, FAILED = (
    Notification.Status.PENDING,
    Notification.Status.SENT,
    Notification.Status.FAILED,
)


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    server = HttpReceiver().start()
    yield server
    server.stop()


def callback_job(users: Any, lab: Any, url: str, extra: str = "") -> Notification:
    notify = f"""
criteria: {{status: finished}}
callbacks:
- {{url: '{url}', method: POST, dataset: all, content-type: json, token: tok{extra}}}
"""
    job = make_job(users["owner"], lab, notify)
    run_job(job)
    return Notification.objects.get(job=job)


def due_now() -> None:
    Notification.objects.filter(status=PENDING).update(next_attempt=timezone.now())


def test_a_callback_is_sent_once_with_its_token_raw(users, lab, receiver) -> None:
    row = callback_job(users, lab, receiver.url + "/node/{ID}")
    outcome = sender.send_due()
    assert outcome.sent == 1
    (request,) = receiver.requests
    assert request.method == "POST" and request.path == f"/node/{row.job_id}"
    assert request.headers["Authorization"] == "tok"
    assert request.headers["Content-Type"] == "application/json"
    assert request.json()["status"] == 2
    row.refresh_from_db()
    assert (row.status, row.attempts, row.response, row.error) == (SENT, 1, 202, "")
    assert sender.send_due().sent == 0  # nothing owed twice
    assert len(receiver.requests) == 1


def test_urlencoded_and_get(users, lab, receiver) -> None:
    notify = f"""
criteria: {{status: complete}}
callbacks:
- {{url: '{receiver.url}/form', method: POST}}
- {{url: '{receiver.url}/get?id={{ID}}', token: t, header: X-Lab-Token}}
"""
    job = make_job(users["owner"], lab, notify)
    run_job(job)
    assert sender.send_due().sent == 2
    form, get = sorted(receiver.requests, key=lambda r: r.method, reverse=True)
    assert form.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form.form()["status_string"] == ["complete"]
    assert "Authorization" not in form.headers
    assert get.method == "GET" and get.body == b"" and get.path == f"/get?id={job.id}"
    assert get.headers["X-Lab-Token"] == "t"


def test_a_receiver_that_is_down_gets_it_when_it_is_back(users, lab) -> None:
    port = free_port()
    row = callback_job(users, lab, f"http://127.0.0.1:{port}/cb")
    for _ in range(3):
        assert sender.send_due().retried == 1
        due_now()
    row.refresh_from_db()
    assert row.status == PENDING and row.attempts == 3
    assert "ConnectionRefusedError" in row.error
    server = HttpReceiver(port=port).start()
    try:
        assert sender.send_due().sent == 1
        assert len(server.requests) == 1
    finally:
        server.stop()


def test_retry_delays_double_up_to_the_most() -> None:
    assert [sender.retry_delay(n, 60) for n in range(1, 7)] == [5, 10, 20, 40, 60, 60]


def test_server_errors_are_retried_client_errors_are_not(users, lab, receiver) -> None:
    answers = iter([503, 200])
    receiver.status = lambda request: next(answers)
    row = callback_job(users, lab, receiver.url + "/flaky")
    sender.send_due()
    row.refresh_from_db()
    assert (row.status, row.response) == (PENDING, 503)
    assert row.next_attempt > timezone.now() + datetime.timedelta(seconds=4)
    due_now()
    sender.send_due()
    row.refresh_from_db()
    assert (row.status, row.response, row.attempts) == (SENT, 200, 2)

    receiver.status = 401
    refused = callback_job(users, lab, receiver.url + "/wrong-token")
    sender.send_due()
    refused.refresh_from_db()
    assert (refused.status, refused.response) == (FAILED, 401)
    assert "401" in refused.error


def test_redirects_are_not_followed(users, lab, receiver) -> None:
    receiver.status = 302
    row = callback_job(users, lab, receiver.url + "/moved")
    sender.send_due()
    row.refresh_from_db()
    assert row.status == FAILED and "not followed" in row.error
    assert len(receiver.requests) == 1


def test_hosts_outside_callback_allowed_hosts_and_other_schemes_are_refused(
    users, lab, receiver, settings
) -> None:
    settings.LAVA.callback_allowed_hosts = ["*.example.org"]
    try:
        row = callback_job(users, lab, receiver.url + "/x")
        sender.send_due()
        row.refresh_from_db()
        assert row.status == FAILED and "CALLBACK_ALLOWED_HOSTS" in row.error
        settings.LAVA.callback_allowed_hosts = ["127.0.0.*"]
        other = callback_job(users, lab, "file:///etc/passwd")
        sender.send_due()
        other.refresh_from_db()
        assert other.status == FAILED and "not http or https" in other.error
        assert receiver.requests == []
    finally:
        settings.LAVA.callback_allowed_hosts = []


def test_giving_up_after_the_retry_window(users, lab) -> None:
    row = callback_job(users, lab, f"http://127.0.0.1:{free_port()}/gone")
    Notification.objects.filter(pk=row.pk).update(
        created=timezone.now() - datetime.timedelta(days=2)
    )
    sender.send_due()
    row.refresh_from_db()
    assert row.status == FAILED and row.attempts == 1


def test_a_leased_row_is_left_to_its_sender_until_the_lease_ends(users, lab, receiver) -> None:
    row = callback_job(users, lab, receiver.url + "/x")
    later = timezone.now() + datetime.timedelta(seconds=60)
    Notification.objects.filter(pk=row.pk).update(leased_until=later)
    assert sender.send_due().sent == 0
    # a sender killed while it held the row: once the lease is over, it goes again
    Notification.objects.filter(pk=row.pk).update(leased_until=timezone.now())
    assert sender.send_due().sent == 1


def test_mail_through_a_real_smtp_server(users, lab) -> None:
    notify = """
criteria: {status: finished}
verbosity: verbose
recipients:
- to: {method: email, email: team@example.com}
- to: {method: irc, handle: bob}
"""
    users["owner"].first_name, users["owner"].last_name = "Ann", "Owner"
    users["owner"].save()
    job = make_job(users["owner"], lab, notify)
    run_job(job, 2, error_type="Infrastructure", failure_comment="power <cable> & all")
    with (
        smtp_server() as (port, messages),
        override_settings(
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=port,
        ),
    ):
        outcome = sender.send_due()
    assert (outcome.sent, outcome.failed) == (1, 1)
    (message,) = messages
    assert message["Subject"] == f"LAVA notification for Test Job {job.id} notified one"
    assert message["X-Envelope-To"] == "team@example.com"
    text = message.get_payload()
    assert text.startswith("Hello Ann Owner,")
    assert f"Test job {job.id} is Finished, health Incomplete" in text
    assert f"/scheduler/job/{job.id}" in text
    assert "Infrastructure error: power <cable> & all" in text  # plain text, not escaped
    assert "Device: qemu-01 (qemu)" in text
    irc = Notification.objects.get(kind="irc")
    assert irc.status == FAILED and "IRC" in irc.error


def test_mail_is_retried_while_the_server_is_down(users, lab) -> None:
    job = make_job(users["owner"], lab, "criteria: {status: finished}")
    run_job(job)
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=free_port(),
    ):
        assert sender.send_due().retried == 1
    row = Notification.objects.get()
    assert row.status == PENDING and "Connection" in row.error
    due_now()
    assert sender.send_due().sent == 1  # the test backend: Django's locmem outbox
    assert len(mail.outbox) == 1


def test_the_first_post_body_is_kept_as_lavas_job_data(users, lab, receiver, client) -> None:
    row = callback_job(users, lab, receiver.url + "/node/{ID}")
    assert client.get(f"/scheduler/job/{row.job_id}/job_data").status_code == 404
    sender.send_due()
    answer = client.get(f"/scheduler/job/{row.job_id}/job_data")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/gzip"
    assert 'filename="job_data.gz"' in answer["Content-Disposition"]
    kept = json.loads(gzip.decompress(answer.content))
    assert kept == receiver.requests[0].json()
