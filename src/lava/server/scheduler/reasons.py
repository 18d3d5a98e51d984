"""Reasons the scheduler records (failure comments, device health, log lines): one bounded line.

A job's values can end up in an error message; what is kept of it is short.
"""

from __future__ import annotations

import traceback
from pathlib import Path

LENGTH = 1000  # characters of a reason


def short(text: str, length: int = LENGTH) -> str:
    """``text`` cut to ``length`` characters."""
    return text if len(text) <= length else text[: length - 3] + "..."


def unexpected(exc: BaseException) -> str:
    """An error nobody foresaw in one bounded line: its type, where it arose and its message."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return short(f"{type(exc).__name__}{where}: {exc}")
