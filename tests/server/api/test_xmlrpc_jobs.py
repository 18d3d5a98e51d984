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
