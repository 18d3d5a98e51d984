"""Nested deadlines enforced with SIGALRM, so that even a blocked call times out.

Each running action pushes a frame whose deadline never exceeds its parent's,
so the innermost frame always holds the earliest deadline and one interval
timer is enough.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType

from lava.common.exceptions import LAVAError


@dataclass(eq=False)
class _Frame:
    name: str
    start: float
    deadline: float
    exception: type[LAVAError]


class Deadlines:
    """A stack of deadlines; the earliest raises its action's timeout error."""

    def __init__(self) -> None:
        self._frames: list[_Frame] = []
        self._installed = False

    def _install(self) -> None:
        if not self._installed:
            signal.signal(signal.SIGALRM, self._expired)
            self._installed = True

    def _arm(self) -> None:
        if not self._frames:
            signal.setitimer(signal.ITIMER_REAL, 0)
            return
        remaining = self._frames[-1].deadline - time.monotonic()
        signal.setitimer(signal.ITIMER_REAL, max(remaining, 0.001))

    def _expired(self, _signum: int, _frame: FrameType | None) -> None:
        if not self._frames:
            return
        frame = self._frames[-1]
        now = time.monotonic()
        if now < frame.deadline:
            # Woken early (timer granularity): wait for the rest.
            self._arm()
            return
        elapsed = round(now - frame.start)
        # Push the deadline out of reach so the frame cannot fire twice while
        # the exception unwinds through cleanup code.
        frame.deadline = float("inf")
        raise frame.exception(f"{frame.name} timed out after {elapsed} seconds")

    @contextmanager
    def frame(
        self,
        name: str,
        seconds: float,
        exception: type[LAVAError],
        parent_deadline: float | None = None,
    ) -> Iterator[float]:
        """Run the body with a deadline of `seconds` (clamped to the parent's).

        Yields the absolute (monotonic) deadline.
        """
        self._install()
        start = time.monotonic()
        deadline = start + seconds
        if parent_deadline is not None:
            deadline = min(deadline, parent_deadline)
        if self._frames:
            deadline = min(deadline, self._frames[-1].deadline)
        entry = _Frame(name, start, deadline, exception)
        self._frames.append(entry)
        self._arm()
        try:
            if deadline <= start:
                raise exception(f"{name} timed out after 0 seconds")
            yield deadline
        finally:
            self._frames.remove(entry)
            self._arm()

    def disarm(self) -> None:
        """Stop the timer (used when the job is over)."""
        self._frames.clear()
        signal.setitimer(signal.ITIMER_REAL, 0)


def remaining(deadline: float | None, cap: float | None = None) -> float:
    """Seconds left before `deadline`, never negative, at most `cap`."""
    left = float("inf") if deadline is None else max(deadline - time.monotonic(), 0.0)
    if cap is not None:
        left = min(left, cap)
    return left
