"""Hand events to the publisher once their transaction commits: fire and forget.

Every hook here builds its events inside the caller's transaction (they say
what it wrote) and sends them from ``transaction.on_commit``: a transaction
rolled back publishes nothing, and no listener hears of a change before the
database holds it. The publisher's inbox is a unix datagram socket
(``INTERNAL_EVENT_SOCKET``). A writer never fails because of it and never
waits long: with no publisher (no inbox) no event is even built, and one
that went away makes a send fail at once; with a publisher that does not
keep up, a writer waits at most ``WAIT`` seconds per commit, then drops
the rest and, for ``HOLD_OFF`` seconds, does not wait at all.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.conf import settings
from django.db import transaction

from lava.common import log

from ..scheduler.models import Device, TestJob, Worker
from . import facts
from .messages import Event, pack

LOG = logging.getLogger("lava.server.events")

WAIT = 0.1
HOLD_OFF = 10.0
WARN_EVERY = 60.0


class _Outbox(threading.local):
    """This thread's socket, connected to the publisher's inbox (None: not yet, or lost)."""

    sock: socket.socket | None = None
    pid: int = 0
    path: str = ""


_outbox = _Outbox()
_health = {"hold_until": 0.0, "dropped": 0, "warned": 0.0}


def inbox() -> str:
    """The publisher's inbox, ``INTERNAL_EVENT_SOCKET`` (built once per setting: a worker
    API call asks several times, and a path object costs)."""
    lava = settings.LAVA
    key = (lava.internal_event_socket, lava.data_dir)
    path = _inboxes.get(key)
    if path is None:
        path = _inboxes[key] = str(lava.internal_event_socket_path)
    return path


_inboxes: dict[tuple[Any, Any], str] = {}


def enabled() -> bool:
    """Whether to build events: ``EVENT_NOTIFICATION``, and a publisher's inbox to send them
    to (with none, nobody would hear them: building them would be work for nothing)."""
    return bool(settings.LAVA.event_notification) and os.path.exists(inbox())


def _connect(path: str) -> socket.socket:
    """This thread's socket to ``path``; a connected datagram socket waits for room in the
    publisher's queue (an unconnected one cannot tell) and fails at once without a publisher."""
    out = _outbox
    if out.sock is None or out.pid != os.getpid() or out.path != path:
        _disconnect()
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            sock.connect(path)
        except OSError:
            sock.close()
            raise
        out.sock, out.pid, out.path = sock, os.getpid(), path
    return out.sock


def _disconnect() -> None:
    if _outbox.sock is not None and _outbox.pid == os.getpid():
        _outbox.sock.close()
    _outbox.sock = None


def _dropped(count: int, why: str) -> None:
    _health["dropped"] += count
    now = time.monotonic()
    if now - _health["warned"] >= WARN_EVERY:
        LOG.warning(
            "events: %d dropped so far (%s); listeners missed them (lava-publisher, "
            "INTERNAL_EVENT_SOCKET %s)",
            _health["dropped"],
            why,
            settings.LAVA.internal_event_socket_path,
        )
        _health["warned"] = now


def send(events: Sequence[Event]) -> int:
    """Send ``events`` to the publisher now; the number it took. Never raises."""
    path = inbox()
    datagrams = list(pack(events))
    waiting = time.monotonic() >= _health["hold_until"]
    deadline = time.monotonic() + (WAIT if waiting else 0.0)
    sent = 0
    for datagram, count in datagrams:
        try:
            _send_one(path, datagram, deadline)
        except (FileNotFoundError, ConnectionRefusedError):
            # no publisher: nobody listens, nothing is lost that anyone would have seen
            _disconnect()
            return sent
        except (BlockingIOError, TimeoutError):
            _health["hold_until"] = time.monotonic() + HOLD_OFF
            _dropped(len(events) - sent, "the publisher does not keep up")
            return sent
        except OSError as exc:
            _disconnect()
            _dropped(count, f"cannot send: {exc}")
            continue
        sent += count
    return sent


def _send_one(path: str, datagram: bytes, deadline: float) -> None:
    for attempt in (1, 2):
        sock = _connect(path)
        sock.settimeout(max(deadline - time.monotonic(), 0.0))
        try:
            sock.send(datagram)
            return
        except ConnectionRefusedError:
            # the publisher restarted: its inbox is a new socket at the same path
            _disconnect()
            if attempt == 2:
                raise


def publish(events: Sequence[Event]) -> None:
    """Send ``events`` when the current transaction commits (at once outside of one)."""
    if events:
        transaction.on_commit(functools.partial(send, list(events)), robust=True)


# -- the hooks: what changed, in the caller's transaction


def _hook(function: Callable[..., None]) -> Callable[..., None]:
    """An event that cannot be built is logged, never the writer's failure."""

    @functools.wraps(function)
    def hook(*args: Any) -> None:
        try:
            function(*args)
        except Exception as exc:
            LOG.error("events: %s failed, no event sent: %r", function.__name__, exc)

    return hook


@_hook
def jobs(ids: Iterable[int]) -> None:
    """Jobs whose state or health changed (or that were just submitted)."""
    if enabled():
        publish(facts.job_events(list(ids)))


@_hook
def job(job: TestJob) -> None:
    """One job's state or health changed (``job`` and its device as just saved)."""
    if enabled():
        publish([facts.job_event(job)])


@_hook
def scheduled(assignments: Sequence[tuple[int, str]]) -> None:
    """Jobs Scheduled on devices now Reserved (``transitions.jobs_scheduled``)."""
    if enabled():
        publish(facts.scheduled_events(assignments))


@_hook
def device(device: Device, job: str | None = facts.UNKNOWN_JOB) -> None:
    """A device's state or health changed; ``job``: its current job, when known."""
    if enabled():
        publish([facts.device_event(device, job)])


@_hook
def worker(worker: Worker) -> None:
    """A worker's state or health changed."""
    if enabled():
        publish([facts.worker_event(worker)])


@_hook
def testcases(job_id: int, cases: Sequence[Any]) -> None:
    """Result rows just derived from a job's log."""
    if cases and enabled():
        scope = facts.job_scope(job_id)
        if scope is not None:
            publish(facts.testcase_events(job_id, scope, cases))


def may_hold_test_events(lines: str) -> bool:
    """Whether a batch of log lines may hold ``lava-test-event`` lines (a cheap look)."""
    return "event" in lines and enabled()


@_hook
def test_events_in(job_id: int, start: int, lines: str, stored: int) -> None:
    """LAVA's ``.event`` for each ``event`` line of a batch whose first line is log line
    ``start``, skipping those before line ``stored`` (sent before)."""
    if not may_hold_test_events(lines):
        return
    messages = []
    for number, line in enumerate(lines.split("\n"), start):
        if number >= stored and "event" in line:
            with contextlib.suppress(ValueError):
                record = log.decode(line)
                if record.get("lvl") == "event":
                    messages.append(record["msg"])
    scope = facts.job_scope(job_id) if messages else None
    if scope is not None:
        publish(facts.log_events(job_id, scope, messages))
