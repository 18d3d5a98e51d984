"""The server's submission check: LAVA's corpus verdicts, what it refuses, what it lets through."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lava.common import yamlio
from lava.common.schema import (
    JobSchemaError,
    check_job_text,
    check_submission_text,
    validate_submission,
)
from lava.common.schema.submission_checks import DEVICE_OWNER
from tests.support.conformance import CONFORMANCE
from tests.support.jobmutations import json_values, mutated_jobs

JOBS = sorted((CONFORMANCE / "jobs").glob("*.yaml"))

# Corpus files LAVA's submission check refuses, with the key at fault. All four
# are multinode sub-jobs as the scheduler writes them for each device, carrying
# keys only the scheduler adds; nobody submits them.
SUB_JOBS = {
    "bbb-ssh-guest.yaml": "connection",
    "docker-test-multinode.yaml": "protocols.lava-multinode.target_group",
    "kvm-multinode-client.yaml": "target",
    "kvm-multinode-server.yaml": "protocols.lava-multinode.target_group",
}

SMALL_JOB = """\
job_name: smoke
device_type: qemu
visibility: public
priority: medium
context: {arch: amd64}
timeouts: {job: {minutes: 10}, action: {minutes: 2}, actions: {http-download: {minutes: 1}}}
actions:
- deploy: {to: tmpfs, images: {rootfs: {url: 'https://x/r.img', image_arg: '-hda {rootfs}'}}}
- boot: {method: qemu, media: tmpfs, prompts: ['# ']}
- test:
    definitions:
    - {from: git, repository: 'https://x/t.git', path: t.yaml, name: t}
"""


def small_job() -> dict[str, Any]:
    return yamlio.load(SMALL_JOB)


def edited(edit: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    data = small_job()
    edit(data)
    return data


def refusal(data: Any) -> JobSchemaError:
    with pytest.raises(JobSchemaError) as caught:
        validate_submission(data)
    return caught.value


@pytest.mark.skipif(not JOBS, reason="conformance data not available")
@pytest.mark.parametrize("path", JOBS, ids=[p.name for p in JOBS])
def test_corpus_verdict_matches_lava(path: Path) -> None:
    error = check_submission_text(path.read_text())
    if path.name in SUB_JOBS:
        assert error is not None
        assert error.endswith(f"@ {SUB_JOBS[path.name]}")
    else:
        assert error is None


@pytest.mark.skipif(not JOBS, reason="conformance data not available")
@pytest.mark.parametrize("path", JOBS, ids=[p.name for p in JOBS])
def test_what_the_full_schema_accepts_submission_accepts(path: Path) -> None:
    text = path.read_text()
    if path.name not in SUB_JOBS and check_job_text(text, strict=False) is None:
        assert check_submission_text(text) is None


def test_the_small_job_is_accepted() -> None:
    validate_submission(small_job())
    assert check_submission_text(SMALL_JOB) is None


REFUSED: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    ("unknown top-level key", lambda d: d.update(colour="blue"), "colour"),
    ("top-level key of another type", lambda d: d.update({1: "x"}), "1"),
    ("unknown context key", lambda d: d["context"].update(colour="blue"), "context.colour"),
    ("context value a mapping", lambda d: d["context"].update(arch={"a": 1}), "context.arch"),
    ("priority word", lambda d: d.update(priority="urgent"), "priority"),
    ("priority fraction", lambda d: d.update(priority=1.5), "priority"),
    ("priority list", lambda d: d.update(priority=[50]), "priority"),
    ("visibility word", lambda d: d.update(visibility="secret"), "visibility"),
    ("visibility groups", lambda d: d.update(visibility={"groups": ["a"]}),
     "visibility.groups"),
    ("visibility group not a list", lambda d: d.update(visibility={"group": "a"}),
     "visibility.group"),
    ("no job_name", lambda d: d.pop("job_name"), "job_name"),
    ("empty job_name", lambda d: d.update(job_name=""), "job_name"),
    ("long job_name", lambda d: d.update(job_name="x" * 201), "job_name"),
    ("no timeouts", lambda d: d.pop("timeouts"), "timeouts"),
    ("no visibility", lambda d: d.pop("visibility"), "visibility"),
    ("no job timeout", lambda d: d["timeouts"].pop("job"), "timeouts.job"),
    ("no actions", lambda d: d.pop("actions"), "actions"),
    ("actions a mapping", lambda d: d.update(actions={"deploy": {}}), "actions"),
    ("two timeout units", lambda d: d["timeouts"].update(job={"minutes": 1, "seconds": 5}),
     "timeouts.job"),
    ("timeout unit in words", lambda d: d["timeouts"].update(action={"minutes": "5"}),
     "timeouts.action.minutes"),
    ("unknown timeout key", lambda d: d["timeouts"].update(queues={"hours": 1}), "timeouts.queues"),
    ("named timeout with capitals", lambda d: d["timeouts"]["actions"].update(
        {"Http-Download": {"minutes": 1}}), "timeouts.actions.Http-Download"),
    ("named timeout with underscore", lambda d: d["timeouts"].update(
        connections={"lava_test_shell": {"minutes": 1}}), "timeouts.connections.lava_test_shell"),
    ("named timeout with digits", lambda d: d["timeouts"]["actions"].update(
        {"boot2": {"minutes": 1}}), "timeouts.actions.boot2"),
    ("empty device_type", lambda d: d.update(device_type=""), "device_type"),
    ("tags not strings", lambda d: d.update(tags=[1]), "tags[0]"),
    ("metadata keyed by a fraction", lambda d: d.update(metadata={1.5: "x"}), "metadata.1.5"),
    ("unknown protocol", lambda d: d.update(protocols={"lava-lxc": {}}), "protocols.lava-lxc"),
    ("reboot_to_fastboot word", lambda d: d.update(reboot_to_fastboot="yes"),
     "reboot_to_fastboot"),
    ("unknown action kind", lambda d: d["actions"].append({"flash": {}}), "actions[3].flash"),
    ("action not a mapping", lambda d: d["actions"].append("boot"), "actions[3]"),
    ("deploy without to", lambda d: d["actions"][0]["deploy"].pop("to"), "actions[0].deploy.to"),
    ("boot without method", lambda d: d["actions"][1]["boot"].pop("method"),
     "actions[1].boot.method"),
    ("boot auto_login open", lambda d: d["actions"][1]["boot"].update(
        auto_login={"login_prompt": "l:", "username": "u", "shell": "sh"}),
     "actions[1].boot.auto_login.shell"),
    ("boot parameter a number", lambda d: d["actions"][1]["boot"].update(
        parameters={"shutdown-message": 3}), "actions[1].boot.parameters.shutdown-message"),
    ("test without a form", lambda d: d["actions"][2].update(test={"timeout": {"minutes": 1}}),
     "actions[2].test"),
    ("definition without path", lambda d: d["actions"][2]["test"]["definitions"][0].pop("path"),
     "actions[2].test.definitions[0].path"),
    ("interactive name with a space", lambda d: d["actions"][2].update(test={"interactive": [
        {"name": "a b", "prompts": ["#"], "script": []}]}), "actions[2].test.interactive[0].name"),
    ("command without name", lambda d: d["actions"].append({"command": {}}),
     "actions[3].command.name"),
    ("action timeout two units", lambda d: d["actions"][0]["deploy"].update(
        timeout={"hours": 1, "days": 1}), "actions[0].deploy.timeout"),
    ("notify without criteria", lambda d: d.update(notify={"verbosity": "quiet"}),
     "notify.criteria"),
    ("notify callback and callbacks", lambda d: d.update(notify={
        "criteria": {"status": "all"}, "callback": {"url": "u"}, "callbacks": [{"url": "u"}]}),
     "notify"),
]  # fmt: skip


@pytest.mark.parametrize(("edit", "path"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
def test_refused(edit: Callable[[dict[str, Any]], object], path: str) -> None:
    error = refusal(edited(edit))
    assert error.path == path
    assert error.msg


ACCEPTED: list[tuple[str, Callable[[dict[str, Any]], object]]] = [
    ("unknown keys inside action bodies", lambda d: [
        d["actions"][0]["deploy"].update(frobnicate=[1, 2], images="not checked here"),
        d["actions"][1]["boot"].update(media={"any": "thing"}, colour="blue"),
        d["actions"][2]["test"].update(whatever=True),
        d["actions"][2]["test"]["definitions"][0].update(colour="blue"),
    ]),
    ("unknown deploy method", lambda d: d["actions"][0]["deploy"].update(to="warp-drive")),
    ("unknown boot method", lambda d: d["actions"][1]["boot"].update(method="telepathy")),
    ("an empty action", lambda d: d["actions"].append({})),
    ("no device_type", lambda d: d.pop("device_type")),
    ("priority out of the full schema's range", lambda d: d.update(priority=500)),
    ("an empty or zero timeout", lambda d: d["timeouts"].update(job={}, action={"seconds": 0})),
    ("action timeout longer than the job", lambda d: d["actions"][1]["boot"].update(
        timeout={"days": 3})),
    ("namespaces on some actions only", lambda d: d["actions"][0]["deploy"].update(
        namespace="common")),
    ("every visibility form", lambda d: d.update(visibility={"group": ["lab", "qa"]})),
    ("every named timeout form", lambda d: d["timeouts"].update(
        connections={"lava-test-shell": {"seconds": 10}}, queue={"days": 1})),
    ("tftp with loose artefacts", lambda d: d["actions"][0].update(
        deploy={"to": "tftp", "kernel": "https://x/zImage"})),
    ("metadata keyed by numbers", lambda d: d.update(metadata={1: "x", "a": [1]})),
    ("secrets and environment", lambda d: d.update(secrets={"A": 1}, environment={"B": "c"})),
    ("a monitors test", lambda d: d["actions"][2].update(test={"monitors": [
        {"name": "zephyr", "start": "Booting", "end": "PROJECT EXECUTION",
         "pattern": "(?P<result>PASS|FAIL)"}]})),
    ("a services test", lambda d: d["actions"][2].update(test={"services": [
        {"name": "db", "from": "git", "repository": "https://x/c.git", "path": "c.yaml"}]})),
    ("a command", lambda d: d["actions"].append({"command": {"name": "relay_on", "x": 1}})),
]  # fmt: skip


@pytest.mark.parametrize("edit", [r[1] for r in ACCEPTED], ids=[r[0] for r in ACCEPTED])
def test_accepted(edit: Callable[[dict[str, Any]], object]) -> None:
    validate_submission(edited(edit))


def test_extra_context_variables_extend_the_allowed_keys() -> None:
    data = edited(lambda d: d["context"].update(lab_fan="on"))
    assert refusal(data).path == "context.lab_fan"
    validate_submission(data, extra_context_variables=("lab_fan",))
    assert check_submission_text(yamlio.dump(data), ("lab_fan",)) is None


def test_unknown_top_level_key_names_the_allowed_ones() -> None:
    message = str(refusal(edited(lambda d: d.update(device_types="qemu"))))
    assert "'device_types'" in message
    assert "device_type" in message.replace("'device_types'", "")


@pytest.mark.parametrize("data", [None, [], "job", 3, {}])
def test_a_job_is_a_mapping_with_the_required_keys(data: Any) -> None:
    refusal(data)


@pytest.mark.parametrize(
    "text", ["", "- a\n- b\n", "job_name: [unclosed\n", "a: 1\na: 2\n", "&a [*a]"]
)
def test_text_that_is_no_job_is_reported(text: str) -> None:
    message = check_submission_text(text)
    assert isinstance(message, str) and message


# --- whatever comes in, the check reports instead of crashing ---------------------------

CORPUS = [yamlio.load(SMALL_JOB)] + [yamlio.load(path.read_text()) for path in JOBS]
FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

values = json_values(["public", "high", "email", "irc", "testjob", "a@b.org", DEVICE_OWNER], size=3)
KEYS = st.sampled_from(
    [
        "job_name", "priority", "visibility", "group", "context", "arch", "timeouts", "job",
        "actions", "connections", "minutes", "skip", "deploy", "boot", "test", "command", "to",
        "method", "auto_login", "parameters", "definitions", "monitors", "interactive", "services",
        "revision", "shallow", "protocols", "lava-multinode", "roles", "host_role", "expect_role",
        "device", "count", "notify", "criteria", "status", "recipients", "email", "user",
        "compare", "query", "entity", "conditions", "callback", "callbacks",
    ]
) | st.text(max_size=8)  # fmt: skip


@FAST
@given(data=mutated_jobs(CORPUS, KEYS, values, ("delete", "retype", "insert")))
def test_mutated_jobs_raise_only_schema_errors(data: dict[str, Any]) -> None:
    try:
        validate_submission(data)
    except JobSchemaError as exc:
        assert exc.msg
    message = check_submission_text(yamlio.dump(data))
    assert message is None or (isinstance(message, str) and message)


@FAST
@given(text=st.text(max_size=200))
def test_any_text_is_reported_not_raised(text: str) -> None:
    message = check_submission_text(text)
    assert message is None or (isinstance(message, str) and message)


@FAST
@given(value=values)
def test_any_document_is_reported_not_raised(value: Any) -> None:
    message = check_submission_text(yamlio.dump(value))
    assert isinstance(message, str) and message
