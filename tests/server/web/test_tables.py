"""Keyset pages (web/tables.py): cursors walk a whole list, both ways, without gaps or repeats."""

from __future__ import annotations

import base64
import contextlib
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.test import RequestFactory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lava.server.scheduler.models import DeviceType, TestJob
from lava.server.services import Invalid
from lava.server.web import tables
from lava.server.web.jobtable import SORT_KEYS

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def walk(order: tables.Ordering, size: int) -> tuple[list[int], list[int]]:
    """Ids met following Next from the first page, then Previous back from the last."""
    factory = RequestFactory()
    forward: list[list[int]] = []
    params: dict[str, str] = {}
    while True:
        result = tables.page(factory.get("/", params), TestJob.objects.all(), order, size)
        forward.append([job.id for job in result.rows])
        if result.next is None:
            break
        params = {"after": result.next}
    backward = [forward[-1]]
    previous = result.previous
    while previous:
        result = tables.page(
            factory.get("/", {"before": previous}), TestJob.objects.all(), order, size
        )
        backward.append([job.id for job in result.rows])
        previous = result.previous
    assert result.first or len(forward) == 1
    flat = [i for part in forward for i in part]
    back = [i for part in reversed(backward) for i in part]
    return flat, back


def expected(order: tables.Ordering) -> list[int]:
    """The order in Python: NULL greater than every value, ``id`` breaking ties."""
    field = order.key.field
    jobs = list(TestJob.objects.all())

    def key(job: TestJob) -> tuple:
        value = getattr(job, field)
        return (value is None, value if value is not None else 0, job.id)

    ids = [job.id for job in sorted(jobs, key=key)]
    return ids[::-1] if order.descending else ids


jobs_strategy = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(0, 4)),  # end time: few values, many ties
        st.one_of(st.none(), st.sampled_from(["qemu-01", "qemu-02"])),
        st.integers(0, 5),  # state
        st.sampled_from([None, "qemu", "bbb"]),  # requested device type
    ),
    max_size=30,
)


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    rows=jobs_strategy,
    sort=st.sampled_from(["id", "end_time", "device", "state", "submit_time", "device_type"]),
    descending=st.booleans(),
    size=st.integers(1, 7),
)
def test_cursors_walk_every_row_once(lab, users, rows, sort, descending, size) -> None:
    TestJob.objects.all().delete()
    DeviceType.objects.get_or_create(name="bbb")
    for n, (end, device, state, device_type) in enumerate(rows):
        TestJob.objects.create(
            submitter=users["owner"],
            definition="x",
            submit_time=T0 + timedelta(minutes=n % 3),
            end_time=None if end is None else T0 + timedelta(hours=end),
            actual_device_id=device,
            state=state,
            requested_device_type_id=device_type,
        )
    key = SORT_KEYS[sort]
    if sort == "device_type":  # enumerated, as the job lists do
        key = replace(key, values=("qemu", "bbb", "unused"))
    order = tables.Ordering(key, descending)
    forward, backward = walk(order, size)
    assert forward == expected(order)
    assert backward == forward


@pytest.mark.parametrize(
    "cursor",
    [
        "",
        "%%%",
        "bm90IGpzb24",
        "WzEsMiwzXQ",
        "WyJpZCIsMSwtMV0",
        "WyItaWQiLG51bGwsInRlbiJd",
        "A" * 600,
    ],
)
def test_a_damaged_cursor_is_invalid(db, cursor) -> None:
    order = tables.Ordering(SORT_KEYS["id"], True)
    if not cursor:
        return
    with pytest.raises(Invalid):
        tables.decode_cursor(cursor, order)


def test_a_cursor_of_another_order_is_refused(db, users) -> None:
    job = TestJob.objects.create(submitter=users["owner"], definition="x")
    by_id = tables.Ordering(SORT_KEYS["id"], True)
    by_time = tables.Ordering(SORT_KEYS["submit_time"], True)
    text = tables.encode_cursor(by_id, job)
    assert tables.decode_cursor(text, by_id).pk == job.id
    with pytest.raises(Invalid, match="another sort order"):
        tables.decode_cursor(text, by_time)


def test_a_time_cursor_round_trips(db, users) -> None:
    job = TestJob.objects.create(submitter=users["owner"], definition="x", end_time=T0)
    order = tables.Ordering(SORT_KEYS["end_time"], False)
    assert tables.decode_cursor(tables.encode_cursor(order, job), order).value == T0


@pytest.mark.parametrize("value", ["0", "101", "-1", "2.5", "1e3", "9" * 9, "ten"])
def test_length_out_of_range_is_invalid(value) -> None:
    with pytest.raises(Invalid, match="length"):
        tables.length(RequestFactory().get("/", {"length": value}))


def test_length_defaults_and_bounds() -> None:
    assert tables.length(RequestFactory().get("/")) == tables.DEFAULT_LENGTH
    assert tables.length(RequestFactory().get("/", {"length": "100"})) == 100


def test_params_refuse_nul_and_long_values() -> None:
    with pytest.raises(Invalid, match="NUL"):
        tables.param(RequestFactory().get("/", {"device": "a\x00b"}), "device")
    with pytest.raises(Invalid, match="at most"):
        tables.param(RequestFactory().get("/", {"device": "a" * 201}), "device")


def test_sort_must_be_offered() -> None:
    keys = {"id": SORT_KEYS["id"]}
    assert tables.ordering(RequestFactory().get("/", {"sort": "-id"}), keys, "id").descending
    for bad in ("definition", "--id", "id;drop table", "-"):
        with pytest.raises(Invalid, match="sort"):
            tables.ordering(RequestFactory().get("/", {"sort": bad}), keys, "id")


def test_query_keeps_filters_and_drops_cursors() -> None:
    request = RequestFactory().get("/", {"state": "Running", "after": "abc"})
    assert tables.query(request, after=None, sort="-id") == "?state=Running&sort=-id"


def _encoded(payload: object) -> str:
    raw = json.dumps(payload).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


payloads = st.one_of(
    st.text(max_size=80),
    st.builds(
        _encoded,
        st.lists(
            st.one_of(
                st.sampled_from(["-id", "id", "-end_time", "end_time", "state", "-device"]),
                st.none(),
                st.booleans(),
                st.integers(min_value=-(2**70), max_value=2**70),
                st.floats(allow_nan=False),
                st.text(max_size=30),
                st.sampled_from(
                    ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2026-01-01"]
                ),
            ),
            max_size=4,
        ),
    ),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cursor=payloads, sort=st.sampled_from(["-id", "end_time", "-end_time", "state", "-device"]))
def test_any_cursor_is_a_page_or_invalid(db, cursor, sort) -> None:
    name = sort.removeprefix("-")
    order = tables.Ordering(SORT_KEYS[name], sort.startswith("-"))
    for direction in ("after", "before"):
        request = RequestFactory().get("/", {direction: cursor})
        with contextlib.suppress(Invalid):
            tables.page(request, TestJob.objects.all(), order, 5)


def test_unicode_digits_are_not_a_length() -> None:
    for text in ("\u00b2", "\u0661\u0660"):  # superscript two; Arabic-Indic ten
        with pytest.raises(Invalid):
            tables.length(RequestFactory().get("/", {"length": text}))
