"""What actions need from a device, as small interfaces.

Actions depend on these, never on a concrete class: QEMU on its stdio and a
board on a serial server both give a `Console`; a PDU command, a power script
or nothing at all give a `Power`; a TFTP directory or the worker's own disk
give a `Transfer`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pexpect

Pattern = str | re.Pattern[str] | type[pexpect.TIMEOUT] | type[pexpect.EOF]


class Listener(Protocol):
    """Anything that wants the console output as it is read (a kernel monitor)."""

    def write(self, text: str) -> Any: ...


@runtime_checkable
class Console(Protocol):
    """A line-oriented console on the device: send, expect, reconnect, close.

    Every byte read is logged as target output; `expect` searches a bounded
    window and returns the index of the pattern that matched (-1 on timeout).
    """

    name: str
    prompts: list[str]
    # Milliseconds between characters sent (a device's `character_delays`).
    character_delay: float

    def send(self, text: str) -> None: ...

    def sendline(self, line: str, delay_ms: float | None = None, secret: bool = False) -> None: ...

    def sendcontrol(self, char: str) -> None: ...

    def expect(
        self, patterns: Sequence[Pattern], timeout: float, deadline: float | None = None
    ) -> int: ...

    @property
    def match(self) -> Any: ...

    @property
    def before(self) -> str: ...

    def wait_for_prompt(self, timeout: float, deadline: float | None = None) -> bool: ...

    def run_command(self, command: str, timeout: float, deadline: float | None = None) -> str: ...

    def discard(self) -> None: ...

    def alive(self) -> bool: ...

    def tail(self, lines: int = 10) -> list[str]: ...

    def add_listener(self, listener: Listener) -> None: ...

    def remove_listener(self, listener: Listener) -> None: ...

    def reconnect(self, deadline: float | None = None) -> None:
        """Open the console again after it dropped (ConnectionClosedError if it cannot)."""
        ...

    def close(self, grace: float = 2.0) -> int | None: ...


class Power(Protocol):
    """Switching the device. Each operation is optional: `can(op)` says which exist.

    Operations are "on", "off" and "hard_reset"; a failure raises
    InfrastructureError (a dead PDU is the lab's problem, not the job's).
    """

    def can(self, operation: str) -> bool: ...

    def on(self, deadline: float | None = None) -> None: ...

    def off(self, deadline: float | None = None) -> None: ...

    def hard_reset(self, deadline: float | None = None) -> None: ...


class Transfer(Protocol):
    """Puts files where the device's bootloader can fetch them."""

    def put(self, source: Path, kind: str) -> str:
        """Place `source` as the job's `kind` file (kernel, ramdisk, dtb...); return the
        name the device asks for (a path relative to the TFTP root, say)."""
        ...

    def remove(self) -> None:
        """Remove everything this job placed."""
        ...
