"""``scheduler.jobs.*`` over XML-RPC, as lavacli calls them; a private job stays private."""

from __future__ import annotations

import xmlrpc.client

import pytest
from rpc_helpers import basic, rpc

from lava.common import log
from lava.server.logs.store import log_store
from lava.server.results.ingest import ingest
from lava.server.scheduler.models import AuthToken, TestJob
from lava.server.scheduler.states import JobState

PUBLIC = "job_name: public job\ndevice_type: qemu\nvisibility: public\n" + (
    "timeouts:\n  job: {minutes: 5}\nactions: []\n"
)
PRIVATE = PUBLIC.replace("public job", "private job").replace(
    "visibility: public", "visibility: personal"
)


@pytest.fixture
def client():
    from django.test import Client

    return Client(HTTP_HOST="localhost")


@pytest.fixture
def tokens(users, lab, data_dir):
    return {
        name: basic(name, AuthToken.objects.create(user=user).secret)
        for name, user in users.items()
    }


def fault_code(call) -> int:
    with pytest.raises(xmlrpc.client.Fault) as fault:
        call()
    return fault.value.faultCode


def test_submit_show_list_definition(client, tokens) -> None:
    job_id = rpc(client, "scheduler.jobs.submit", PUBLIC, auth=tokens["owner"])
    shown = rpc(client, "scheduler.jobs.show", job_id)
    assert shown["id"] == job_id and shown["state"] == "Submitted"
    assert shown["health"] == "Unknown" and shown["submitter"] == "owner"
    assert shown["visibility"] == "Public" and shown["device_type"] == "qemu"
    assert shown["submit_time"].year >= 2026 and shown["start_time"] is None
    listed = rpc(client, "scheduler.jobs.list", None, None, 0, 25, 0, True)
    assert [row["id"] for row in listed] == [job_id]
    assert listed[0]["actual_device"] is None
    assert rpc(client, "scheduler.jobs.list", "SUBMITTED") != []
    assert rpc(client, "scheduler.jobs.list", "finished") == []
    assert rpc(client, "scheduler.jobs.definition", job_id) == PUBLIC
    assert rpc(client, "scheduler.jobs.queue") == [
        {
            "id": job_id,
            "description": "public job",
            "requested_device_type": "qemu",
            "submitter": "owner",
        }
    ]


def test_submit_needs_a_user_and_a_valid_job(client, tokens) -> None:
    assert fault_code(lambda: rpc(client, "scheduler.jobs.submit", PUBLIC)) == 401
    bad = PUBLIC.replace("device_type: qemu", "device_type: nope")
    assert (
        fault_code(lambda: rpc(client, "scheduler.jobs.submit", bad, auth=tokens["owner"])) == 400
    )
    assert TestJob.objects.count() == 0


def test_bad_list_filters(client, tokens) -> None:
    assert fault_code(lambda: rpc(client, "scheduler.jobs.list", "sleeping")) == 400
    assert fault_code(lambda: rpc(client, "scheduler.jobs.list", None, "great")) == 400


def test_cancel_and_resubmit(client, tokens) -> None:
    job_id = rpc(client, "scheduler.jobs.submit", PUBLIC, auth=tokens["owner"])
    assert (
        fault_code(lambda: rpc(client, "scheduler.jobs.cancel", job_id, auth=tokens["stranger"]))
        == 403
    )
    assert rpc(client, "scheduler.jobs.cancel", job_id, auth=tokens["owner"]) is True
    assert TestJob.objects.get(id=job_id).state == JobState.FINISHED
    assert (
        fault_code(lambda: rpc(client, "scheduler.jobs.cancel", job_id, auth=tokens["owner"]))
        == 400
    )
    again = rpc(client, "scheduler.jobs.resubmit", job_id, auth=tokens["stranger"])
    assert TestJob.objects.get(id=again).submitter.username == "stranger"


def test_validate(client, tokens) -> None:
    assert rpc(client, "scheduler.jobs.validate", PUBLIC) == {}
    problem = rpc(client, "scheduler.jobs.validate", PUBLIC + "bogus: 1\n", True)
    assert "bogus" in problem["msg"] + problem["path"]
    assert "YAML" in rpc(client, "scheduler.jobs.validate", "a: [")["msg"]


def test_logs_in_pages(client, tokens) -> None:
    job_id = rpc(client, "scheduler.jobs.submit", PUBLIC, auth=tokens["owner"])
    text = "".join(log.encode("info", f"line {n}") + "\n" for n in range(5))
    log_store().append(job_id, 0, text)
    finished, data = rpc(client, "scheduler.jobs.logs", job_id)
    assert finished is False and data.decode() == text
    _, page = rpc(client, "scheduler.jobs.logs", job_id, 3)
    assert page.decode() == "".join(text.splitlines(keepends=True)[3:])
    _, page = rpc(client, "scheduler.jobs.logs", job_id, 1, 2)
    assert page.decode() == text.splitlines(keepends=True)[1]


def test_a_private_job_is_absent_for_others(client, tokens) -> None:
    job_id = rpc(client, "scheduler.jobs.submit", PRIVATE, auth=tokens["owner"])
    log_store().append(job_id, 0, log.encode("info", "secret") + "\n")
    ingest(
        TestJob.objects.get(id=job_id),
        1,
        log.encode("results", {"definition": "0_t", "case": "c", "result": "pass"}),
    )
    assert rpc(client, "scheduler.jobs.show", job_id, auth=tokens["owner"])["visibility"] == (
        "Personal"
    )
    assert rpc(client, "scheduler.jobs.show", job_id, auth=tokens["admin"])["id"] == job_id
    for who in ({}, tokens["stranger"]):
        assert rpc(client, "scheduler.jobs.list", auth=who) == []
        assert rpc(client, "scheduler.jobs.queue", auth=who) == []
        for name in ("show", "logs", "definition", "configuration", "cancel", "resubmit"):
            code = fault_code(
                lambda n=name, w=who: rpc(client, f"scheduler.jobs.{n}", job_id, auth=w)
            )
            assert code in (401, 404), (name, code)
        for name in ("show", "logs", "definition"):
            message = ""
            try:
                rpc(client, f"scheduler.jobs.{name}", job_id, auth=who)
            except xmlrpc.client.Fault as fault:
                message = fault.faultString
            assert message == f"Job '{job_id}' was not found."


def test_show_a_finished_group_job(client, tokens, users, lab) -> None:
    from django.contrib.auth.models import Group, User
    from django.utils import timezone

    from lava.server.results.models import TestCase, TestSuite
    from lava.server.scheduler.models import Tag
    from lava.server.scheduler.states import JobHealth, Visibility

    job = TestJob.objects.create(
        submitter=users["admin"],
        definition="job_name: t\n",
        description="flaky board",
        requested_device_type=lab.device_type,
        actual_device_id="qemu-01",
        visibility=Visibility.GROUP,
        state=JobState.FINISHED,
        health=JobHealth.INCOMPLETE,
        start_time=timezone.now(),
        end_time=timezone.now(),
        failure_comment="it hung",
    )
    other = Group.objects.create(name="other")
    job.viewing_groups.set([Group.objects.get(name="lab"), other])
    job.tags.set([Tag.objects.create(name="usb"), Tag.objects.create(name="audio")])
    suite = TestSuite.objects.create(job=job, name="lava")
    metadata = "error_msg: no prompt\nerror_type: Infrastructure\n"
    TestCase.objects.create(suite=suite, name="job", result=1, metadata=metadata)
    both = User.objects.create_user("both")
    both.groups.set([Group.objects.get(name="lab"), other])
    both_token = basic("both", AuthToken.objects.create(user=both).secret)
    for who in (tokens["admin"], both_token):
        shown = rpc(client, "scheduler.jobs.show", job.id, auth=who)
        assert shown["visibility"] == "Group (lab, other)" and shown["tags"] == ["audio", "usb"]
        assert (shown["state"], shown["health"], shown["device"]) == (
            "Finished",
            "Incomplete",
            "qemu-01",
        )
        assert (shown["error_msg"], shown["error_type"]) == ("no prompt", "Infrastructure")
        assert shown["submitter"] == "admin" and shown["failure_comment"] == "it hung"
    for who in (tokens["owner"], tokens["stranger"], {}):  # owner is in one group of two
        assert fault_code(lambda w=who: rpc(client, "scheduler.jobs.show", job.id, auth=w)) == 404
