"""What a job owes when it starts and ends: rows written with the state change, and their bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction

from lava.common import log, yamlio
from lava.server.logs.store import log_store
from lava.server.notifications import body, outbox
from lava.server.results.models import TestCase, TestSuite
from lava.server.scheduler import transitions
from lava.server.scheduler.models import AuthToken, Device, Notification, TestJob
from lava.server.scheduler.states import JobHealth, JobState, legacy_status

pytestmark = pytest.mark.usefixtures("data_dir")

BASE = """job_name: notified {{n}}
device_type: qemu
visibility: public
metadata: {{node_id: abc123, build: 42}}
timeouts: {{job: {{minutes: 5}}}}
actions:
- boot: {{method: qemu, media: tmpfs, prompts: ['# ']}}
notify:
{notify}
"""


def definition(notify: str) -> str:
    return BASE.format(notify="\n".join("  " + line for line in notify.strip().splitlines()))


def make_job(user: User, lab: Any, notify: str, name: str = "one") -> TestJob:
    text = definition(notify).replace("{n}", name)
    data = yamlio.load(text)
    return TestJob.objects.create(
        submitter=user,
        definition=text,
        original_definition=text,
        description=data["job_name"],
        requested_device_type=lab.device_type,
        metadata={"node_id": "abc123", "build": "42"},
    )


def run_job(job: TestJob, health: int = JobHealth.COMPLETE, **kwargs: Any) -> None:
    with transaction.atomic():
        transitions.job_scheduled(job, Device.objects.get(hostname="qemu-01"))
        transitions.job_running(job)
    with transaction.atomic():
        transitions.job_finished(job, health, reason="test", **kwargs)


KERNELCI = """
criteria: {status: finished}
callback:
  url: http://kernelci.example/node/{ID}?s={STATUS}&w={ STATUS_STRING }&x={NOPE}
  method: POST
  dataset: all
  token: kernelci-callback
  content-type: json
"""


def test_a_kernelci_callback_is_owed_once_when_the_job_finishes(users, lab) -> None:
    owner = users["owner"]
    token = AuthToken.objects.create(user=owner, description="kernelci-callback")
    job = make_job(owner, lab, KERNELCI)
    with transaction.atomic():
        transitions.job_scheduled(job, Device.objects.get(hostname="qemu-01"))
        transitions.job_running(job)
    assert not Notification.objects.exists()  # status: finished only
    with transaction.atomic():
        transitions.job_finished(job, JobHealth.COMPLETE, reason="test")
    (row,) = Notification.objects.all()
    assert row.kind == "callback" and row.event == "Finished"
    assert row.target == f"http://kernelci.example/node/{job.id}?s=2&w=complete&x={{NOPE}}"
    assert (row.method, row.dataset, row.content_type) == ("POST", "all", "json")
    # the description of one of the submitter's tokens: its secret, in Authorization
    assert (row.header, row.token) == ("Authorization", token.secret)
    assert row.snapshot["state"] == JobState.FINISHED
    assert row.snapshot["health"] == JobHealth.COMPLETE


def test_rows_commit_with_the_state_change_or_not_at_all(users, lab) -> None:
    job = make_job(users["owner"], lab, KERNELCI)
    with transaction.atomic():
        transitions.job_scheduled(job, Device.objects.get(hostname="qemu-01"))
        transitions.job_running(job)
    with pytest.raises(RuntimeError), transaction.atomic():
        transitions.job_finished(job, JobHealth.COMPLETE, reason="test")
        assert Notification.objects.count() == 1
        raise RuntimeError("the request failed after the move")
    assert not Notification.objects.exists()
    assert TestJob.objects.get(pk=job.pk).state == JobState.RUNNING


def test_status_all_owes_callbacks_twice_and_mail_once(users, lab) -> None:
    notify = """
criteria: {status: all}
callbacks:
- {url: 'http://a.example/{ID}', token: a-literal-token, header: X-Token}
- {url: 'http://b.example/', method: POST}
recipients:
- to: {method: email, email: someone@example.com}
- to: {method: email, user: stranger}
- to: {method: irc, handle: bob}
"""
    job = make_job(users["owner"], lab, notify)
    run_job(job)
    rows = list(Notification.objects.order_by("id"))
    kinds = [(r.event, r.kind, r.index) for r in rows]
    assert kinds == [
        ("Running", "callback", 0),
        ("Running", "callback", 1),
        ("Running", "email", 0),
        ("Running", "email", 1),
        ("Running", "irc", 2),
        ("Finished", "callback", 0),
        ("Finished", "callback", 1),
    ]
    assert rows[0].header == "X-Token" and rows[0].token == "a-literal-token"
    assert rows[1].token == "" and rows[1].header == ""
    assert rows[2].target == "someone@example.com"
    assert rows[3].target == "stranger@example.com"


def test_with_no_recipients_and_no_callbacks_the_submitter_is_mailed(users, lab) -> None:
    job = make_job(users["owner"], lab, "criteria: {status: incomplete}")
    run_job(job, JobHealth.INCOMPLETE, error_type="Job", failure_comment="no prompt")
    (row,) = Notification.objects.all()
    assert (row.kind, row.target, row.event) == ("email", "owner@example.com", "Finished")


def test_a_job_canceled_in_the_queue_notifies(users, lab) -> None:
    job = make_job(users["owner"], lab, "criteria: {status: canceled}")
    with transaction.atomic():
        transitions.job_canceling(job, "not needed")
    (row,) = Notification.objects.all()
    assert row.snapshot["health"] == JobHealth.CANCELED


def test_regression_is_against_the_previous_job_of_the_same_name(users, lab) -> None:
    notify = "criteria: {status: incomplete, type: regression}"
    first = make_job(users["owner"], lab, notify)
    run_job(first, JobHealth.INCOMPLETE)  # no previous job: nothing
    second = make_job(users["owner"], lab, notify)
    run_job(second, JobHealth.COMPLETE)
    third = make_job(users["owner"], lab, notify)
    run_job(third, JobHealth.INCOMPLETE)  # Complete -> Incomplete: a regression
    other = make_job(users["owner"], lab, notify, name="another name")
    run_job(other, JobHealth.INCOMPLETE)
    assert list(Notification.objects.values_list("job_id", flat=True)) == [third.id]


def test_jobs_without_notify_or_with_an_unreadable_definition_owe_nothing(users, lab) -> None:
    job = make_job(users["owner"], lab, "criteria: {status: all}")
    TestJob.objects.filter(pk=job.pk).update(definition="notify: [unclosed")
    job.refresh_from_db()
    run_job(job)
    assert not Notification.objects.exists()


def test_the_callback_body_has_lavas_fields_and_types(users, lab) -> None:
    owner = users["owner"]
    job = make_job(owner, lab, KERNELCI)
    store = log_store()
    lines = [
        log.encode("info", "start"),
        log.encode("target", "Linux version 6.1"),
        log.encode("results", {"definition": "lava", "case": "job", "result": "pass"}),
    ]
    store.append(job.id, 0, "".join(line + "\n" for line in lines))
    suite = TestSuite.objects.create(job=job, name="lava")
    TestCase.objects.create(
        suite=suite,
        name="login-action",
        result=TestCase.Result.PASS,
        metadata=yamlio.dump({"case": "login-action", "result": "pass", "level": "2.4"}),
    )
    suite2 = TestSuite.objects.create(job=job, name="0_smoke")
    TestCase.objects.create(
        suite=suite2, name="uname", result=TestCase.Result.FAIL, measurement=1.5, units="s"
    )
    run_job(job, JobHealth.INCOMPLETE, error_type="Test", failure_comment="uname failed")
    row = Notification.objects.get()
    data = body.for_notification(row, 1 << 20)
    data = json.loads(json.dumps(data))  # what goes over the wire
    assert data["id"] == job.id
    assert (data["status"], data["status_string"]) == (3, "incomplete")
    assert (data["state"], data["state_string"]) == (5, "Finished")
    assert (data["health"], data["health_string"]) == (2, "Incomplete")
    for key in ("submit_time", "start_time", "end_time"):
        assert isinstance(data[key], str) and " " in data[key] and "T" not in data[key]
    assert data["submitter_username"] == "owner"
    assert data["submitter_email"] == "owner@example.com"
    assert data["failure_comment"] == "uname failed"
    assert data["priority"] == 50 and data["description"] == "notified one"
    assert data["actual_device_id"] == "qemu-01"
    assert data["health_check"] is False
    assert yamlio.load(data["definition"])["job_name"] == "notified one"
    assert data["metadata"] == [{"build": "42"}, {"node_id": "abc123"}]
    # log: output.yaml as text, a list of {dt, lvl, msg} (KernelCI reads target lines)
    entries = yamlio.load(data["log"])
    assert [e["lvl"] for e in entries] == ["info", "target", "results"]
    assert entries[1]["msg"] == "Linux version 6.1"
    # results: one YAML string per suite, a list of case dicts
    assert set(data["results"]) == {"lava", "0_smoke"}
    (login,) = yamlio.load(data["results"]["lava"])
    assert login["name"] == "login-action" and login["result"] == "pass"
    assert login["metadata"]["level"] == "2.4"
    (uname,) = yamlio.load(data["results"]["0_smoke"])
    assert (uname["result"], uname["unit"]) == ("fail", "s")
    assert float(uname["measurement"]) == 1.5


def test_minimal_leaves_out_log_and_results_and_a_big_log_is_cut_at_a_line(users, lab) -> None:
    job = make_job(users["owner"], lab, KERNELCI)
    log_store().append(job.id, 0, "".join(log.encode("info", "x" * 50) + "\n" for _ in range(10)))
    run_job(job)
    row = Notification.objects.get()
    minimal = body.job_data(row.job, row.snapshot, output=False, results=False, log_limit=0)
    assert "log" not in minimal and "results" not in minimal
    cut = body.job_data(row.job, row.snapshot, output=True, results=False, log_limit=250)
    assert 0 < len(cut["log"]) <= 250 and cut["log"].endswith("\n")
    assert all(e["lvl"] == "info" for e in yamlio.load(cut["log"]))


def test_urlencoded_flattens_as_requests_does() -> None:
    encoded = body.encoded(
        {
            "id": 7,
            "failure_comment": None,
            "health_check": False,
            "metadata": [{"a": "1"}, {"b": "2"}],
            "results": {"lava": "- {}\n"},
            "log": "- {dt: x}\n",
        }
    )
    assert (
        encoded
        == b"id=7&health_check=False&metadata=a&metadata=b&results=lava&log=-+%7Bdt%3A+x%7D%0A"
    )


@pytest.mark.parametrize(
    ("state", "health", "status"),
    [
        (JobState.SUBMITTED, JobHealth.UNKNOWN, 0),
        (JobState.SCHEDULED, JobHealth.UNKNOWN, 0),
        (JobState.RUNNING, JobHealth.UNKNOWN, 1),
        (JobState.FINISHED, JobHealth.COMPLETE, 2),
        (JobState.FINISHED, JobHealth.INCOMPLETE, 3),
        (JobState.FINISHED, JobHealth.UNKNOWN, 3),
        (JobState.FINISHED, JobHealth.CANCELED, 4),
        (JobState.CANCELING, JobHealth.UNKNOWN, 5),
    ],
)
def test_legacy_status(state: int, health: int, status: int) -> None:
    assert legacy_status(state, health) == status


def test_placeholders_never_expose_the_job_token(users, lab) -> None:
    job = make_job(users["owner"], lab, KERNELCI)
    job.token = "s3cret"
    assert outbox.substitute("http://x/{TOKEN}/{ID}", job) == f"http://x/{{TOKEN}}/{job.id}"
