"""LAVA's exports of a job's results: YAML, CSV, JUnit (read by junitparser), TAP13 (by tap.py)."""

from __future__ import annotations

import csv
import io
from typing import Any

import junitparser
import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from tap.parser import Parser

from lava.common import log, yamlio
from lava.server.logs.store import log_store
from lava.server.results import exports
from lava.server.results.exports import export_testcase
from lava.server.results.ingest import ingest
from lava.server.results.models import TestCase
from lava.server.scheduler.models import TestJob

DT = "2026-01-05T10:00:30.500000+00:00"
SPAN = {"starttc": 2, "endtc": 4}  # the case's own lines: 2 and 3


def line(lvl: str, msg: Any) -> str:
    return log.encode(lvl, msg, DT) + "\n"


@pytest.fixture
def job(users: dict[str, User], data_dir) -> TestJob:
    return TestJob.objects.create(
        submitter=users["owner"],
        definition="job_name: x\n",
        metadata={"build": "1234", "branch": "main"},
    )


def run(job: TestJob) -> TestJob:
    """A job log with lava and test-shell results: 2 pass, 1 fail (with its lines), 1 skip."""
    lines = [
        line("info", "start"),
        line("results", {"definition": "lava", "case": "job", "result": "pass", "duration": 2.5}),
        line("target", "+ ./check-network"),
        line("target", "ping: unreachable <&> \x1b"),
        line("results", {"definition": "0_smoke", "case": "network", "result": "fail"} | SPAN),
        line("results", {"definition": "0_smoke", "case": "uname", "result": "pass"}),
        line("results", {"definition": "0_smoke", "case": "usb", "result": "skip"}),
        line("results", {"definition": "1_extra", "case": "odd", "result": "unknown"}),
    ]
    text = "".join(lines)
    log_store().append(job.id, 0, text)
    ingest(job, 0, text)
    job.end_time = timezone.now()
    job.save(update_fields=["end_time"])
    return job


def test_export_testcase(job: TestJob) -> None:
    msg = {"definition": "0_smoke", "case": "uname", "result": "pass", "starttc": 412, "endtc": 415}
    [case] = ingest(job, 420, line("results", msg))
    case = TestCase.objects.select_related("suite").get(pk=case.pk)
    exported = export_testcase(case)
    assert exported == {
        "name": "uname",
        "job": str(job.id),
        "suite": "0_smoke",
        "result": "pass",
        "measurement": "None",
        "unit": "",
        "level": "",
        "url": f"/results/testcase/{case.id}",
        "id": str(case.id),
        "logged": str(case.logged),
        "log_start_line": "412",
        "log_end_line": "415",
        "metadata": {"definition": "0_smoke", "case": "uname", "result": "pass"},
    }


def test_yaml_and_csv_carry_the_same_cases(job: TestJob) -> None:
    run(job)
    cases = exports.job_cases(job)
    from_yaml = yamlio.load(exports.cases_yaml(cases))
    rows = list(csv.DictReader(io.StringIO(exports.cases_csv(cases))))
    assert [(r["suite"], r["name"], r["result"]) for r in from_yaml] == [
        ("lava", "job", "pass"),
        ("0_smoke", "network", "fail"),
        ("0_smoke", "uname", "pass"),
        ("0_smoke", "usb", "skip"),
        ("1_extra", "odd", "unknown"),
    ]
    assert [(r["suite"], r["name"], r["result"]) for r in rows] == [
        (r["suite"], r["name"], r["result"]) for r in from_yaml
    ]
    header = exports.cases_csv(cases).splitlines()[0]
    assert header == ",".join(f'"{name}"' for name in exports.CASE_FIELDS)
    assert rows[1]["log_start_line"] == "2" and rows[1]["log_end_line"] == "4"
    suites = yamlio.load(exports.suites_yaml(job))
    assert [s["name"] for s in suites] == ["lava", "0_smoke", "1_extra"]
    assert all(s["job"] == str(job.id) for s in suites)
    suite_rows = list(csv.DictReader(io.StringIO(exports.suites_csv(job))))
    assert suite_rows == suites


def test_junit_report_reads_back(job: TestJob, tmp_path) -> None:
    run(job)
    path = tmp_path / "job.xml"
    path.write_bytes(exports.junit(job, classname_prefix="lab"))
    report = junitparser.JUnitXml.fromfile(str(path))
    suites = {suite.name: suite for suite in report}
    assert list(suites) == ["lava", "0_smoke", "1_extra"]
    assert (suites["0_smoke"].tests, suites["0_smoke"].failures, suites["0_smoke"].skipped) == (
        3,
        1,
        1,
    )
    lava_case = next(iter(suites["lava"]))
    assert (lava_case.name, lava_case.classname, lava_case.time) == ("job", "lab_lava", 2.5)
    network = next(case for case in suites["0_smoke"] if case.name == "network")
    [failure] = network.result
    assert isinstance(failure, junitparser.Failure) and failure.message == "failed"
    # the case's log lines (2 and 3), control characters and all made safe for XML
    assert "check-network" in failure.text and "unreachable <&>" in failure.text
    assert "start" not in failure.text
    usb = next(case for case in suites["0_smoke"] if case.name == "usb")
    assert isinstance(usb.result[0], junitparser.Skipped)
    assert report.tests == 5 and report.failures == 1


def test_tap13_stream_reads_back(job: TestJob) -> None:
    run(job)
    text = exports.tap13(job)
    assert text.startswith("TAP version 13\n1..5\n# TAP results for lava\nok 1 job\n")
    parsed = list(Parser().parse_text(text))
    results = [item for item in parsed if item.category == "test"]
    assert [(r.number, r.ok, r.description) for r in results] == [
        (1, True, "job"),
        (2, False, "network"),
        (3, True, "uname"),
        (4, True, "usb"),
        (5, False, "odd"),
    ]
    assert results[3].skip and results[4].todo
    assert [item.expected_tests for item in parsed if item.category == "plan"] == [5]
    # the failure's log lines travel as its YAML diagnostic block
    assert results[1].yaml_block is not None
    assert [entry["msg"] for entry in results[1].yaml_block] == [
        "+ ./check-network",
        "ping: unreachable <&> \x1b",
    ]


def test_metadata_and_an_empty_job(job: TestJob) -> None:
    assert exports.job_metadata(job.metadata) == [{"branch": "main"}, {"build": "1234"}]
    assert exports.tap13(job) == "TAP version 13\n1..0\n"
    empty = junitparser.JUnitXml.fromstring(exports.junit(job).decode())
    assert empty.tests == 0
    assert exports.cases_csv(exports.job_cases(job)).count("\n") == 1


FORMULAS = ['=HYPERLINK("http://evil")', "+cmd|'/c calc'!A1", "-2+3", "@SUM(A1)"]


@pytest.mark.parametrize("cell", FORMULAS)
def test_csv_cells_that_start_a_formula_are_neutralised(job: TestJob, cell: str) -> None:
    """OWASP's advice against CSV injection: a leading ' makes the cell text."""
    text = line("results", {"definition": cell, "case": cell, "result": "pass"})
    log_store().append(job.id, 0, text)
    ingest(job, 0, text)
    for export in (exports.cases_csv(exports.job_cases(job)), exports.suites_csv(job)):
        rows = list(csv.DictReader(io.StringIO(export)))
        assert rows[0]["name"] == "'" + cell
        assert all(
            not value.startswith(tuple("=+-@\t\r")) for row in rows for value in row.values()
        )


@pytest.mark.parametrize("number", ["-1.5", "+2", "-0.25e-3", "42"])
def test_plain_numbers_stay_numbers(number: str) -> None:
    assert exports.spreadsheet_safe(number) == number
    assert exports.spreadsheet_safe("-" + number + "+A1") == "'-" + number + "+A1"


def test_tabs_and_carriage_returns_start_a_formula_too() -> None:
    assert exports.spreadsheet_safe("\t=1") == "'\t=1"
    assert exports.spreadsheet_safe("\r=1") == "'\r=1"
    assert exports.spreadsheet_safe(None) == ""
