"""Class 9, stored: a public job with secrets that an older version accepted keeps them.

Written straight into the database, as an older version stored it, the job
runs; then anonymous callers and alice read it through every XML-RPC and REST
answer about a job: the job is there, its secrets are not. Its submitter still
reads them, nobody else may resubmit them, and the lab runs the next job.
"""

from __future__ import annotations

import secrets
import xmlrpc.client
from typing import Any

import pytest
from stored_jobs import store_job

from lava.common import yamlio
from lava.server.scheduler.states import Visibility

pytestmark = pytest.mark.slow

MASK = "[MASKED]"


def old_public_job(security_lab) -> tuple[str, dict[str, str]]:
    """The quick job, public, with secrets (one also in its metadata, through an alias)."""
    values = {"API_TOKEN": f"hush-{secrets.token_hex(8)}", "PASSWORD": secrets.token_hex(10)}
    definition = yamlio.load(security_lab.quick_job("an old public job with secrets"))
    definition["visibility"] = "public"
    definition["secrets"] = values
    text = yamlio.dump(definition)
    anchored = text.replace(f"API_TOKEN: {values['API_TOKEN']}", "API_TOKEN: *token")
    text = f"metadata:\n  token: &token {values['API_TOKEN']}\n" + anchored
    assert yamlio.load(text)["secrets"] == values
    return text, values


def every_answer(security_lab, user: str | None, job_id: int) -> dict[str, Any]:
    """What ``user`` is told of the job by each XML-RPC method and REST path that shows one."""
    rpc = security_lab.rpc(user)
    answers: dict[str, Any] = {}
    for name, params in (
        ("scheduler.jobs.show", (job_id,)),
        ("scheduler.jobs.definition", (job_id,)),
        ("scheduler.jobs.configuration", (job_id,)),
        ("scheduler.jobs.logs", (job_id,)),
        ("scheduler.jobs.list", (None, None, 0, 100, 0, True)),
        ("scheduler.job_details", (job_id,)),
        ("scheduler.job_output", (job_id,)),
        ("results.get_testjob_metadata", (job_id,)),
        ("results.get_testjob_results_yaml", (job_id,)),
    ):
        answers[name] = repr(getattr(rpc, name)(*params))
    rest = security_lab.rest(user)
    base = f"{security_lab.url}api/v0.2/jobs/"
    for tail in ("", f"?id={job_id}", f"{job_id}/", f"{job_id}/definition/"):
        answers[f"rest jobs/{tail}"] = rest.get(base + tail, timeout=60).text
    for tail in ("metadata/", "logs/", "yaml/", "csv/", "junit/", "tap13/", "suites/"):
        answers[f"rest jobs/<id>/{tail}"] = rest.get(f"{base}{job_id}/{tail}", timeout=60).text
    return answers


def test_an_old_public_job_keeps_its_secrets_from_others(security_lab) -> None:
    text, values = old_public_job(security_lab)
    job_id = store_job(
        security_lab.lab,
        text,
        visibility=int(Visibility.PUBLIC),
        is_public=True,
        description="an old public job with secrets",
        metadata={"token": values["API_TOKEN"]},
    )
    assert security_lab.wait(job_id)["health"] == "Complete"  # its secrets still reach the job
    for user in (None, "alice"):
        answers = every_answer(security_lab, user, job_id)
        for name, answer in answers.items():
            leaked = [key for key, value in values.items() if value in answer]
            assert not leaked, f"{name}: {user or 'anonymous'} reads {leaked}"
        for name in ("scheduler.jobs.definition", f"rest jobs/{job_id}/definition/"):
            assert MASK in answers[name] and "API_TOKEN" in answers[name], answers[name]
        assert "an old public job with secrets" in answers["rest jobs/"]  # still public
    # its submitter reads them; nobody else may resubmit them as their own
    assert values["PASSWORD"] in security_lab.rpc("mallory").scheduler.jobs.definition(job_id)
    with pytest.raises(xmlrpc.client.Fault) as refused:
        security_lab.rpc("alice").scheduler.jobs.resubmit(job_id)
    assert refused.value.faultCode == 403 and "holds secrets" in refused.value.faultString
    answer = security_lab.rest("alice").post(
        f"{security_lab.url}api/v0.2/jobs/{job_id}/resubmit/", timeout=60
    )
    assert answer.status_code == 403 and "holds secrets" in answer.text
    security_lab.assert_runs_jobs()
