"""The worker API's fast form parser: the same fields as Django's, or none (Django parses)."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from hypothesis import given
from hypothesis import strategies as st

from lava.common import log
from lava.server.scheduler.internal.form import parse, unquote_plus_bytes

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
