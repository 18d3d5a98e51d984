"""check_job: every job-level limit of the table, the key path and the limit in each refusal."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from lava.common import yamlio
from lava.common.joblimits import (
    check_context,
    check_definition_size,
    check_job,
    checked_context,
)
from lava.common.limits import LIMITS, LimitExceeded, RefusedValue, json_length, limit
from lava.common.schema import JobSchemaError, validate_job
from tests.support.conformance import CONFORMANCE

JOB: dict[str, Any] = yamlio.load(
    """
job_name: limits
device_type: qemu
visibility: personal
timeouts: {job: {hours: 2}, action: {minutes: 5}, queue: {days: 1}}
context: {arch: amd64}
metadata: {build: 1}
secrets: {API_TOKEN: abc}
tags: [usb]
actions:
- deploy:
    to: tmpfs
    namespace: target
    images: {rootfs: {url: 'https://example.org/r.img'}}
- boot: {method: qemu, media: tmpfs, namespace: target, failure_retry: 3}
- test:
    namespace: target
    timeout: {minutes: 10}
    definitions:
    - {from: git, name: smoke-tests, path: a.yaml, repository: 'https://example.org/t.git'}
"""
)


def changed(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(JOB)
    data.update(changes)
    return data


def refusal(data: Any, **kwargs: Any) -> LimitExceeded | RefusedValue:
    with pytest.raises((LimitExceeded, RefusedValue)) as refused:
        check_job(data, **kwargs)
    return refused.value


def block(index: int, kind: str, **changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(JOB)
    data["actions"][index][kind].update(changes)
    return data


def test_a_usual_job_passes() -> None:
    check_job(JOB, size=2000)


@pytest.mark.parametrize(
    ("data", "where", "key"),
    [
        (changed(timeouts={"job": {"days": 8}}), "timeouts.job", "job_timeout"),
        (changed(timeouts={"job": {"days": 10**40}}), "timeouts.job", "job_timeout"),
        (changed(timeouts={"queue": {"days": 31}}), "timeouts.queue", "queue_timeout"),
        (changed(timeouts={"action": {"days": 8}}), "timeouts.action", "action_timeout"),
        (changed(timeouts={"connection": {"days": 8}}), "timeouts.connection", "action_timeout"),
        (
            changed(timeouts={"actions": {"http-download": {"hours": 200}}}),
            "timeouts.actions.http-download",
            "action_timeout",
        ),
        (
            changed(timeouts={"connections": {"lava-test-shell": {"days": 8}}}),
            "timeouts.connections.lava-test-shell",
            "action_timeout",
        ),
        (block(2, "test", timeout={"days": 8}), "actions[2].test.timeout", "action_timeout"),
        (
            block(1, "boot", timeouts={"qemu": {"days": 8}}),
            "actions[1].boot.timeouts.qemu",
            "action_timeout",
        ),
        (
            changed(protocols={"lava-xnbd": {"timeout": {"days": 8}}}),
            "protocols.lava-xnbd.timeout",
            "action_timeout",
        ),
        (block(1, "boot", failure_retry=1001), "actions[1].boot.failure_retry", "retries"),
        (block(2, "test", repeat=10**12), "actions[2].test.repeat", "retries"),
        (
            block(1, "boot", failure_retry_interval=8 * 86400),
            "actions[1].boot.failure_retry_interval",
            "action_timeout",
        ),
        (changed(job_name="j" * 201), "job_name", "job_name_length"),
        (changed(metadata={"log": "x" * 17000}), "metadata", "metadata_size"),
        (changed(context={"extra_options": ["x" * 100] * 200}), "context", "context_size"),
        (changed(actions=JOB["actions"] * 67), "actions", "actions"),
        (changed(tags=["t"] * 101), "tags", "tags"),
        (changed(tags=["usb", "t" * 101]), "tags[1]", "tag_length"),
        (changed(secrets={f"K{n}": "v" for n in range(101)}), "secrets", "secrets"),
        (changed(secrets={"K": "v" * 4097}), "secrets.K", "secret_size"),
        (changed(secrets={"K" * 65: "v"}), "secrets." + "K" * 60 + "...", "name_length"),
        (
            changed(
                notify={"criteria": {"status": "all"}, "callbacks": [{"url": "http://x"}] * 21}
            ),
            "notify",
            "notify_targets",
        ),
        (
            changed(notify={"callback": {"url": "http://x/" + "a" * 2048}}),
            "notify.callback.url",
            "callback_url_length",
        ),
    ],
)
def test_each_limit_names_the_key_and_the_limit(data: Any, where: str, key: str) -> None:
    error = refusal(data)
    assert isinstance(error, LimitExceeded) and (error.where, error.key) == (where, key)
    assert str(error).startswith(f"{where}: ")
    assert f"the limit is {limit(key):,} {LIMITS[key].unit} ({key}: " in str(error)


def test_nesting_a_yaml_reader_let_through_is_refused() -> None:
    deep: list[Any] = []
    for _ in range(60):
        deep = [deep]
    error = refusal(changed(metadata={"deep": deep}))
    assert (error.where, error.key) == ("the job definition", "nesting_depth")


def test_test_definitions_are_counted_over_every_test_block() -> None:
    data = copy.deepcopy(JOB)
    test = data["actions"][2]
    test["test"]["definitions"] *= 600
    data["actions"].append(copy.deepcopy(test))
    error = refusal(data)
    assert error.where == "actions[3].test.definitions" and "1,200 definitions" in str(error)


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (block(0, "deploy", namespace="../../etc"), "actions[0].deploy.namespace"),
        (
            block(1, "boot", **{"connection-namespace": "-rf"}),
            "actions[1].boot.connection-namespace",
        ),
        (
            block(0, "deploy", images={"../kernel": {"url": "u"}}),
            "actions[0].deploy.images.../kernel",
        ),
        (block(0, "deploy", images={3: {"url": "u"}}), "actions[0].deploy.images.3"),
        (
            block(2, "test", definitions=[{"from": "git", "name": "a/../../b", "path": "p"}]),
            "actions[2].test.definitions[0].name",
        ),
        (block(0, "deploy", namespace="n" * 65), "actions[0].deploy.namespace"),
    ],
)
def test_names_that_become_host_paths_must_be_safe(data: Any, where: str) -> None:
    error = refusal(data)
    assert isinstance(error, RefusedValue) and error.where == where
    assert any(words in str(error) for words in ("not a safe name", "long", "must be a string"))


@pytest.mark.parametrize(
    ("data", "where"),
    [
        (changed(device_type="qe\x00mu"), "device_type"),
        (changed(job_name="\x00"), "job_name"),
        (changed(metadata={"a": ["ok", {"b\x00": 1}]}), "metadata.a[1]"),
        (block(2, "test", definitions=[{"from": "inline", "path": "p\x00"}]),
         "actions[2].test.definitions[0].path"),
        (yamlio.load('tags: ["usb", "x\\0"]\n'), "tags[1]"),
    ],
)  # fmt: skip
def test_a_nul_character_anywhere_is_refused(data: Any, where: str) -> None:
    # YAML's "\0" makes one; no PostgreSQL text column can hold it (a 500 at submission)
    error = refusal(data)
    assert isinstance(error, RefusedValue) and error.where == where
    assert "NUL" in str(error) and "\x00" not in str(error)


@pytest.mark.parametrize("name", ["1TOKEN", "A-B", "PATH=/x", "a b", "", "ÄB", 7])
def test_secret_names_are_shell_identifiers(name: Any) -> None:
    error = refusal(changed(secrets={name: "v"}))
    assert isinstance(error, RefusedValue) and "shell identifier" in str(error)


@pytest.mark.parametrize("value", [{"a": 1}, ["a"]])
def test_secret_values_are_text_or_numbers(value: Any) -> None:
    assert "text or a number" in str(refusal(changed(secrets={"K": value})))


def test_aliases_count_once_per_use() -> None:
    text = "metadata:\n  one: &x '" + "x" * 1000 + "'\n  all: [" + ", ".join(["*x"] * 20) + "]\n"
    error = refusal(yamlio.load(text))
    assert error.where == "metadata" and error.key == "metadata_size"


def test_a_value_that_holds_itself_is_endless_not_a_hang() -> None:
    loop: list[Any] = []
    loop.append(loop)
    assert refusal(changed(metadata={"loop": loop})).key == "metadata_size"
    error = refusal(block(1, "boot", extra={"loop": loop}))  # it ends, and is refused
    assert (error.where, error.key) == ("the job definition", "nesting_depth")


@pytest.mark.parametrize(
    "data",
    [
        changed(timeouts="soon", secrets=["A"], tags="usb", actions={"deploy": 1}),
        changed(timeouts={"job": {"fortnights": 1}, "actions": [1]}, metadata=None),
        changed(actions=[1, "boot", {"deploy": None}, {"test": {"definitions": "x"}}]),
        changed(job_name=None, context=[1, 2], secrets={"K": None}),
        {},
    ],
)
def test_values_of_the_wrong_type_are_left_to_the_schema(data: Any) -> None:
    check_job(data)


def test_definition_size_and_an_admins_override() -> None:
    check_definition_size(limit("definition_size"))
    with pytest.raises(LimitExceeded, match=r"1,048,577 bytes; the limit is 1,048,576 bytes"):
        check_job(JOB, size=limit("definition_size") + 1)
    with pytest.raises(LimitExceeded, match=r"the limit is 100 bytes \(MAX_JOB_SIZE: "):
        check_definition_size(101, 100, "MAX_JOB_SIZE")


def test_check_context() -> None:
    check_context({"arch": "arm64"})
    with pytest.raises(LimitExceeded, match=r"^the context: at least"):
        check_context({"a": "x" * limit("context_size")}, "the context")


def test_checked_context() -> None:
    assert checked_context(None) == {} and checked_context({"arch": "arm64"}) == {"arch": "arm64"}
    with pytest.raises(RefusedValue, match=r"^context: must be a mapping of variables, not list"):
        checked_context(["arch"])
    with pytest.raises(LimitExceeded, match="context_size"):
        checked_context({"arch": "x" * limit("context_size")})


def test_json_length_is_the_compact_json_length_of_strings_and_lists() -> None:
    value = {"a": ["bc", "d"], "e": {"f": "g"}}
    assert json_length(value, 1000) == len(json.dumps(value, separators=(",", ":")))
    assert json_length(10**5000, 10**6) > 5000  # no str() of a huge int
    assert json_length([["x" * 100] * 10**6], 500) < 10**6 + 10  # stops before the strings


def test_validate_job_reports_a_limit_as_a_schema_error_with_its_path() -> None:
    data = changed(timeouts={"job": {"days": 30}, "action": {"minutes": 5}})
    with pytest.raises(JobSchemaError) as refused:
        validate_job(data, strict=False)
    assert refused.value.path == "timeouts.job" and "job_timeout" in refused.value.msg
    validate_job(JOB, strict=False)
    with pytest.raises(JobSchemaError, match="definition_size"):
        validate_job(JOB, strict=False, size=2 * limit("definition_size"))


@pytest.mark.skipif(not (CONFORMANCE / "jobs").is_dir(), reason="conformance data not available")
def test_no_job_of_lavas_own_is_over_a_limit() -> None:
    for path in sorted(Path(CONFORMANCE / "jobs").glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        check_job(yamlio.load(text), size=len(text.encode()))


@pytest.mark.parametrize(
    ("callback", "where", "words"),
    [
        ({"url": "file:///etc/shadow"}, "notify.callbacks[0].url", "http:// or https://"),
        ({"url": "gopher://x"}, "notify.callbacks[0].url", "http:// or https://"),
        ({"url": "http://x", "header": "Host"}, "notify.callbacks[0].header", "not one of"),
        ({"url": "http://x", "header": "X-A\r\nX-B"}, "notify.callbacks[0].header", "letters"),
        ({"url": "http://x", "header": "content-length"}, "notify.callbacks[0].header", "not"),
    ],
)
def test_callbacks_are_http_requests_that_cannot_be_rewritten(
    callback: dict[str, str], where: str, words: str
) -> None:
    error = refusal(changed(notify={"criteria": {"status": "all"}, "callbacks": [callback]}))
    assert isinstance(error, RefusedValue) and error.where == where and words in str(error)


def test_a_kernelci_callback_passes() -> None:
    callback = {"url": "https://kernelci.example/node/{ID}", "token": "t", "header": "X-Token"}
    check_job(changed(notify={"criteria": {"status": "finished"}, "callback": callback}))
