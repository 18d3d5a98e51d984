"""The worker API's fast form parser: the same fields as Django's, or none (Django parses);
and log batches sent as JSON: the same fields, or a clear refusal."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, QueryDict
from django.test import RequestFactory
from hypothesis import given
from hypothesis import strategies as st

from lava.common import log
from lava.server.scheduler.internal.form import (
    JSON,
    BodyError,
    log_batch,
    parse,
    read_form,
    unquote_plus_bytes,
)

DT = "2026-01-05T10:00:00.000000+00:00"

# Pieces that make escapes, broken escapes, separators and what quoted-printable reads.
PIECES = ["%", "%25", "%2", "%41", "%4a", "%zz", "%0", "%C3%A9", "%ff", "+", "&", "=", "a", "F"]
PIECES += ["2", "5", " ", "\n", "\r", "é", "_", "%0A", "%%41"]


@given(st.lists(st.sampled_from(PIECES), max_size=16).map("".join))
def test_fields_are_those_django_reads(body: str) -> None:
    fast = parse(body.encode())
    if fast is not None:
        assert list(fast.lists()) == list(QueryDict(body.encode()).lists())


def test_a_log_batch_reads_as_sent() -> None:
    lines = "".join(
        log.encode("target", f"100% of [{n}] +1 ünï \\ {{}} =&", DT) + "\n" for n in range(50)
    )
    body = urlencode({"index": 7, "lines": lines}).encode()
    form = parse(body)
    assert form is not None
    assert (form["index"], form["lines"]) == ("7", lines)
    assert list(form.lists()) == list(QueryDict(body).lists())


@pytest.mark.parametrize(
    "raw", [b"%", b"%4", b"%zz", b"a%%41", b"%4%41", b"=41", b"%0\n", b"a\rb", b"%3D%"]
)
def test_values_it_cannot_read_exactly_are_left_to_django(raw: bytes) -> None:
    assert unquote_plus_bytes(raw) is None


def test_bodies_it_cannot_read_exactly_are_left_to_django() -> None:
    assert parse("lines=é".encode()) is None  # not ASCII
    assert parse(b"lines=%4") is None
    assert parse(b"&".join([b"a=1"] * 2000)) is None  # over DATA_UPLOAD_MAX_NUMBER_FIELDS


def json_request(body: bytes, content_type: str = JSON) -> HttpRequest:
    # CONTENT_TYPE too: the factory leaves it out of a request without a body
    request = RequestFactory().post("/", body, content_type, CONTENT_TYPE=content_type)
    read_form(request)
    return request


def test_a_json_log_batch_reads_as_sent() -> None:
    lines = "".join(
        log.encode("target", f'100% of [{n}] ünï \\ "{{}}" =&', DT) + "\n" for n in range(50)
    )
    assert log_batch(json_request(json.dumps({"index": 7, "lines": lines}).encode())) == (
        "7",
        lines,
    )
    assert log_batch(json_request(b'{"index": "7", "lines": ""}')) == ("7", "")
    assert log_batch(json_request(b"{}")) == ("", "")  # as a form without the fields
    charset = "application/json; charset=utf-8"
    assert log_batch(json_request(b'{"index": 0}', charset)) == ("0", "")


def test_a_form_log_batch_reads_as_before() -> None:
    request = RequestFactory().post("/", {"index": 3, "lines": "a\n"})
    read_form(request)
    assert log_batch(request) == ("3", "a\n")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"index": 0, "lines": ', "Invalid JSON body: Expecting value"),
        (b"", "Invalid JSON body: Expecting value"),
        (b'{"index": 0} {}', "Invalid JSON body: Extra data"),
        (b'{"lines": "\xff"}', "Invalid JSON body: 'utf-8' codec can't decode"),
        (b"[0, 1]", "Invalid JSON body: an object with index and lines, not an array"),
        (b'"lines"', "Invalid JSON body: an object with index and lines, not a string"),
        (b"null", "Invalid JSON body: an object with index and lines, not null"),
        (b'{"index": 0, "line": ""}', "Invalid JSON body: unknown field 'line'"),
        (b'{"index": 0, "lines": "", "state": "FINISHED"}', "unknown field 'state'"),
        (b'{"index": [0], "lines": ""}', "Invalid 'index': a whole number, not an array"),
        (b'{"index": true, "lines": ""}', "Invalid 'index': a whole number, not a boolean"),
        (b'{"index": 1.0, "lines": ""}', "Invalid 'index': a whole number, not a number"),
        (b'{"index": null, "lines": ""}', "Invalid 'index': a whole number, not null"),
        (b'{"index": {}, "lines": ""}', "Invalid 'index': a whole number, not an object"),
        (
            b'{"index": 0, "lines": ["- {}"]}',
            "Invalid 'lines': a string of log lines, not an array",
        ),
        (b'{"index": 0, "lines": 12}', "Invalid 'lines': a string of log lines, not a number"),
        (
            b'{"index": 0, "lines": {"a": 1}}',
            "Invalid 'lines': a string of log lines, not an object",
        ),
        (b'{"index": 0, "lines": null}', "Invalid 'lines': a string of log lines, not null"),
        (b'{"index": 1' + b"0" * 5000 + b"}", "Invalid JSON body: Exceeds the limit"),
    ],
)
def test_a_json_body_that_is_no_log_batch_says_why(body: bytes, message: str) -> None:
    with pytest.raises(BodyError) as refused:
        log_batch(json_request(body))
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("depth", "message"),
    [
        (60, "Invalid 'lines': a string of log lines, not an array"),
        (100_000, "Invalid JSON body: nested too deep"),  # past what the parser can recurse
    ],
)
def test_a_json_body_nested_deep_is_refused(depth: int, message: str) -> None:
    body = b'{"lines": ' + b"[" * depth + b"]" * depth + b"}"
    with pytest.raises(BodyError) as refused:
        log_batch(json_request(body))
    assert str(refused.value) == message


def test_a_json_body_over_the_size_limit_is_refused_as_a_form_is(settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    body = json.dumps({"index": 0, "lines": "x" * 1000}).encode()
    with pytest.raises(RequestDataTooBig):
        json_request(body)
