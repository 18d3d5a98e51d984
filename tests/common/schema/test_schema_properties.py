"""Whatever the input, checking reports instead of crashing."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from example import CONFORMANCE
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lava.common import yamlio
from lava.common.schema import JobSchemaError, check_job_text, validate_job

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

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(["qemu", "u-boot", "tmpfs", "common", "public", "lava-multinode", "skip"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.text(max_size=12), st.integers()), inner, max_size=4),
    ),
    max_leaves=12,
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


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += paths(value, (*prefix, index))
    return found


def at(node: Any, path: tuple[Any, ...]) -> Any:
    for part in path:
        node = node[part]
    return node


@st.composite
def mutated_jobs(draw: st.DrawFn) -> dict[str, Any]:
    data = copy.deepcopy(draw(st.sampled_from(JOBS)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        path = draw(st.sampled_from(paths(data)))
        node = at(data, path)
        operation = draw(st.sampled_from(["delete", "retype", "insert", "shuffle"]))
        if operation == "delete" and path:
            del at(data, path[:-1])[path[-1]]
        elif operation == "retype" and path:
            at(data, path[:-1])[path[-1]] = draw(values)
        elif operation == "insert" and isinstance(node, dict):
            node[draw(KEYS)] = draw(values)
        elif operation == "shuffle" and isinstance(node, list):
            node[:] = draw(st.permutations(node))
        elif operation == "shuffle" and isinstance(node, dict):
            items = draw(st.permutations(list(node.items())))
            node.clear()
            node.update(items)
    return data


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
@given(data=mutated_jobs(), strict=st.booleans())
def test_mutated_jobs_raise_only_schema_errors(data: dict[str, Any], strict: bool) -> None:
    try:
        validate_job(data, strict=strict)
    except JobSchemaError as exc:
        assert exc.msg
        assert str(exc)
    assert_reports(yamlio.dump(data), strict)


@FAST
@given(data=mutated_jobs())
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
