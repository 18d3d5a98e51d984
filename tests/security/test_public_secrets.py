"""Class 9: secrets in a public job would be anyone's to read, so such a job is refused.

Anyone, anonymous callers included, may read a public job's definition; LAVA
once refused ``secrets`` with ``visibility: public`` for that reason, in the
words the refusal still uses. A personal job keeps its secrets from others.
"""

from __future__ import annotations

import xmlrpc.client

import pytest
from stored_jobs import job_rows, store_job

from lava.common import yamlio
from lava.server.scheduler.states import JobHealth, JobState, Visibility

pytestmark = pytest.mark.slow

LAVA_WORDS = "When 'secrets' is used, 'visibility' shouldn't be 'public'"


def with_secrets(security_lab, visibility: object, name: str = "secrets") -> str:
    definition = yamlio.load(security_lab.quick_job(name))
    definition["visibility"] = visibility
    definition["secrets"] = {"API_TOKEN": "hush-0123456789", "PASSWORD": "do-not-tell"}
    return yamlio.dump(definition)


def test_secrets_in_a_public_job_are_refused_everywhere(security_lab) -> None:
    lab = security_lab.lab
    before = job_rows(lab)
    text = with_secrets(security_lab, "public")
    with pytest.raises(xmlrpc.client.Fault) as refused:
        security_lab.rpc().scheduler.jobs.submit(text)
    assert refused.value.faultCode == 400 and LAVA_WORDS in refused.value.faultString
    assert "anonymous" in refused.value.faultString  # and says why
    answer = security_lab.rest().post(
        security_lab.url + "api/v0.2/jobs/", json={"definition": text}, timeout=60
    )
    assert answer.status_code == 400 and LAVA_WORDS in answer.text
    path = lab.instance / "public-secrets.yaml"
    path.write_text(text, encoding="utf-8")
    proc = lab.manage("jobs", "submit", "--submitter", "mallory", str(path), check=False)
    path.unlink()
    assert proc.returncode != 0 and LAVA_WORDS in proc.stdout + proc.stderr
    assert job_rows(lab) == before
    security_lab.services_alive()


def test_an_old_public_job_with_secrets_is_not_resubmitted_a_personal_one_runs(
    security_lab,
) -> None:
    lab = security_lab.lab
    text = with_secrets(security_lab, "public")
    old = store_job(
        lab,
        text,
        visibility=int(Visibility.PUBLIC),
        is_public=True,
        state=int(JobState.FINISHED),
        health=int(JobHealth.COMPLETE),
    )
    before = job_rows(lab)
    with pytest.raises(xmlrpc.client.Fault) as refused:
        security_lab.rpc().scheduler.jobs.resubmit(old)
    assert LAVA_WORDS in refused.value.faultString
    answer = security_lab.rest().post(f"{security_lab.url}api/v0.2/jobs/{old}/resubmit/")
    assert answer.status_code == 400 and LAVA_WORDS in answer.text
    assert job_rows(lab) == before
    # the same secrets in a personal job: accepted, and read by its submitter only
    job_id = security_lab.submit(with_secrets(security_lab, "personal", "personal secrets"))
    assert "hush-0123456789" in security_lab.rpc().scheduler.jobs.definition(job_id)
    for user in (None, "alice"):
        with pytest.raises(xmlrpc.client.Fault) as refused:
            security_lab.rpc(user).scheduler.jobs.definition(job_id)
        assert refused.value.faultCode == 404
        answer = security_lab.rest(user).get(
            f"{security_lab.url}api/v0.2/jobs/{job_id}/definition/", timeout=60
        )
        assert answer.status_code in (401, 403, 404) and "hush" not in answer.text
    security_lab.rpc().scheduler.jobs.cancel(job_id)
    assert security_lab.wait(job_id)["state"] == "Finished"
    security_lab.assert_runs_jobs()
