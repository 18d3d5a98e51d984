"""``/api/v0.2/jobs/<id>/`` results: nested suites and tests, exports, metadata, who sees them."""

from __future__ import annotations

import csv
import io

import junitparser
import pytest
from django.test import Client
from tap.parser import Parser

from lava.common import log, yamlio
from lava.server.logs.store import log_store
from lava.server.results.ingest import ingest
from lava.server.results.models import TestSuite
from lava.server.scheduler.models import AuthToken, TestJob
from lava.server.scheduler.states import Visibility

BASE = "/api/v0.2"


@pytest.fixture
def auth(users, lab, data_dir) -> dict[str, dict[str, str]]:
    return {
        name: {"HTTP_AUTHORIZATION": f"Token {AuthToken.objects.create(user=user).secret}"}
        for name, user in users.items()
    }


def job_with_results(users, visibility: int = Visibility.PUBLIC) -> TestJob:
    job = TestJob.objects.create(
        submitter=users["owner"],
        definition="job_name: x\n",
        visibility=visibility,
        metadata={"build": "42"},
    )
    lines = [
        log.encode("target", "checking") + "\n",
        log.encode("results", {"definition": "lava", "case": "job", "result": "pass"}) + "\n",
        log.encode(
            "results",
            {"definition": "0_smoke", "case": "net", "result": "fail", "starttc": 0, "endtc": 1},
        )
        + "\n",
        log.encode("results", {"definition": "0_smoke", "case": "uname", "result": "pass"}) + "\n",
    ]
    log_store().append(job.id, 0, "".join(lines))
    ingest(job, 0, "".join(lines))
    return job


def test_nested_suites_and_tests(client: Client, users, auth) -> None:
    job = job_with_results(users)
    suites = client.get(f"{BASE}/jobs/{job.id}/suites/").json()
    assert suites["count"] == 2 and [s["name"] for s in suites["results"]] == ["lava", "0_smoke"]
    smoke = TestSuite.objects.get(job=job, name="0_smoke")
    assert client.get(f"{BASE}/jobs/{job.id}/suites/{smoke.id}/").json()["name"] == "0_smoke"
    assert client.get(f"{BASE}/jobs/{job.id}/suites/?name=lava").json()["count"] == 1
    tests = client.get(f"{BASE}/jobs/{job.id}/suites/{smoke.id}/tests/").json()
    assert [(t["name"], t["result"]) for t in tests["results"]] == [
        ("net", "fail"),
        ("uname", "pass"),
    ]
    failed = client.get(f"{BASE}/jobs/{job.id}/tests/?result=fail").json()["results"]
    assert [t["name"] for t in failed] == ["net"]
    one = client.get(f"{BASE}/jobs/{job.id}/tests/{failed[0]['id']}/").json()
    assert (one["name"], one["start_log_line"], one["end_log_line"]) == ("net", 0, 1)
    assert client.get(f"{BASE}/jobs/{job.id}/tests/?result=great").status_code == 400
    assert client.get(f"{BASE}/jobs/{job.id}/tests/?name__startswith=u").json()["count"] == 1
    # a suite of another job is not found under this one
    other = job_with_results(users)
    other_suite = TestSuite.objects.get(job=other, name="lava")
    assert client.get(f"{BASE}/jobs/{job.id}/suites/{other_suite.id}/").status_code == 404
    assert client.get(f"{BASE}/jobs/{job.id}/suites/x/").status_code == 404
    assert client.get(f"{BASE}/jobs/999/suites/").status_code == 404


def test_exports(client: Client, users, auth) -> None:
    job = job_with_results(users)
    smoke = TestSuite.objects.get(job=job, name="0_smoke")
    junit = client.get(f"{BASE}/jobs/{job.id}/junit/?classname_prefix=ci")
    assert junit["Content-Type"].startswith("application/xml")
    assert junit["Content-Disposition"] == f"attachment; filename=job_{job.id}.xml"
    report = junitparser.JUnitXml.fromstring(junit.content.decode())
    assert (report.tests, report.failures) == (3, 1)
    assert {case.classname for suite in report for case in suite} == {"ci_lava", "ci_0_smoke"}
    tap = client.get(f"{BASE}/jobs/{job.id}/tap13/").content.decode()
    oks = [r.ok for r in Parser().parse_text(tap) if r.category == "test"]
    assert oks == [True, False, True]
    rows = list(csv.DictReader(io.StringIO(client.get(f"{BASE}/jobs/{job.id}/csv/").text)))
    assert [r["name"] for r in rows] == ["job", "net", "uname"]
    paged = client.get(f"{BASE}/jobs/{job.id}/yaml/?limit=1&offset=1").content
    assert [r["name"] for r in yamlio.load(paged)] == ["net"]
    suite_csv = client.get(f"{BASE}/jobs/{job.id}/suites/{smoke.id}/csv/").text
    assert [r["name"] for r in csv.DictReader(io.StringIO(suite_csv))] == ["net", "uname"]
    suite_yaml = client.get(f"{BASE}/jobs/{job.id}/suites/{smoke.id}/yaml/?limit=1").content
    assert [r["name"] for r in yamlio.load(suite_yaml)] == ["net"]
    assert client.get(f"{BASE}/jobs/{job.id}/csv/?limit=x").status_code == 400
    metadata = client.get(f"{BASE}/jobs/{job.id}/metadata/").json()
    assert metadata == {"metadata": [{"build": "42"}]}


def test_a_private_jobs_results_are_404_for_others(client: Client, users, auth) -> None:
    job = job_with_results(users, Visibility.PERSONAL)
    suite = TestSuite.objects.get(job=job, name="0_smoke")
    case_id = suite.testcases.first().id
    tails = [
        "suites/",
        f"suites/{suite.id}/",
        f"suites/{suite.id}/tests/",
        f"suites/{suite.id}/csv/",
        f"suites/{suite.id}/yaml/",
        "tests/",
        f"tests/{case_id}/",
        "junit/",
        "tap13/",
        "csv/",
        "yaml/",
        "metadata/",
    ]
    for tail in tails:
        assert client.get(f"{BASE}/jobs/{job.id}/{tail}", **auth["owner"]).status_code == 200
        for who in ({}, auth["stranger"]):
            answer = client.get(f"{BASE}/jobs/{job.id}/{tail}", **who)
            assert answer.status_code == 404, (tail, answer.status_code)
            assert answer.json() == {"detail": f"Job '{job.id}' was not found."}


def test_batch_cancel(client: Client, users, auth) -> None:
    mine = [
        TestJob.objects.create(submitter=users["owner"], definition="job_name: x\n")
        for _ in range(2)
    ]
    theirs = TestJob.objects.create(submitter=users["admin"], definition="job_name: y\n")
    url = f"{BASE}/jobs/batch-cancel/"
    body = {"job_ids": [mine[0].id, mine[1].id, theirs.id, 999, "x"]}
    assert client.post(url, body, content_type="application/json").status_code == 401
    answer = client.post(url, body, content_type="application/json", **auth["owner"])
    assert answer.status_code == 200
    assert answer.json()["job_ids"] == [mine[0].id, mine[1].id]
    assert answer.json()["invalid_job_ids"] == [theirs.id, 999, "x"]
    assert TestJob.objects.get(id=theirs.id).state == 0  # still Submitted
    assert all(TestJob.objects.get(id=job.id).state != 0 for job in mine)
    empty = client.post(url, {"job_ids": []}, content_type="application/json", **auth["owner"])
    assert empty.status_code == 400


def test_validate_testdef(client: Client, auth) -> None:
    url = f"{BASE}/jobs/validate_testdef/"
    good = (
        "metadata:\n  format: Lava-Test Test Definition 1.0\n  name: smoke\n"
        "run:\n  steps: [uname -a]\n"
    )
    assert client.post(url, {"definition": good}).json() == {"message": "Test definition valid."}
    bad = client.post(url, {"definition": "metadata:\n  name: smoke\n"}).json()["message"]
    assert bad == "Test definition invalid: required key not provided @ metadata.format"
    assert client.post(url, {}).status_code == 400
