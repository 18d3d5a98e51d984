"""Class 3: every size, count, duration and name a job sets has a limit, and every way in holds it.

Each attack is sent as the ordinary user mallory through each interface that
takes a definition: XML-RPC submit and validate, REST jobs/ and
jobs/validate/, ``lava-server manage jobs submit``, resubmit, and ``lava-run``
run directly. The refusal names the key and the limit, nothing is stored (no
TestJob row, no file), and the lab still runs the next job.
"""

from __future__ import annotations

import copy
import subprocess
import xmlrpc.client
from typing import Any

import pytest
import yaml
from stored_jobs import job_rows, store_job

from lava.common import yamlio
from lava.common.schema import JobSchemaError
from lava.common.schema.validate import validate
from lava.server.scheduler.states import JobHealth, JobState
from tools import example

pytestmark = pytest.mark.slow

FINISHED, COMPLETE = int(JobState.FINISHED), int(JobHealth.COMPLETE)


def stored(lab) -> set[str]:
    """Every file under the lab's job directories."""
    root = lab.instance / "jobs"
    return {str(path) for path in root.rglob("*")} if root.exists() else set()


def edited(security_lab, edit) -> str:
    """The demo job with ``edit(definition)`` applied."""
    definition = yamlio.load(security_lab.demo_job())
    edit(definition)
    return yamlio.dump(definition)


def block(index: int, **changes: Any):
    def edit(definition: dict[str, Any]) -> None:
        kind = next(iter(definition["actions"][index]))
        definition["actions"][index][kind].update(changes)

    return edit


def top(**changes: Any):
    def edit(definition: dict[str, Any]) -> None:
        definition.update(copy.deepcopy(changes))

    return edit


def deep(levels: int) -> list[Any]:
    nested: list[Any] = []
    for _ in range(levels - 1):
        nested = [nested]
    return nested


TIMEOUTS = {"job": {"minutes": 5}, "action": {"minutes": 2}}
# (name, edit of the demo job, words of the refusal: the key path and the limit)
ATTACKS = [
    ("queue timeout", top(timeouts={**TIMEOUTS, "queue": {"days": 10**12}}),
     ["timeouts.queue", "queue_timeout", "2,592,000 seconds"]),
    ("job timeout", top(timeouts={**TIMEOUTS, "job": {"days": 8}}),
     ["timeouts.job: 691,200 seconds", "604,800 seconds (job_timeout"]),
    ("named timeout", top(timeouts={**TIMEOUTS, "actions": {"auto-login": {"hours": 10**9}}}),
     ["timeouts.actions.auto-login", "action_timeout"]),
    ("block timeout", block(1, timeout={"days": 10**20}),
     ["actions[1].boot.timeout", "action_timeout"]),
    ("retries", block(1, failure_retry=10**9), ["actions[1].boot.failure_retry", "retries"]),
    ("job name", top(job_name="x" * 5000), ["job_name: 5,000 characters", "job_name_length"]),
    ("metadata", top(metadata={"blob": "m" * 100_000}), ["metadata", "metadata_size"]),
    ("context", top(context={"arch": "amd64", "extra_options": ["-smp 1"] * 4000}),
     ["context", "context_size"]),
    ("tags", top(tags=[f"tag{n}" for n in range(500)]),
     ["tags: 500 tags", "the limit is 100 tags"]),
    ("namespace", block(0, namespace="../../../../tmp/owned"),
     ["actions[0].deploy.namespace", "not a safe name"]),
    ("image label", block(0, images={"../../x": {"url": "file:///etc/passwd"}}),
     ["actions[0].deploy.images.../../x", "not a safe name"]),
    ("secret name", top(visibility="personal", secrets={"LD_PRELOAD": "x", "BASH_ENV=": "y"}),
     ["secrets.BASH_ENV=", "shell identifier"]),
    ("secret size", top(visibility="personal", secrets={"TOKEN": "s" * 100_000}),
     ["secrets.TOKEN: 100,000 characters", "secret_size"]),
    ("nesting", top(metadata={"deep": deep(60)}), ["nesting_depth", "the limit is 50 levels"]),
    ("actions", lambda d: d.update(actions=d["actions"] * 70),
     ["actions: 210 actions", "the limit is 200 actions"]),
]  # fmt: skip


def schema_passes(text: str) -> bool:
    """Whether LAVA's full schema alone (without the limits) accepts the job."""
    try:
        validate(yaml.safe_load(text), strict=False)  # as the validate APIs read it
    except JobSchemaError:
        return False
    return True


def expect(words: list[str], message: str, where: str) -> None:
    for word in words:
        assert word in message, f"{where}: {word!r} not in {message[:500]!r}"


def test_every_way_in_refuses_a_job_over_a_limit_and_stores_nothing(security_lab) -> None:
    lab = security_lab.lab
    before_rows, before_files = job_rows(lab), stored(lab)
    rpc, rest = security_lab.rpc(), security_lab.rest()
    api = security_lab.url + "api/v0.2/jobs/"
    for name, edit, words in ATTACKS:
        text = edited(security_lab, edit)
        with pytest.raises(xmlrpc.client.Fault) as refused:
            rpc.scheduler.jobs.submit(text)
        assert refused.value.faultCode == 400, name
        expect(words, refused.value.faultString, f"{name}, XML-RPC submit")

        answer = rest.post(api, json={"definition": text}, timeout=60)
        assert answer.status_code == 400, (name, answer.text[:300])
        expect(words, answer.text, f"{name}, REST jobs/")

        # the validate APIs: the full schema's first fault, else the limit
        found = rpc.scheduler.jobs.validate(text, False)
        answer = rest.post(api + "validate/", json={"definition": text}, timeout=60)
        assert found and answer.status_code == 200 and "Job invalid" in answer.text, name
        if schema_passes(text):
            expect(words[:1], f"{found['path']}: {found['msg']}", f"{name}, XML-RPC validate")
            expect(words[1:], found["msg"], f"{name}, XML-RPC validate")
            expect(words[1:], answer.text, f"{name}, REST jobs/validate/")

        path = lab.instance / "attack.yaml"
        path.write_text(text, encoding="utf-8")
        proc = lab.manage("jobs", "submit", "--submitter", "mallory", str(path), check=False)
        path.unlink()
        assert proc.returncode != 0, name
        expect(words, proc.stdout + proc.stderr, f"{name}, manage jobs submit")
    assert job_rows(lab) == before_rows and stored(lab) == before_files
    security_lab.assert_runs_jobs()


def test_resubmitting_an_old_job_over_a_limit_is_refused(security_lab) -> None:
    lab = security_lab.lab
    over = {
        "queue": top(timeouts={**TIMEOUTS, "queue": {"days": 10**9}}),
        "metadata": top(metadata={"m": "x" * 50_000}),
    }
    for key, edit in over.items():
        old = store_job(lab, edited(security_lab, edit), state=FINISHED, health=COMPLETE)
        before = job_rows(lab)
        with pytest.raises(xmlrpc.client.Fault) as refused:
            security_lab.rpc().scheduler.jobs.resubmit(old)
        assert refused.value.faultCode == 400 and f"{key}_" in refused.value.faultString
        url = f"{security_lab.url}api/v0.2/jobs/{old}/resubmit/"
        answer = security_lab.rest().post(url, timeout=60)
        assert answer.status_code == 400 and f"{key}_" in answer.text, answer.text[:300]
        proc = lab.manage("jobs", "resubmit", str(old), check=False)
        assert proc.returncode != 0 and f"{key}_" in proc.stdout + proc.stderr
        assert job_rows(lab) == before
    security_lab.services_alive()


@pytest.mark.parametrize(
    ("edit", "words"),
    [
        (top(timeouts={**TIMEOUTS, "job": {"days": 8}}), ["timeouts.job", "job_timeout"]),
        (top(metadata={"blob": "m" * 100_000}), ["metadata", "metadata_size"]),
        (block(0, images={"../../x": {"url": "file:///etc/passwd"}}), ["images.../../x", "safe"]),
        (None, ["bytes; the limit is 1,048,576 bytes", "definition_size"]),  # a valid job, padded
    ],
    ids=["job-timeout", "metadata", "image-label", "definition-size"],
)
def test_lava_run_run_directly_holds_the_same_limits(security_lab, tmp_path, edit, words) -> None:
    if edit is None:
        text = security_lab.demo_job() + "#" * (1024 * 1024) + "\n"
    else:
        text = edited(security_lab, edit)
    out = tmp_path / "out"
    proc = example.lava_run(
        text,
        example.device_text(),
        out,
        extra=["--validate"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stdout, stderr = proc.communicate(timeout=120)
    result = yamlio.load((out / "result.yaml").read_text())
    assert proc.returncode != 0 and result["result"] == "fail", (stdout, stderr)
    assert result["error_type"] == "Job", result
    expect(words, result["error_msg"], "lava-run")
