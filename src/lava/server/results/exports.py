"""A job's results as LAVA exports them: YAML, CSV, JUnit XML, TAP13, suite lists, metadata.

The REST API and XML-RPC both answer from here, so the same job gives the
same bytes on either. Field names and orders are LAVA's, which scripts parse.
"""

from __future__ import annotations

import csv
import io
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from django.db.models import QuerySet

from lava.common import yamlio
from lava.server.logs.store import log_store
from lava.server.results.models import TestCase, TestSuite
from lava.server.scheduler.models import TestJob

# LAVA's column order (``testcase_export_fields``); CSV readers index by it
CASE_FIELDS = (
    "job",
    "suite",
    "result",
    "measurement",
    "unit",
    "duration",
    "timeout",
    "logged",
    "level",
    "metadata",
    "url",
    "name",
    "id",
    "log_start_line",
    "log_end_line",
)
SUITE_FIELDS = ("name", "job", "id")
# what makes a spreadsheet read a CSV cell as a formula (OWASP: CSV injection)
FORMULA_START = frozenset("=+-@\t\r")
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
# characters XML 1.0 cannot carry at all, even escaped
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def export_testcase(case: TestCase) -> dict[str, Any]:
    """A case as LAVA exports it (YAML/CSV/XML-RPC): strings, plus a metadata dict."""
    metadata: dict[str, Any] = {}
    try:
        loaded = yamlio.load(case.metadata) if case.metadata else None
    except yamlio.YAMLError:
        loaded = None
    if isinstance(loaded, dict):
        metadata = loaded
    extra = metadata.get("extra")
    if isinstance(extra, str) and Path(extra).is_file():
        try:
            items = yamlio.load(Path(extra).read_text())
        except (OSError, yamlio.YAMLError):
            items = None
        metadata["extra"] = (
            [{key: value} for key, value in items.items()] if isinstance(items, dict) else []
        )
    return {
        "name": str(case.name),
        "job": str(case.suite.job_id),
        "suite": str(case.suite.name),
        "result": TestCase.Result(case.result).label,
        "measurement": str(case.measurement),
        "unit": str(case.units),
        "level": metadata.get("level", ""),
        "url": f"/results/testcase/{case.id}",
        "id": str(case.id),
        "logged": str(case.logged),
        "log_start_line": str(case.start_log_line) if case.start_log_line else "",
        "log_end_line": str(case.end_log_line) if case.end_log_line else "",
        "metadata": metadata,
    }


def export_testsuite(suite: TestSuite) -> dict[str, str]:
    """A suite as LAVA lists it: name, job and id, as strings."""
    return {"name": str(suite.name), "job": str(suite.job_id), "id": str(suite.id)}


def job_cases(job: TestJob, suite: str | None = None) -> QuerySet[TestCase]:
    """The job's test cases (of one suite, by name), in the order they were recorded."""
    cases = TestCase.objects.filter(suite__job=job).select_related("suite").order_by("id")
    return cases if suite is None else cases.filter(suite__name=suite)


def job_suites(job: TestJob) -> QuerySet[TestSuite]:
    """The job's suites, in the order they were first reported."""
    return TestSuite.objects.filter(job=job).order_by("id")


def cases_yaml(cases: Iterable[TestCase]) -> str:
    """Cases as LAVA's YAML export: a list of ``export_testcase`` mappings."""
    return yamlio.dump([export_testcase(case) for case in cases])


def cases_csv(cases: Iterable[TestCase]) -> str:
    """Cases as LAVA's CSV export: a header, then one quoted row per case."""
    return _csv(CASE_FIELDS, (export_testcase(case) for case in cases))


def suites_yaml(job: TestJob) -> str:
    """The job's suites as a YAML list of name, job and id."""
    return yamlio.dump([export_testsuite(suite) for suite in job_suites(job)])


def suites_csv(job: TestJob) -> str:
    """The job's suites as CSV: name, job, id."""
    return _csv(SUITE_FIELDS, (export_testsuite(suite) for suite in job_suites(job)))


def spreadsheet_safe(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: one that would start a formula gets a ``'``.

    OWASP's advice for CSV injection: a cell starting with ``= + - @``, a tab or a
    carriage return is prefixed with a single quote. A plain number (``-1.5``)
    is left as it is: it cannot run, and measurements are often negative.
    """
    text = "" if value is None else str(value)
    if text[:1] in FORMULA_START and not NUMBER.fullmatch(text):
        return "'" + text
    return text


def _csv(fields: tuple[str, ...], rows: Iterable[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, quoting=csv.QUOTE_ALL, extrasaction="ignore")
    writer.writeheader()
    writer.writerows({key: spreadsheet_safe(row.get(key)) for key in fields} for row in rows)
    return out.getvalue()


def job_metadata(metadata: dict[str, Any]) -> list[dict[str, str]]:
    """A job's ``metadata`` (as shown: ``definitions.shown``) as LAVA returns it:
    single-key mappings of strings.

    Sorted by key: PostgreSQL's jsonb keeps no order, and both databases must agree.
    """
    return [{str(key): str(value)} for key, value in sorted((metadata or {}).items())]


def _case_log(job: TestJob, case: TestCase) -> str | None:
    """The log lines of a case (at least its own line), or None when it has none recorded."""
    if case.start_log_line is None or case.end_log_line is None:
        return None
    start = case.start_log_line
    end = max(case.end_log_line, start + 1)
    return log_store().read(job.id, start, end).decode("utf-8", "replace")


def _duration(metadata: dict[str, Any]) -> float | None:
    try:
        return float(metadata["duration"])
    except (KeyError, TypeError, ValueError):
        return None


def _xml_text(value: Any) -> str:
    return _NOT_XML.sub("?", str(value))


def junit(job: TestJob, classname_prefix: str = "") -> bytes:
    """The job's results as a JUnit XML report: one ``testsuite`` per suite.

    A failed case carries its log lines as the failure's text, a skipped one a
    ``skipped`` element; ``classname`` is the suite, after ``classname_prefix_``.
    """
    prefix = f"{classname_prefix}_" if classname_prefix else ""
    root = ET.Element("testsuites")
    totals = {"tests": 0, "failures": 0, "time": 0.0}
    by_suite: dict[int, list[TestCase]] = {}
    for case in job_cases(job).iterator():
        by_suite.setdefault(case.suite_id, []).append(case)
    for suite in job_suites(job):
        cases = by_suite.get(suite.id, [])
        element = ET.SubElement(root, "testsuite")
        failures = skipped = 0
        elapsed = 0.0
        for case in cases:
            exported = export_testcase(case)
            item = ET.SubElement(element, "testcase", name=_xml_text(case.name))
            duration = _duration(exported["metadata"])
            if duration is not None:
                item.set("time", f"{duration:f}")
                elapsed += duration
            item.set("timestamp", case.logged.isoformat())
            item.set("classname", _xml_text(prefix + suite.name))
            if case.result == TestCase.Result.FAIL:
                failures += 1
                failure = ET.SubElement(item, "failure", type="failure", message="failed")
                logs = _case_log(job, case)
                if logs:
                    failure.text = _xml_text(logs)
            elif case.result == TestCase.Result.SKIP:
                skipped += 1
                ET.SubElement(item, "skipped", type="skipped", message="skipped")
        attributes = {
            "disabled": "0",
            "errors": "0",
            "failures": str(failures),
            "name": _xml_text(suite.name),
            "skipped": str(skipped),
            "tests": str(len(cases)),
            "time": str(round(elapsed, 6)),
        }
        if job.end_time is not None:
            attributes["timestamp"] = job.end_time.isoformat()
        for key, value in attributes.items():
            element.set(key, value)
        totals["tests"] += len(cases)
        totals["failures"] += failures
        totals["time"] += elapsed
    root.set("disabled", "0")
    root.set("errors", "0")
    root.set("failures", str(totals["failures"]))
    root.set("tests", str(totals["tests"]))
    root.set("time", str(round(totals["time"], 6)))
    ET.indent(root, space="\t")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def tap13(job: TestJob) -> str:
    """The job's results as a TAP version 13 stream, numbered across suites.

    Each suite opens with a ``# TAP results for <suite>`` comment; a failed
    case carries its log lines as a YAML diagnostic block, a skipped one the
    SKIP directive and an unknown one a TODO.
    """
    cases = job_cases(job).order_by("suite_id", "id")  # suite by suite, as LAVA
    lines = ["TAP version 13", f"1..{cases.count()}"]
    current = None
    for number, case in enumerate(cases.iterator(), start=1):
        if case.suite.name != current:
            current = case.suite.name
            lines.append(f"# TAP results for {current}")
        if case.result == TestCase.Result.FAIL:
            lines.append(f"not ok {number} {case.name}")
            logs = _case_log(job, case)
            if logs is not None:
                lines.append(" ---\n " + "\n ".join(logs.split("\n")) + "...")
        elif case.result == TestCase.Result.SKIP:
            lines.append(f"ok {number} {case.name} # SKIP test skipped")
        elif case.result == TestCase.Result.UNKNOWN:
            lines.append(f"not ok {number} {case.name} # TODO unknown result")
        else:
            lines.append(f"ok {number} {case.name}")
    return "\n".join(lines) + "\n"
