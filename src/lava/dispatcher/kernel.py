"""Kernel messages in console output: a panic ends the boot; oops, BUG, KASAN, KFENCE and
warnings are recorded.

Each message starts with a marker line (`Kernel panic - not syncing`, `BUG: KASAN:`,
`------------[ cut here ]------------`, ...) and runs to its own end marker (`---[ end
Kernel panic ...`, a `====` rule, `---[ end trace ... ]---`, or simply the end of the
line). The kinds, markers and which ones are fatal are those LAVA reports, so job
results read the same.

`KERNEL_PATTERNS` start regexes can go straight into a pexpect pattern list;
`KernelMonitor` follows a console stream (it can be pexpect's `logfile_read`) and
`scan()` reads a whole capture.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

# Ends are found by look-ahead, so the line terminator (\n, or \r\n through a pty)
# is left to the text that follows.
_EOL = r"(?=[\r\n])"


@dataclass(frozen=True)
class KernelPattern:
    """A kernel message: what starts it, what ends it, and whether it ends the boot."""

    kind: str
    regex: str
    end: str = _EOL
    fatal: bool = False


# "trace" blocks (cut here ... end trace) take their kind from what they contain.
TRACE = "trace"

# Order matters when two start at the same place ("BUG: KASAN:" before "BUG:").
KERNEL_PATTERNS: tuple[KernelPattern, ...] = (
    KernelPattern(TRACE, r"-\[ cut here \]", r"-+\[ end trace \w* \]-+[^\r\n]*" + _EOL),
    KernelPattern("fault", r"Unhandled fault"),
    KernelPattern("kcsan", r"BUG: KCSAN:", r"=+" + _EOL),
    KernelPattern("kasan", r"BUG: KASAN:", r"=+" + _EOL),
    KernelPattern("kfence", r"BUG: KFENCE:", r"=+" + _EOL),
    KernelPattern("oops", r"Oops(?: -|:)"),
    KernelPattern("warning", r"WARNING:", r"end trace[^\r\n]*" + _EOL),
    KernelPattern("bug", r"(?:kernel BUG at|BUG:)"),
    KernelPattern("invalid opcode", r"invalid opcode:"),
    KernelPattern(
        "panic", r"Kernel panic - not syncing", r"end Kernel panic[^\r\n]*" + _EOL, fatal=True
    ),
    # A board's boot loader starting again in the middle of a boot: it has reset.
    KernelPattern("DUT_has_reset", r"U-Boot SPL 20[0-9][0-9]", fatal=True),
)

# One alternation finds the leftmost start, the earlier pattern winning a tie (as
# pexpect does with a pattern list).
_STARTS = re.compile("|".join(f"(?P<p{i}>{p.regex})" for i, p in enumerate(KERNEL_PATTERNS)))
_FATAL_STARTS = re.compile("|".join(p.regex for p in KERNEL_PATTERNS if p.fatal))
_ENDS = {p.kind: re.compile(p.end) for p in KERNEL_PATTERNS}

# A block whose end marker does not come within this many characters is cut there.
MAX_BLOCK = 256 * 1024


@dataclass(frozen=True)
class KernelMessage:
    """One kernel message found in console output, from the start of its first line."""

    kind: str
    message: str
    fatal: bool
    complete: bool = True

    def as_result(self) -> dict[str, Any]:
        """The {kind, message} entry LAVA lists in the kernel-messages result."""
        return {"kind": self.kind, "message": self.message}


def start_regexes() -> list[str]:
    """The start regexes of KERNEL_PATTERNS, in order (index i is KERNEL_PATTERNS[i])."""
    return [p.regex for p in KERNEL_PATTERNS]


def classify(matched: str) -> KernelPattern | None:
    """The pattern whose start marker appears first in `matched` (e.g. pexpect's `after`)."""
    found = _STARTS.search(matched)
    return None if found is None else _pattern(found)


def message_kind(pattern: KernelPattern, message: str) -> str:
    """The kind to report: a trace block is named after what it contains."""
    if pattern.kind != TRACE:
        return pattern.kind
    for marker, kind in (("Oops", "oops"), ("BUG", "bug"), ("WARNING", "warning")):
        if marker in message:
            return kind
    return "unknown"


def _pattern(found: re.Match[str]) -> KernelPattern:
    assert found.lastgroup is not None
    return KERNEL_PATTERNS[int(found.lastgroup[1:])]


def _message(pattern: KernelPattern, text: str, complete: bool) -> KernelMessage:
    text = text.rstrip("\r\n")
    return KernelMessage(message_kind(pattern, text), text, pattern.fatal, complete)


class KernelMonitor:
    """Follow console output and collect the kernel messages in it.

    Only complete lines are examined, so the result does not depend on how the
    output was split into chunks. A fatal message is available from `fatal` as soon
    as its first line is complete, before its end marker arrives. A fatal start
    inside another block ends that block (a panic is never hidden in a trace).
    """

    def __init__(self, max_block: int = MAX_BLOCK) -> None:
        self.messages: list[KernelMessage] = []
        self._max_block = max_block
        self._buffer = ""
        self._pos = 0  # where the next start is searched for
        self._pending: _Pending | None = None
        self._closed = False

    @property
    def pending(self) -> KernelMessage | None:
        """The message whose end marker has not been seen yet (its first line)."""
        if self._pending is None:
            return None
        return _message(self._pending.pattern, self._first_line(self._pending.start), False)

    @property
    def fatal(self) -> KernelMessage | None:
        """The first fatal message (maybe still pending), or None."""
        found = next((m for m in self.messages if m.fatal), None)
        pending = self.pending
        if found is None and pending is not None and pending.fatal:
            return pending
        return found

    def feed(self, text: str) -> list[KernelMessage]:
        """Add console output; return the messages it completed."""
        if self._closed:
            raise ValueError("KernelMonitor.feed() after close()")
        self._buffer += text
        limit = self._buffer.rfind("\n") + 1
        if not limit and len(self._buffer) - self._pos > self._max_block:
            limit = len(self._buffer)  # a "line" this long is read as it is
        return self._process(limit) if limit else []

    def close(self) -> list[KernelMessage]:
        """End of the output: return the messages it completed (a pending one as incomplete)."""
        if self._closed:
            return []
        self._closed = True
        if not self._buffer.endswith("\n"):
            self._buffer += "\n"
        found = self._process(len(self._buffer))
        if self._pending is not None:
            message = _message(self._pending.pattern, self._first_line(self._pending.start), False)
            self._pending = None
            self.messages.append(message)
            found.append(message)
        return found

    # As pexpect's logfile_read.
    def write(self, text: str) -> int:
        self.feed(text)
        return len(text)

    def flush(self) -> None:
        pass

    def _first_line(self, start: int) -> str:
        end = self._buffer.find("\n", start)
        return self._buffer[start : None if end < 0 else end]

    def _process(self, limit: int) -> list[KernelMessage]:
        found: list[KernelMessage] = []
        buffer = self._buffer
        while True:
            if self._pending is None:
                begin = _STARTS.search(buffer, self._pos, limit)
                if begin is None:
                    self._pos = limit
                    break
                line_start = max(self._pos, buffer.rfind("\n", 0, begin.start()) + 1)
                self._pending = _Pending(_pattern(begin), line_start, begin.end(), begin.end())
            pending = self._pending
            pattern, start, after = pending.pattern, pending.start, pending.after
            window = min(limit, start + self._max_block)
            # Text before `resume` was searched already (no match crosses a line end).
            end = _ENDS[pattern.kind].search(buffer, pending.resume, window)
            stop = None if pattern.fatal else _FATAL_STARTS.search(buffer, pending.resume, window)
            if stop is not None and (end is None or stop.start() < end.start()):
                cut = max(after, buffer.rfind("\n", 0, stop.start()) + 1)
                message = _message(pattern, buffer[start:cut], complete=False)
                self._pos = cut
            elif end is not None:
                message = _message(pattern, buffer[start : end.end()], complete=True)
                self._pos = end.end()
            elif window < limit:  # too long: cut at the last line that fits
                cut = max(after, buffer.rfind("\n", start, window) + 1)
                message = _message(pattern, buffer[start:cut], complete=False)
                self._pos = cut
            else:
                pending.resume = max(after, buffer.rfind("\n", 0, window) + 1)
                break  # wait for the end marker
            self._pending = None
            self.messages.append(message)
            found.append(message)
        # Forget what has been read, keeping a pending message's text.
        keep = self._pos if self._pending is None else self._pending.start
        self._buffer = buffer[keep:]
        self._pos -= keep
        if self._pending is not None:
            self._pending.shift(keep)
        return found


@dataclass
class _Pending:
    """A message whose start was seen and whose end marker is awaited."""

    pattern: KernelPattern
    start: int  # beginning of its first line
    after: int  # just after the start marker
    resume: int  # where the search for the end goes on

    def shift(self, offset: int) -> None:
        self.start -= offset
        self.after -= offset
        self.resume -= offset


def scan(text: str) -> list[KernelMessage]:
    """Every kernel message in a finished console capture, in order."""
    monitor = KernelMonitor()
    monitor.feed(text)
    monitor.close()
    return monitor.messages
