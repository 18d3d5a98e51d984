"""Timeouts as jobs and device types write them: ``{minutes: 5, skip: true}``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

ACTION_TIMEOUT = 30
"""Seconds an action may run when nothing else says otherwise (LAVA's default)."""

UNITS: dict[str, int] = {"days": 86400, "hours": 3600, "minutes": 60, "seconds": 1}


@dataclass(frozen=True)
class Timeout:
    """A duration in seconds and whether a test block may be skipped when it expires."""

    seconds: float
    skip: bool = False

    @classmethod
    def parse(cls, value: Mapping[str, Any] | None, default: float = ACTION_TIMEOUT) -> Timeout:
        """Sum the units of a timeout dict; an empty or zero timeout gives ``default``.

        Raises ValueError naming the key when a unit is unknown, not an integer or
        negative, or when ``skip`` is not a boolean.
        """
        if value is None:
            return cls(float(default))
        total, skip = total_seconds(value)
        try:
            return cls(float(total) if total else float(default), skip)
        except OverflowError:  # float() of an int of hundreds of digits
            raise ValueError("timeout is too long to be a number of seconds") from None

    def __str__(self) -> str:
        return format_duration(self.seconds)


def total_seconds(value: Mapping[str, Any]) -> tuple[int, bool]:
    """The exact number of seconds of a timeout mapping (0 when empty) and its ``skip``.

    Raises ValueError naming the key when a unit is unknown, not an integer or
    negative, or when ``skip`` is not a boolean.
    """
    if not isinstance(value, Mapping):
        raise ValueError(f"timeout must be a mapping such as {{minutes: 5}}, not {value!r}")
    total = 0
    skip = False
    for key, amount in value.items():
        if key == "skip":
            if not isinstance(amount, bool):
                raise ValueError(f"timeout key 'skip' must be true or false, not {amount!r}")
            skip = amount
            continue
        factor = UNITS.get(key)
        if factor is None:
            raise ValueError(
                f"unknown timeout unit {key!r}: use one of days, hours, minutes, seconds"
            )
        # bool is an int subclass; `minutes: true` is a typo, not one minute
        if isinstance(amount, bool) or not isinstance(amount, int):
            raise ValueError(f"timeout key {key!r} must be an integer, not {amount!r}")
        if amount < 0:
            raise ValueError(f"timeout key {key!r} must not be negative, got {amount}")
        total += amount * factor
    return total, skip


def format_duration(seconds: float) -> str:
    """Render seconds as ``HH:MM:SS`` (rounded to the second; hours may exceed 24)."""
    hours, rest = divmod(max(0, round(seconds)), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}"
