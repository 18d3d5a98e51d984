"""Whatever the input, checking reports instead of crashing."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lava.common import yamlio
from lava.common.schema import JobSchemaError, check_job_text, validate_job
from tests.support.conformance import CONFORMANCE
from tests.support.jobmutations import OPERATIONS, json_values, mutated_jobs

SMALL_JOB = """\
job_name: smoke
device_type: qemu
visibility: public
timeouts: {job: {minutes: 10}, action: {minutes: 2}}
actions:
- deploy: {to: tmpfs, images: {rootfs: {url: 'https://x/r.img', image_arg: '-hda {rootfs}'}}}
- boot: {method: qemu, media: tmpfs, prompts: ['# ']}
- test:
    definitions:
    - {from: git, repository: 'https://x/t.git', path: t.yaml, name: t}
"""


def corpus() -> list[dict[str, Any]]:
    jobs = [yamlio.load(SMALL_JOB)]
    for path in sorted((CONFORMANCE / "jobs").glob("*.yaml")):
        jobs.append(yamlio.load(path.read_text()))
    return jobs


JOBS = corpus()
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

values = json_values(
    ["qemu", "u-boot", "tmpfs", "common", "public", "lava-multinode", "skip"], size=4
)
KEYS = st.sampled_from(
    [
        "job_name", "device_type", "timeouts", "job", "minutes", "seconds", "actions",
        "deploy", "boot", "test", "command", "to", "method", "images", "url", "namespace",
        "role", "protocols", "lava-multinode", "roles", "context", "arch", "definitions",
        "timeout", "visibility", "priority", "notify", "criteria", "docker", "image",
    ]
) | st.text(max_size=10)  # fmt: skip

YAMLISH = st.text(alphabet=st.sampled_from(list("abc: -[]{},'\"\n\t#&*!|>?%@`0123456789.\\")))


def assert_reports(text: str, strict: bool) -> None:
    result = check_job_text(text, strict=strict)
    assert result is None or (isinstance(result, str) and result)


@FAST
@given(text=st.text(max_size=200), strict=st.booleans())
def test_any_text_is_reported_not_raised(text: str, strict: bool) -> None:
    assert_reports(text, strict)


@FAST
@given(text=YAMLISH, strict=st.booleans())
def test_yaml_punctuation_is_reported_not_raised(text: str, strict: bool) -> None:
    assert_reports(text, strict)


@FAST
@given(value=values, strict=st.booleans())
def test_any_yaml_document_is_reported_not_raised(value: Any, strict: bool) -> None:
    assert_reports(yamlio.dump(value), strict)


@FAST
@given(data=mutated_jobs(JOBS, KEYS, values, OPERATIONS), strict=st.booleans())
def test_mutated_jobs_raise_only_schema_errors(data: dict[str, Any], strict: bool) -> None:
    try:
        validate_job(data, strict=strict)
    except JobSchemaError as exc:
        assert exc.msg
        assert str(exc)
    assert_reports(yamlio.dump(data), strict)


@FAST
@given(data=mutated_jobs(JOBS, KEYS, values, OPERATIONS))
def test_strict_never_accepts_what_non_strict_rejects(data: dict[str, Any]) -> None:
    if check_job_text(yamlio.dump(data), strict=False) is not None:
        assert check_job_text(yamlio.dump(data), strict=True) is not None


@pytest.mark.parametrize("text", ["&a [*a]", "&a {x: *a}", "a: &a [*a]", "[" * 5000])
def test_pathological_yaml(text: str) -> None:
    assert_reports(text, True)


def test_self_reference_inside_a_job() -> None:
    text = SMALL_JOB + "tags: &t [*t]\n"
    message = check_job_text(text)
    assert message is not None
    with pytest.raises(JobSchemaError):
        validate_job(yamlio.load(text))
