"""Log records of a bounded size: an unexpected error is one short record, not a traceback.

A request nested a thousand levels deep used to write ~200 KB of traceback
per call (every frame of the recursion). What an admin needs is the
exception's type, its message and where it was raised: the last few frames.
The server's logging (settings.LOGGING) formats every record with
`BoundedFormatter`; `describe` gives the same summary to code that reports
an error itself.
"""

from __future__ import annotations

import logging
import traceback
from types import TracebackType

MAX_MESSAGE = 500  # characters of an exception's message, and of a record's own
MAX_RECORD = 4000  # characters of a whole record, whatever it holds
FRAMES = 5  # the innermost frames, where the error was raised


def _cut(text: str, most: int) -> str:
    return text if len(text) <= most else f"{text[:most]}... [{len(text) - most:,} more]"


def _last_frames(tb: TracebackType | None, count: int) -> list[str]:
    """``file:line in function`` of the innermost ``count`` frames, without reading them all."""
    frames: list[TracebackType] = []
    while tb is not None:
        frames.append(tb)
        if len(frames) > count:
            frames.pop(0)
        tb = tb.tb_next
    summary = traceback.StackSummary.extract(
        ((each.tb_frame, each.tb_lineno) for each in frames), lookup_lines=False
    )
    return [f"{frame.filename}:{frame.lineno} in {frame.name}" for frame in summary]


def describe(error: BaseException, frames: int = FRAMES) -> str:
    """The error's type and message (cut short) and its innermost frames, on a few lines."""
    lines = [f"{type(error).__qualname__}: {_cut(str(error), MAX_MESSAGE)}"]
    lines += [f"  at {where}" for where in _last_frames(error.__traceback__, frames)]
    cause = error.__cause__ or error.__context__
    if cause is not None:
        lines.append(f"  while handling {type(cause).__qualname__}: {_cut(str(cause), 200)}")
    return "\n".join(lines)


class BoundedFormatter(logging.Formatter):
    """A formatter whose records stay under MAX_RECORD characters, tracebacks included."""

    def formatException(self, ei: tuple) -> str:
        error = ei[1]
        if error is None:
            return ""
        return describe(error)

    def formatMessage(self, record: logging.LogRecord) -> str:
        record.message = _cut(record.message, MAX_MESSAGE * 4)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        cached = record.exc_text  # another handler's whole traceback is not ours to print
        record.exc_text = None
        try:
            return _cut(super().format(record), MAX_RECORD)
        finally:
            record.exc_text = cached
