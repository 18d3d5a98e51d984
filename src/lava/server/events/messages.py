"""The event message: LAVA's five parts on the websocket, and our datagrams to the publisher.

On ``/ws/`` each event is one text frame holding a JSON array of five
strings, as LAVA's lava-publisher sends them: ``[topic, uuid, datetime,
username, data]``, where topic is ``EVENT_TOPIC`` plus ``.testjob``,
``.device``, ``.worker``, ``.event`` (LAVA's) or ``.testcase`` (ours), and
data is the event's fields as a JSON *string* (clients decode it again).

Between the server's processes and the publisher, events travel in
datagrams: a JSON array of event objects that also carry their ``Scope``,
what the publisher needs to decide who may see them without a database.
"""

from __future__ import annotations

import datetime
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

# LAVA's topic suffixes, and ours for test cases
TESTJOB, DEVICE, WORKER, EVENT, TESTCASE = ".testjob", ".device", ".worker", ".event", ".testcase"
TOPICS = frozenset({TESTJOB, DEVICE, WORKER, EVENT, TESTCASE})
# The username LAVA gives events that no user caused (devices, workers, test events).
SERVER_USER = "lavaserver"
# Bytes of events per datagram: well under the default socket buffers (208 KiB), so a
# publisher that reads them as they come never makes a writer wait.
DATAGRAM_SIZE = 32 * 1024


@dataclass(slots=True)
class Scope:
    """Who may see an event: the visibility facts of its job or device (nothing: everyone)."""

    types: tuple[str, ...] = ()  # device types: hidden from a user who may not see one
    devices: tuple[str, ...] = ()
    job: bool = False  # a job's event: public, group or personal, as the job is
    public: bool = True
    groups: tuple[int, ...] = ()  # a group job's viewing groups
    submitter: int | None = None  # always sees their job's events


def now() -> str:
    """The event's time as LAVA writes it: ISO 8601, UTC, with microseconds."""
    return datetime.datetime.now(datetime.UTC).isoformat()


EVERYONE = Scope()


@dataclass(slots=True)
class Event:
    """One change: LAVA's topic suffix, the user it is about, its fields, who may see it."""

    topic: str
    username: str
    data: dict[str, Any]
    scope: Scope = field(default_factory=Scope)
    dt: str = field(default_factory=now)
    uuid: str = ""  # given by the publisher, which sends it: writers spare the work

    def parts(self, prefix: str) -> list[str]:
        """LAVA's five parts, with ``prefix`` (EVENT_TOPIC) in front of the topic."""
        ident = self.uuid or str(uuid.uuid4())
        data = json.dumps(self.data, default=str)
        return [prefix + self.topic, ident, self.dt, self.username, data]

    def frame(self, prefix: str) -> str:
        """The text frame a websocket listener receives."""
        return json.dumps(self.parts(prefix))


# default=str: a value JSON has no type for (a date a YAML log line gave) goes as its text
_COMPACT = json.JSONEncoder(separators=(",", ":"), default=str)


def _record(event: Event) -> str:
    scope = event.scope
    record: dict[str, Any] = {"topic": event.topic, "user": event.username, "data": event.data}
    if scope != EVERYONE:
        record["scope"] = {
            "types": scope.types,
            "devices": scope.devices,
            "job": scope.job,
            "public": scope.public,
            "groups": scope.groups,
            "submitter": scope.submitter,
        }
    record["dt"] = event.dt
    return _COMPACT.encode(record)


def pack(events: Sequence[Event], size: int = DATAGRAM_SIZE) -> Iterator[tuple[bytes, int]]:
    """The datagrams that carry ``events``, in order, each with its number of events. An
    event bigger than ``size`` goes alone (the socket refuses it if no datagram can hold it)."""
    batch: list[bytes] = []
    length = 0
    for event in events:
        record = _record(event).encode("utf-8")
        if batch and length + len(record) + 1 > size:
            yield b"[" + b",".join(batch) + b"]", len(batch)
            batch, length = [], 0
        batch.append(record)
        length += len(record) + 1
    if batch:
        yield b"[" + b",".join(batch) + b"]", len(batch)


def _scope(value: Any) -> Scope:
    if not isinstance(value, dict):
        raise ValueError("scope is not a mapping")
    return Scope(
        types=tuple(str(t) for t in value.get("types", ())),
        devices=tuple(str(d) for d in value.get("devices", ())),
        job=bool(value.get("job", False)),
        public=bool(value.get("public", True)),
        groups=tuple(int(g) for g in value.get("groups", ())),
        submitter=None if value.get("submitter") is None else int(value["submitter"]),
    )


def unpack(datagram: bytes) -> list[Event]:
    """The events of one datagram; ValueError if it is not one ``pack`` wrote."""
    records = json.loads(datagram)
    if not isinstance(records, list):
        raise ValueError("a datagram holds a list of events")
    events = []
    for record in records:
        if not isinstance(record, dict) or record.get("topic") not in TOPICS:
            raise ValueError(f"not an event: {str(record)[:200]!r}")
        if not isinstance(record.get("data"), dict):
            raise ValueError(f"event data is not a mapping: {str(record)[:200]!r}")
        events.append(
            Event(
                topic=record["topic"],
                username=str(record.get("user", "")),
                data=record["data"],
                scope=_scope(record.get("scope", {})),
                dt=str(record.get("dt", "")),
            )
        )
    return events
