"""The scheduler daemon's loop: a pass, then wait for the interval or for something new.

Between passes the loop polls a cheap fingerprint of the queue, devices and
workers (``scheduling.queue_signature``) and starts the next pass as soon as
it changes, so a new job is scheduled within a poll, not an interval. A stop
request (SIGTERM, SIGINT) lets the current pass finish. An error ends the
pass, never the daemon: a pass deals with each job's errors itself (the job
ends Incomplete), so what reaches the loop is the database's or a bug's. The
loop logs it in one bounded line, drops the connections and tries again after
a back-off that doubles up to BACKOFF_MAX; one job cannot stop scheduling for
the whole lab, nor crash the daemon again after every restart.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from types import FrameType
from typing import Any, Protocol

from django.db import DatabaseError, connections

from .reasons import short, unexpected
from .scheduling import PassReport, queue_signature, schedule_pass

LOG = logging.getLogger("lava.server.scheduler.daemon")

POLL_SECONDS = 0.1  # `queue_signature` costs 0.1 ms of CPU: a new job waits 50 ms on average
BACKOFF_FIRST, BACKOFF_MAX = 1.0, 30.0


class Stopper(Protocol):
    """What the loop needs to know about being asked to stop."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds; True (at once) when a stop was asked for."""
        ...


class SignalStop:
    """A stop request set by SIGTERM or SIGINT; waiting wakes within 50 ms of one."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self._set = False
        self.signal: str | None = None
        self._previous: dict[int, Any] = {}

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        del frame
        self.signal = signal.Signals(signum).name
        self._set = True

    def install(self) -> None:
        """Take over SIGTERM and SIGINT (uninstall() gives them back)."""
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handle)

    def uninstall(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def is_set(self) -> bool:
        return self._set

    def wait(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while not self._set:
            left = end - time.monotonic()
            if left <= 0:
                break
            time.sleep(min(left, 0.05))
        return self._set


def _drop_connections() -> None:
    """Close database connections so the next query opens a fresh one."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:  # a caller's transaction is the caller's
            connection.close()


def _wait_for_work(
    stop: Stopper,
    interval: float,
    poll: float,
    before: tuple[object, ...],
    signature: Callable[[], tuple[object, ...]],
) -> None:
    """Return after ``interval``, when the fingerprint differs from ``before``, or on a stop."""
    deadline = time.monotonic() + interval
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0 or stop.wait(min(poll, left)):
            return
        if signature() != before:
            LOG.debug("jobs, devices or workers changed: passing early")
            return


def run(
    interval: float,
    *,
    stop: Stopper,
    once: bool = False,
    poll: float = POLL_SECONDS,
    pass_fn: Callable[[], PassReport] = schedule_pass,
    signature: Callable[[], tuple[object, ...]] = queue_signature,
) -> int:
    """Pass after pass until ``stop`` is set (after one pass with ``once``); the exit status."""
    backoff = BACKOFF_FIRST
    while not stop.is_set():
        try:
            before = signature()
            report = pass_fn()
            LOG.info(report.summary())
            backoff = BACKOFF_FIRST
            if once:
                return 0
            _wait_for_work(stop, interval, poll, before, signature)
        except Exception as exc:
            _drop_connections()
            kind = "database error" if isinstance(exc, DatabaseError) else "unexpected error"
            problem = short(str(exc)) if isinstance(exc, DatabaseError) else unexpected(exc)
            if once:
                LOG.error("scheduler pass failed: %s: %s", kind, problem)
                return 1
            LOG.error("scheduler pass failed: %s: %s; retrying in %g s", kind, problem, backoff)
            stop.wait(backoff)
            backoff = min(backoff * 2, BACKOFF_MAX)
    return 0
