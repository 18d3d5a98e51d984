"""The event message: LAVA's five parts on the websocket, read by the real lavacli's printer."""

from __future__ import annotations

import datetime
import json

import pytest
from lavacli.commands import events as lavacli_events

from lava.server.events.messages import (
    DEVICE,
    TESTCASE,
    TESTJOB,
    WORKER,
    Event,
    Scope,
    pack,
    unpack,
)

JOB = {
    "health": "Unknown",
    "state": "Running",
    "job": 12,
    "description": "qemu smoke",
    "priority": 50,
    "submit_time": "2026-11-02T10:00:00+00:00",
    "submitter": "admin",
    "health_check": False,
    "device": "qemu-01",
    "worker": "w1",
    "device_type": "qemu",
    "start_time": "2026-11-02T10:00:05+00:00",
}


def test_a_frame_is_lavas_five_strings_with_the_data_as_json_text() -> None:
    event = Event(TESTJOB, "admin", JOB)
    parts = json.loads(event.frame("org.lavasoftware"))
    assert len(parts) == 5 and all(isinstance(part, str) for part in parts)
    topic, uuid, dt, username, data = parts
    assert (topic, username) == ("org.lavasoftware.testjob", "admin")
    assert json.loads(data) == JOB  # clients decode the data a second time
    assert len(uuid) == 36
    when = datetime.datetime.fromisoformat(dt)
    assert when.utcoffset() == datetime.timedelta(0)


class Options:
    """lavacli's parsed options, as ``events listen`` has them."""

    def __init__(self, *topics: str) -> None:
        self.filter = list(topics) or None


def printed(capsys: pytest.CaptureFixture[str], event: Event, *topics: str) -> str:
    """What lavacli's own printer makes of a frame, unpacked as its websocket loop does."""
    topic, _, dt, username, data = json.loads(event.frame("org.lavasoftware"))
    lavacli_events.print_event(Options(*topics), {}, topic, dt, username, data)
    return capsys.readouterr().out


def test_lavacli_prints_a_job_a_device_and_a_worker(capsys: pytest.CaptureFixture[str]) -> None:
    job = Event(TESTJOB, "admin", JOB)
    assert printed(capsys, job).endswith(
        " org.lavasoftware.testjob admin - [12] <qemu-01> state=Running health=Unknown"
        " (qemu smoke)\n"
    )
    device = Event(
        DEVICE,
        "lavaserver",
        {
            "health": "Good",
            "state": "Running",
            "device": "qemu-01",
            "device_type": "qemu",
            "worker": "w1",
            "job": "12",
        },
    )
    assert printed(capsys, device).endswith(
        " org.lavasoftware.device lavaserver - [qemu-01] <qemu> state=Running health=Good for 12\n"
    )
    worker = Event(WORKER, "lavaserver", {"hostname": "w1", "health": "Active", "state": "Online"})
    assert printed(capsys, worker).endswith("[w1] state=Online health=Active\n")


def test_lavacli_filters_by_topic_and_prints_our_test_cases_as_data(
    capsys: pytest.CaptureFixture[str],
) -> None:
    case = Event(TESTCASE, "lavaserver", {"job": 12, "suite": "0_smoke", "name": "boot"})
    assert printed(capsys, case, "testjob") == ""
    assert '"suite": "0_smoke"' in printed(capsys, case)


def test_events_travel_to_the_publisher_in_datagrams_with_their_scope() -> None:
    scope = Scope(types=("qemu",), devices=("qemu-01",), job=True, public=False, groups=(3,))
    events = [Event(TESTJOB, "admin", dict(JOB, job=n), scope) for n in range(300)]
    datagrams = list(pack(events, size=4096))
    assert len(datagrams) > 1 and all(len(d) <= 4096 for d, _ in datagrams)
    assert sum(count for _, count in datagrams) == 300
    back = [event for datagram, _ in datagrams for event in unpack(datagram)]
    assert back == events


def test_an_event_bigger_than_a_datagram_goes_alone() -> None:
    big = Event(TESTCASE, "lavaserver", {"name": "x" * 10_000})
    small = Event(WORKER, "lavaserver", {"hostname": "w1"})
    datagrams = list(pack([small, big, small], size=4096))
    assert [count for _, count in datagrams] == [1, 1, 1]


@pytest.mark.parametrize(
    "datagram",
    [b"", b"{}", b"[1]", b'[{"topic": ".nope", "data": {}}]', b'[{"topic": ".device"}]', b"\xff"],
)
def test_what_is_not_an_event_is_refused(datagram: bytes) -> None:
    with pytest.raises(ValueError):
        unpack(datagram)
