"""A job's secrets reach its submitter and superusers only, through every entry point.

Submission refuses ``secrets`` in a public job, but an older version stored
such jobs, and a health check is queued public whatever its file holds. The
same table of entry points as the visibility test is probed, with each whole
answer: anonymous callers and a stranger (staff, for the admin's pages) see the
job, but no secret value, however the definition spells it; its submitter and
an admin still read them.
"""

from __future__ import annotations

import html
import json
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from lava.common.log import MASK
from lava.server.scheduler.definitions import UNREADABLE, shown
from lava.server.scheduler.models import TestJob
from lava.server.scheduler.states import Visibility
from tests.support.probes import JOB_ACTIONS, JOB_PROBES, Ids, make_job

# As an older version stored it: public, with secrets spelled every way YAML allows
# (an alias from the metadata, an escape, a block scalar), one copied into metadata.
DEFINITION = """\
job_name: an old public job with secrets
device_type: qemu
visibility: public
metadata:
  token: &token hush-0123456789   # the same value as API_TOKEN
timeouts: {job: {minutes: 5}}
"secr\\x65ts":
  API_TOKEN: *token
  PASSWORD: "do-not-\\x74ell"
  SSH_KEY: |
    -----BEGIN KEY-----
    c2VjcmV0LWtleS1ib2R5
    -----END KEY-----
actions:
- boot: {method: qemu, timeout: {minutes: 2}}
"""
JOB_NAME = "an old public job with secrets"
SECRETS = ("hush-0123456789", "do-not-tell", "c2VjcmV0LWtleS1ib2R5")
# the entry points that show the definition itself (masked, for those who may not read it)
DEFINITIONS = (
    "rpc jobs.definition",
    "rpc jobs.configuration",
    "rpc job_details",
    "rest jobs list",
    "rest jobs ?id=",
    "rest jobs/<id>/",
    "rest jobs/<id>/definition/",
    "admin job page",
)


def raw(name: str) -> Any:
    """The probe's whole answer (a list's probe reduces it to present/absent)."""
    probe = JOB_PROBES[name]
    return getattr(probe, "raw", probe)


def stored_job(users, lab, visibility: int) -> Ids:
    ids = make_job(
        users,
        lab,
        DEFINITION,
        visibility=visibility,
        is_public=visibility == Visibility.PUBLIC,
        metadata={"token": SECRETS[0], "build": "1"},
    )
    if visibility == Visibility.GROUP:  # the stranger joins the job's group: sees it
        group = Group.objects.get(name="lab")
        TestJob.objects.get(id=ids.job).viewing_groups.add(group)
        users["stranger"].groups.add(group)
    return ids


@pytest.mark.parametrize("kind", [Visibility.PUBLIC, Visibility.GROUP], ids=["public", "group"])
def test_no_entry_point_shows_secrets_to_others(client, users, lab, people, data_dir, kind) -> None:
    ids = stored_job(users, lab, kind)
    for name in JOB_PROBES:
        for who in people.values():
            answer = raw(name)(client, who, ids)
            if who.name in ("anonymous", "stranger"):
                leaked = [secret for secret in SECRETS if secret in answer]
                assert not leaked, f"{name}: {who.name} reads {leaked}"
                if name in DEFINITIONS and (JOB_NAME in answer or who.name == "stranger"):
                    # the job is shown, its definition with its keys and every value masked
                    assert MASK in answer and "API_TOKEN" in answer, f"{name}: {answer[:300]}"
            elif name in DEFINITIONS:
                assert SECRETS[0] in answer, f"{name}: {who.name} cannot read their secrets"


def test_only_those_who_read_the_secrets_may_resubmit(client, users, lab, people, data_dir):
    ids = stored_job(users, lab, Visibility.PUBLIC)
    for name, probe in JOB_ACTIONS.items():
        if "resubmit" not in name:
            continue
        for who in (people["anonymous"], people["stranger"]):
            answer = probe(client, who, ids)
            refused = answer.split()[0] in ("fault", "401", "403")
            to_sign_in = answer.startswith("302 /accounts/login/")  # a web page, anonymous
            assert refused or to_sign_in, f"{name}: {answer[:200]}"
        stranger = probe(client, people["stranger"], ids)
        assert "holds secrets that only its submitter and admins may read" in stranger
        # the owner and an admin get as far as submission, which refuses a public job's secrets
        for who in (people["owner"], people["admin"]):
            assert "shouldn't be 'public'" in html.unescape(probe(client, who, ids))
    # the console admin may not hand them to another user either
    with pytest.raises(CommandError, match="holds secrets"):
        call_command("jobs", "resubmit", str(ids.job), "--submitter", "stranger", stdout=StringIO())
    assert TestJob.objects.count() == 1


def job(definition: str, **fields: Any) -> TestJob:
    """An unsaved job of user 1 (nobody in these tests): seen as by an anonymous visitor."""
    return TestJob(submitter_id=1, definition=definition, original_definition=definition, **fields)


def test_a_definition_that_cannot_be_read_is_not_shown() -> None:
    deep = "secrets: {A: hush}\nx: " + "[" * 200 + "]" * 200 + "\n"  # over today's depth limit
    fields = shown(job(deep, metadata={"a": "hush"}), None)
    assert fields["definition"] == fields["original_definition"] == UNREADABLE
    assert fields["metadata"] == {} and fields["multinode_definition"] == ""


def test_most_definitions_are_shown_as_stored_without_parsing() -> None:
    text = "job_name: x\nnot: [valid yaml\n"  # would not parse: it is not parsed
    assert shown(job(text), None)["definition"] == text
    kept = "job_name: x  # a comment stays\nsecrets: {}\n"  # secrets, but none to mask
    assert shown(job(kept), None)["definition"] == kept


def test_values_that_are_not_strings_are_masked_too() -> None:
    text = "job_name: x\nsecrets: {PIN: 12345678}\nport: 12345678\nurl: http://h/12345678\n"
    masked = shown(job(text), None)["definition"]
    assert "12345678" not in masked and masked.count(MASK) == 3


def test_the_rest_list_parses_only_definitions_that_may_hold_secrets(
    client, users, lab, people, data_dir, monkeypatch
) -> None:
    from lava.server.scheduler import definitions

    for number in range(30):
        TestJob.objects.create(
            submitter=users["owner"],
            requested_device_type=lab.device_type,
            definition=f"job_name: plain {number}\ndevice_type: qemu\n",
        )
    stored_job(users, lab, Visibility.PUBLIC)
    parsed: list[str] = []
    load = definitions.yamlio.load
    monkeypatch.setattr(
        definitions.yamlio, "load", lambda text, where: parsed.append(text) or load(text, where)
    )
    answer = client.get("/api/v0.2/jobs/?limit=50", **people["anonymous"].rest)
    rows = json.loads(answer.content)["results"]
    assert len(rows) == 31 and not any(s in answer.content.decode() for s in SECRETS)
    assert parsed and all("secr" in text for text in parsed)  # only the one job's texts
    parsed.clear()
    client.get("/api/v0.2/jobs/?limit=50", **people["owner"].rest)
    assert parsed == []  # its submitter reads it as stored
