"""A job's pipeline with per-action timing, from the ``start:``/``end:`` lines of its log.

The log is read through its line index in slices and only the lines that
announce an action are parsed, so a million-line log costs one pass of a
byte regex, never the whole file in memory. The work is bounded (bytes read,
actions kept) and the answer is cached by line count: a log only grows, so
the same count means the same answer, and a finished job's is computed once.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.core.cache import cache

from lava.server.logs.store import log_store

SLICE = 20_000  # log lines read at a time
MAX_BYTES = 512 * 1024 * 1024  # stop reading past this: a pathological log
MAX_ACTIONS = 5_000
NEAR_TIMEOUT = 0.85  # LAVA flags an action whose duration reached 85% of its timeout
CACHE_SECONDS = 3600
# `start: 1.2 name (timeout 00:02:00) [ns]` and `end: 1.2 name (duration 00:00:03) [ns]`
ACTION = re.compile(
    rb'"msg": "(start|end): ([0-9][0-9.]*) ([^ "\\]{1,200}) \((timeout|duration) ([0-9:.]{1,20})\)'
)


@dataclass
class Action:
    """One pipeline action: where it sits, how long it may take and how long it took."""

    level: str
    name: str
    timeout: float | None = None
    duration: float | None = None

    @property
    def near_timeout(self) -> bool:
        if self.timeout is None or self.duration is None or not self.timeout:
            return False
        return self.duration >= NEAR_TIMEOUT * self.timeout


@dataclass
class Timing:
    """The actions in pipeline order; ``complete`` is False when a bound cut the scan short."""

    actions: list[Action] = field(default_factory=list)
    complete: bool = True
    lines: int = 0

    def graph(self) -> list[list[object]]:
        """LAVA's ``graph``: ``[level, name, duration_s, timeout_s, near_timeout]`` an action."""
        return [
            [a.level, a.name, a.duration, a.timeout or 0.0, a.near_timeout]
            for a in self.actions
            if a.duration is not None
        ]


def seconds(text: str) -> float | None:
    """``HH:MM:SS`` (or plain seconds, as older logs print) in seconds; None if unreadable."""
    try:
        total = 0.0
        for part in text.split(":"):
            total = total * 60 + float(part)
    except ValueError:
        return None
    return total


def scan(blobs: Iterable[bytes]) -> Timing:
    """The timing found in ``blobs``, slices of log text in order (any iterable of bytes)."""
    timing = Timing()
    open_actions: dict[tuple[str, str], Action] = {}
    read = 0
    for blob in blobs:
        read += len(blob)
        for match in ACTION.finditer(blob):
            kind, level, name, _, value = (
                part.decode("utf-8", "replace") for part in match.groups()
            )
            if kind == "start":
                if len(timing.actions) >= MAX_ACTIONS:
                    timing.complete = False
                    return timing
                action = Action(level, name, timeout=seconds(value))
                timing.actions.append(action)
                open_actions[(level, name)] = action
            else:
                action = open_actions.pop((level, name), None)
                if action is None:  # an end without its start (a log cut by a bound)
                    action = Action(level, name)
                    timing.actions.append(action)
                action.duration = seconds(value)
        if read >= MAX_BYTES:
            timing.complete = False
            break
    return timing


def slices(job_id: int, count: int) -> Iterator[bytes]:
    """The job's first ``count`` log lines, ``SLICE`` lines at a time."""
    store = log_store()
    for start in range(0, count, SLICE):
        yield store.read(job_id, start, min(count, start + SLICE))


def job_timing(job_id: int) -> Timing:
    """The timing of the job's log as it stands; cached by line count."""
    count = log_store().count(job_id)
    key = f"web:job-timing:{job_id}:{count}"
    timing = cache.get(key)
    if timing is None:
        timing = scan(slices(job_id, count))
        timing.lines = count
        cache.set(key, timing, CACHE_SECONDS)
    return timing
