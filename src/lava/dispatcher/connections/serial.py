"""A console session on a device: send lines, expect patterns, log every byte.

The session owns the process that provides the console (QEMU's stdio, a
telnet client, ...) and stops its whole process group when closed, so no
child outlives the job.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from collections.abc import Sequence
from typing import Any

import pexpect

from lava.common.exceptions import ConnectionClosedError, InfrastructureError
from lava.dispatcher.deadline import remaining
from lava.dispatcher.logger import JobLogger, TargetLineSplitter

Pattern = str | re.Pattern[str] | type[pexpect.TIMEOUT] | type[pexpect.EOF]


class ShellSession:
    """A pexpect session on the device's console.

    `prompts` are the shell prompts to wait for; they are matched anywhere in
    the buffer because busybox prints a cursor query right after its prompt.
    """

    def __init__(
        self,
        command: Sequence[str],
        logger: JobLogger,
        name: str = "console",
        env: dict[str, str] | None = None,
        maxread: int = 4096,
    ) -> None:
        self.logger = logger
        self.name = name
        self.prompts: list[str] = []
        self.character_delay = 0.0
        self._splitter = TargetLineSplitter(logger)
        try:
            self.raw = pexpect.spawn(
                command[0],
                list(command[1:]),
                env=env,
                encoding="utf-8",
                codec_errors="replace",
                maxread=maxread,
                searchwindowsize=None,
                echo=False,
                dimensions=(24, 250),
                preexec_fn=os.setsid,
            )
        except (pexpect.ExceptionPexpect, OSError) as exc:
            raise InfrastructureError(f"Unable to start {command[0]}: {exc}") from exc
        self.raw.logfile_read = self._splitter

    @property
    def pid(self) -> int:
        return int(self.raw.pid)

    def alive(self) -> bool:
        return bool(self.raw.isalive())

    # -- sending -----------------------------------------------------------
    def sendline(self, line: str, delay_ms: float = 0.0) -> None:
        """Send a line; logged at `input` level."""
        self.logger.input(line)
        if delay_ms:
            for char in line:
                self.raw.send(char)
                time.sleep(delay_ms / 1000.0)
            self.raw.send("\n")
        else:
            self.raw.sendline(line)

    def sendcontrol(self, char: str) -> None:
        self.logger.input(f"Ctrl-{char.upper()}")
        self.raw.sendcontrol(char)

    # -- expecting ---------------------------------------------------------
    def expect(
        self, patterns: Sequence[Pattern], timeout: float, deadline: float | None = None
    ) -> int:
        """Wait for one of `patterns`; return its index.

        TIMEOUT and EOF are never raised as pexpect exceptions: pass them in
        `patterns` to get their index, otherwise a timeout returns -1 and an
        end of file raises ConnectionClosedError.
        """
        wanted = list(patterns)
        if pexpect.TIMEOUT not in wanted:
            wanted.append(pexpect.TIMEOUT)
        if pexpect.EOF not in wanted:
            wanted.append(pexpect.EOF)
        wait = remaining(deadline, timeout)
        index = self.raw.expect_list(self.raw.compile_pattern_list(wanted), timeout=wait)
        matched = wanted[index]
        if matched is not pexpect.TIMEOUT:
            # Log the matched prompt now rather than when its line ends.
            self._splitter.flush()
        if matched is pexpect.EOF and pexpect.EOF not in patterns:
            raise ConnectionClosedError(f"{self.name}: the connection closed")
        if matched is pexpect.TIMEOUT and pexpect.TIMEOUT not in patterns:
            return -1
        return index

    @property
    def match(self) -> Any:
        return self.raw.match

    @property
    def before(self) -> str:
        return str(self.raw.before or "")

    def wait_for_prompt(self, timeout: float, deadline: float | None = None) -> bool:
        """True once one of the prompts appears, False on timeout."""
        return self.expect(self.prompts, timeout, deadline) >= 0

    # -- ending ------------------------------------------------------------
    def close(self, grace: float = 2.0) -> int | None:
        """Stop the console process group; return its exit status if known."""
        self._splitter.flush()
        raw = self.raw
        if raw.isalive():
            self._signal_group(signal.SIGTERM)
            end = time.monotonic() + grace
            while raw.isalive() and time.monotonic() < end:
                time.sleep(0.02)
            if raw.isalive():
                self._signal_group(signal.SIGKILL)
        with contextlib.suppress(pexpect.ExceptionPexpect):
            raw.close(force=True)
        return raw.exitstatus

    def wait_exit(self, timeout: float) -> int | None:
        """Wait for the console process to exit by itself (after a poweroff)."""
        end = time.monotonic() + timeout
        try:
            self.raw.expect(pexpect.EOF, timeout=timeout)
        except pexpect.TIMEOUT:
            return None
        while self.raw.isalive() and time.monotonic() < end:
            time.sleep(0.01)
        self._splitter.flush()
        if self.raw.isalive():
            return None
        self.raw.close()
        return self.raw.exitstatus

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.raw.pid, signum)
