"""Paging with numbers past what a database takes: capped, never a server error."""

from __future__ import annotations

import xmlrpc.client

import pytest
from django.test import Client

from lava.common import log
from lava.server.api.bounds import MAX_OFFSET, bounded
from lava.server.api.rest.paging import MAX_LIMIT
from lava.server.logs.store import log_store
from lava.server.results.ingest import ingest
from lava.server.scheduler.models import Tag, TestJob

HUGE = 250710249480341581463552  # found by schemathesis: SQLite took it for a datatype error


def test_bounded() -> None:
    assert bounded(-5, -1) == (0, 0)
    assert bounded(HUGE, HUGE) == (MAX_OFFSET, 0)
    assert bounded(10, HUGE) == (10, MAX_OFFSET - 10)
    assert bounded(3, None) == (3, None)


@pytest.mark.parametrize("resource", ["tags", "jobs", "devices", "devicetypes", "workers"])
def test_huge_limits_and_offsets(client: Client, lab, users, resource) -> None:
    Tag.objects.create(name="usb")
    TestJob.objects.create(submitter=users["owner"], definition="x")
    capped = client.get(f"/api/v0.2/{resource}/?limit={HUGE}")
    assert capped.status_code == 200 and capped.json()["count"] >= 1
    assert len(capped.json()["results"]) == capped.json()["count"]
    past = client.get(f"/api/v0.2/{resource}/?offset={HUGE}")
    assert past.status_code == 200 and past.json()["results"] == []


def test_a_big_limit_gets_a_page_and_a_next_link(client: Client, lab, users) -> None:
    TestJob.objects.bulk_create(
        TestJob(submitter=users["owner"], definition="x") for _ in range(MAX_LIMIT + 1)
    )
    page = client.get(f"/api/v0.2/jobs/?limit={MAX_LIMIT * 10}").json()
    assert len(page["results"]) == MAX_LIMIT and page["next"]


def test_exports_and_xmlrpc_take_huge_numbers(client: Client, lab, users, data_dir) -> None:
    job = TestJob.objects.create(submitter=users["owner"], definition="x")
    line = log.encode("results", {"definition": "0_t", "case": "a", "result": "pass"}) + "\n"
    log_store().append(job.id, 0, line)
    ingest(job, 0, line)
    assert client.get(f"/api/v0.2/jobs/{job.id}/csv/?limit={HUGE}").status_code == 200
    assert client.get(f"/api/v0.2/jobs/{job.id}/yaml/?offset={HUGE}").content == b"[]\n"
    # within 64 bits, an offset past any table reads as its end
    assert huge_rpc(client, "scheduler.jobs.list", None, None, MARK, 10, 0, False) == []
    assert huge_rpc(client, "scheduler.jobs.queue", None, MARK, 10) == []
    suite = huge_rpc(client, "results.get_testsuite_results_yaml", job.id, "0_t", MARK, MARK)
    assert suite == "[]\n"
    assert huge_rpc(client, "scheduler.job_output", job.id, MARK) == b""
    # beyond, it is not an XML-RPC int at all: the parameter is refused, naming it
    with pytest.raises(xmlrpc.client.Fault) as fault:
        huge_rpc(client, "scheduler.jobs.queue", None, MARK, 10, huge=HUGE)
    assert fault.value.faultCode == -32602 and "(start) must be an int" in fault.value.faultString


MARK = 1234567891  # stands for a bigger number, which xmlrpc.client refuses to send (32-bit)


def huge_rpc(client: Client, name: str, *params: object, huge: int = MAX_OFFSET) -> object:
    """A call whose MARK arguments reach the server as ``huge``, as a hand-written client may
    send."""
    body = xmlrpc.client.dumps(params, name, allow_none=True).replace(str(MARK), str(huge))
    answer = client.post("/RPC2", body, content_type="text/xml")
    (result,), _ = xmlrpc.client.loads(answer.content, use_builtin_types=True)
    return result
