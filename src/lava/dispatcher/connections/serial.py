"""A console session on a device: send lines, expect patterns, log every byte.

The session owns the process that provides the console (QEMU's stdio, a
telnet client, ...). pexpect starts it in a new session, so it leads its own
process group, which close() stops as a whole: no child outlives the job.
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
from lava.common.log import MASK
from lava.dispatcher.deadline import remaining
from lava.dispatcher.interfaces import Listener, Pattern
from lava.dispatcher.logger import JobLogger, TargetLineSplitter

# Through a pty, a guest's "\r\n" arrives as "\r\r\n".
NEWLINES = re.compile(r"\r*\n")
# Output kept for error messages (a console that dies says why in its last lines).
TAIL_CHARS = 4096


def session_members(sid: int) -> list[int]:
    """Processes of session `sid` (our console process leads its own session)."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", encoding="ascii", errors="replace") as f:
                stat = f.read()
        except OSError:
            continue
        # pid (comm) state ppid pgrp session ...; comm may hold spaces and parens.
        fields = stat.rpartition(")")[2].split()
        if len(fields) > 3 and fields[3] == str(sid) and fields[0] != "Z":
            members.append(int(entry.name))
    return members


class _Reader:
    """pexpect's logfile_read: feeds the target log, listeners and the last output."""

    def __init__(self, splitter: TargetLineSplitter) -> None:
        self.splitter = splitter
        self.listeners: list[Listener] = []
        self.tail = ""

    def write(self, data: str) -> None:
        self.splitter.write(data)
        for listener in self.listeners:
            listener.write(data)
        self.tail = (self.tail + data)[-TAIL_CHARS:]

    def flush(self) -> None:
        """pexpect flushes its logfile after each read; lines are logged when complete."""


class ShellSession:
    """A pexpect session on the device's console (implements `interfaces.Console`).

    `prompts` are the shell prompts to wait for; they are matched anywhere in
    the buffer because busybox prints a cursor query right after its prompt.
    Patterns are searched in the last `searchwindowsize` characters only, so a
    long boot log costs linear, not quadratic, time.
    """

    def __init__(
        self,
        command: Sequence[str],
        logger: JobLogger,
        name: str = "console",
        env: dict[str, str] | None = None,
        maxread: int = 4096,
        searchwindowsize: int | None = None,
        reconnectable: bool = False,
    ) -> None:
        self.logger = logger
        self.name = name
        self.prompts: list[str] = []
        # Milliseconds between characters sent (a device's `character_delays`).
        self.character_delay = 0.0
        # A serial-server client can be started again; QEMU on stdio cannot (it is the board).
        self.reconnectable = reconnectable
        self.reconnections = 0
        self._command = list(command)
        self._spawn_options = {
            "env": env,
            "maxread": maxread,
            # Must hold a whole read (maxread) plus the longest match.
            "searchwindowsize": searchwindowsize or 4 * maxread,
        }
        self._splitter = TargetLineSplitter(logger)
        self._reader = _Reader(self._splitter)
        self.raw = self._spawn()

    def _spawn(self) -> pexpect.spawn:
        command = self._command
        try:
            raw = pexpect.spawn(
                command[0],
                list(command[1:]),
                encoding="utf-8",
                codec_errors="replace",
                echo=False,
                dimensions=(24, 250),
                **self._spawn_options,
            )
        except (pexpect.ExceptionPexpect, OSError) as exc:
            raise InfrastructureError(f"Unable to start {command[0]}: {exc}") from exc
        # pexpect sleeps 50 ms before each send by default: pure overhead here.
        raw.delaybeforesend = None
        raw.logfile_read = self._reader
        return raw

    def reconnect(self, deadline: float | None = None) -> None:
        """Start the connection command again (the serial server dropped us).

        Output already read stays logged; prompts and listeners carry over. A console
        that is the board itself (QEMU's stdio) cannot: ConnectionClosedError.
        """
        self.logger.warning("Dead connection, reconnecting")
        self.restart()

    def restart(self, grace: float = 0.5) -> None:
        """Run the connection command again in this session (no warning: see reconnect)."""
        if not self.reconnectable:
            raise ConnectionClosedError(self.closed_message())
        self.close(grace=grace)
        self.reconnections += 1
        self.raw = self._spawn()

    @property
    def pid(self) -> int:
        return int(self.raw.pid)

    def alive(self) -> bool:
        return bool(self.raw.isalive())

    def add_listener(self, listener: Listener) -> None:
        """Also give `listener` the output read from now on (after what is buffered)."""
        buffered = str(self.raw.buffer or "")
        if buffered:
            listener.write(buffered)
        self._reader.listeners.append(listener)

    def remove_listener(self, listener: Listener) -> None:
        with contextlib.suppress(ValueError):
            self._reader.listeners.remove(listener)

    def tail(self, lines: int = 10) -> list[str]:
        """The last `lines` lines the console printed (for error messages)."""
        text = NEWLINES.sub("\n", self._reader.tail).replace("\r", "")
        return [line for line in text.split("\n") if line.strip()][-lines:]

    # -- sending -----------------------------------------------------------
    def sendline(self, line: str, delay_ms: float | None = None, secret: bool = False) -> None:
        """Send a line; logged at `input` level (as [MASKED] if `secret`).

        `delay_ms` between characters defaults to the session's `character_delay`.
        """
        self.logger.input(MASK if secret else line)
        delay = self.character_delay if delay_ms is None else delay_ms
        if delay:
            for char in line:
                self.raw.send(char)
                time.sleep(delay / 1000.0)
            self.raw.send("\n")
        else:
            self.raw.sendline(line)

    def send(self, text: str) -> None:
        """Send `text` as is (no newline), logged at `input` level."""
        self.logger.input(text)
        self.raw.send(text)

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
        end of file raises ConnectionClosedError with the last output lines.
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
            raise ConnectionClosedError(self.closed_message())
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

    def run_command(self, command: str, timeout: float, deadline: float | None = None) -> str:
        """Send a command, wait for the prompt; return its output (echo removed).

        Raises InfrastructureError naming the command and the prompts when the
        prompt does not come back in time.
        """
        if not self.prompts:
            raise InfrastructureError(f"{self.name}: no prompt to wait for after '{command}'")
        self.discard()
        self.sendline(command)
        start = time.monotonic()
        if not self.wait_for_prompt(timeout, deadline):
            raise InfrastructureError(
                f"{self.name}: the prompt {self.prompts} did not come back after "
                f"'{command}' within {time.monotonic() - start:.0f} s"
            )
        text = NEWLINES.sub("\n", self.before)
        # Drop everything up to the end of the command's echo.
        echo = text.rfind(command) if command else -1
        if echo >= 0:
            newline = text.find("\n", echo + len(command))
            text = "" if newline < 0 else text[newline + 1 :]
        return text.rstrip("\n")

    def discard(self) -> None:
        """Forget output read but not matched yet (it is logged already), so that a
        stale prompt cannot end the next wait."""
        anything = [re.compile(r"[\s\S]+"), pexpect.TIMEOUT, pexpect.EOF]
        while self.raw.expect_list(anything, timeout=0) == 0:
            pass

    # -- ending ------------------------------------------------------------
    def closed_message(self) -> str:
        """Why the console went away: exit status and last output lines."""
        status = self.exit_status()
        what = f"exited with status {status}" if status is not None else "closed"
        tail = self.tail(5)
        last = (": " + " | ".join(tail)) if tail else " (no output)"
        return f"{self.name}: the connection {what}{last}"

    def exit_status(self) -> int | None:
        """The console process's exit status (or -signal) once it has ended."""
        raw = self.raw
        if raw.isalive():
            return None
        if raw.exitstatus is not None:
            return int(raw.exitstatus)
        return -int(raw.signalstatus) if raw.signalstatus is not None else None

    def close(self, grace: float = 2.0) -> int | None:
        """Stop the console process and everything it started; return its exit status.

        SIGTERM first (QEMU exits cleanly on it), SIGKILL after `grace` seconds;
        then whatever is left in its session (a job-control shell puts background
        jobs in process groups of their own).
        """
        self._splitter.flush()
        raw = self.raw
        if raw.isalive():
            self._signal_group(signal.SIGTERM)
            end = time.monotonic() + grace
            while raw.isalive() and time.monotonic() < end:
                time.sleep(0.01)
            if raw.isalive():
                self._signal_group(signal.SIGKILL)
        self._close_pty()
        for pid in session_members(raw.pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
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
        self._close_pty()
        return self.raw.exitstatus

    def _close_pty(self) -> None:
        raw = self.raw
        if not raw.isalive():
            # ptyprocess sleeps 100 ms after closing "for the process status": it is known.
            raw.ptyproc.delayafterclose = 0
        with contextlib.suppress(pexpect.ExceptionPexpect, OSError):
            raw.close(force=True)

    def _signal_group(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.raw.pid, signum)
