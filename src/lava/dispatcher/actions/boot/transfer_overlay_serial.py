"""Send the overlay to a booted device over its console when no image could carry it.

The tar.gz goes as base64 text into `cat` with the terminal's echo switched
off (so the console carries it once, not twice), a large chunk at a time with
one prompt wait per chunk; the device decodes it with `base64 -d`, the size
and md5 are compared with ours, then `tar` unpacks it.
"""

from __future__ import annotations

import base64
import hashlib
import posixpath
import shlex
from pathlib import Path
from typing import Any

from lava.common.exceptions import InfrastructureError, JobError
from lava.dispatcher.actions.deploy.overlay import overlay_tarball
from lava.dispatcher.interfaces import Console
from lava.dispatcher.pipeline import Action

LINE = 76
# Bytes of base64 text per chunk: big enough for few round trips, small
# enough to report progress and to time out per chunk.
CHUNK = 64 * 1024
READY_RE = r"LAVA_OVERLAY_READY_42"
# Both end at the line's end (\r\r\n through a pty): pexpect matches as soon as the text read so far
# fits, so an open-ended pattern could take "112" out of a "11251" still arriving.
CHECK_RE = r"LAVA_OVERLAY_CHECK[ \t]+(\d+)[ \t]*([0-9a-f]{32})?[^\r\n]*\r*\n"
UNPACK_RE = r"LAVA_OVERLAY_UNPACK_(\d+)\r*\n"


class OverlaySerialTransferAction(Action):
    """Copies the overlay tar.gz through the console and unpacks it under `target_dir`."""

    name = "transfer-overlay-serial"
    description = "transfer and unpack the overlay over the serial console"
    summary = "transfer overlay over the console"
    timeout_exception = InfrastructureError

    def __init__(self, target_dir: str = "/", chunk_size: int = CHUNK) -> None:
        super().__init__()
        self.target_dir = target_dir
        self.chunk_size = max(LINE + 1, chunk_size)

    def validate(self) -> None:
        super().validate()
        transfer = self.parameters.get("transfer_overlay")
        if transfer is not None and (
            not isinstance(transfer, dict) or not transfer.get("unpack_command")
        ):
            self.errors.append("transfer_overlay needs an 'unpack_command'")

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        session: Console | None = connection if connection is not None else self.job.connection
        overlay = self.state.overlay
        method = overlay.delivery
        transfer = self.parameters.get("transfer_overlay")
        if method != "serial" and not transfer:
            self.logger.debug(f"{self.name}: the overlay was applied by '{method}', nothing to do")
            return connection
        if overlay.root is None and overlay.tarball is None:
            raise JobError("No overlay file to transfer: the deploy built no overlay")
        overlay = overlay_tarball(self)
        if session is None:
            raise InfrastructureError("Cannot transfer the overlay: no console to the device")
        if transfer and transfer.get("download_command"):
            self.logger.info(
                "transfer_overlay: download_command is not used, the overlay is sent "
                "over the console; unpack_command is used"
            )
        data = Path(overlay).read_bytes()
        transfer_to = _TransferTo(self, session, max_end_time)
        remote = posixpath.join(self.target_dir, f".lava-overlay-{self.job.job_id}")
        transfer_to.send(data, remote + ".b64")
        transfer_to.check(data, remote + ".b64", remote + ".tar.gz")
        unpack = (
            f"{transfer['unpack_command']} {shlex.quote(remote + '.tar.gz')}"
            if transfer
            else f"tar -C {shlex.quote(self.target_dir)} -xzf {shlex.quote(remote + '.tar.gz')}"
        )
        transfer_to.unpack(unpack, remote + ".tar.gz")
        self.results = {"size": len(data), "chunks": transfer_to.chunks}
        return connection


class _TransferTo:
    """One transfer on one console, every wait bounded by the action's timeouts."""

    def __init__(self, action: OverlaySerialTransferAction, session: Console, deadline: float):
        self.action = action
        self.session = session
        self.deadline = deadline
        self.wait = action.connection_timeout.seconds
        self.logger = action.logger
        self.chunks = 0

    def _expect(self, pattern: str, what: str) -> Any:
        if self.session.expect([pattern], self.wait, self.deadline) < 0:
            raise InfrastructureError(f"Overlay transfer: no '{what}' from the device")
        return self.session.match

    def _prompt(self, after: str) -> None:
        if not self.session.wait_for_prompt(self.wait, self.deadline):
            raise InfrastructureError(
                f"Overlay transfer: the prompt {self.session.prompts} did not come back "
                f"after {after}"
            )

    def _command(self, line: str, after: str) -> None:
        self.session.sendline(line)
        self._prompt(after)

    def send(self, data: bytes, remote: str) -> None:
        text = base64.encodebytes(data).decode("ascii")
        lines_per_chunk = self.action.chunk_size // (LINE + 1)
        lines = text.splitlines(keepends=True)
        chunks = [
            "".join(lines[i : i + lines_per_chunk]) for i in range(0, len(lines), lines_per_chunk)
        ]
        self.logger.info(
            f"Sending the overlay ({len(data)} bytes, {len(text)} base64) to {remote} "
            f"in {len(chunks)} chunk(s)"
        )
        quoted = shlex.quote(remote)
        self._command(f"rm -f {quoted}", "removing an old transfer")
        for number, chunk in enumerate(chunks, 1):
            # `$((6*7))` is only expanded in the output, so the echo of this
            # command line never matches the marker.
            self.session.sendline(
                "stty -echo 2>/dev/null; echo LAVA_OVERLAY_READY_$((6*7)); "
                f"cat >> {quoted}; stty echo 2>/dev/null"
            )
            self._expect(READY_RE, f"ready for chunk {number}")
            _send_chunk(self.session, chunk, f"<overlay chunk {number}/{len(chunks)}> Ctrl-D")
            self._prompt(f"chunk {number} of {len(chunks)}")
            self.chunks = number

    def check(self, data: bytes, encoded: str, remote: str) -> None:
        src, dst = shlex.quote(encoded), shlex.quote(remote)
        self.session.sendline(
            f"base64 -d {src} > {dst}; rm -f {src}; "
            f'echo "LAVA_OVERLAY_CHECK $(wc -c < {dst}) $(md5sum < {dst} 2>/dev/null)"'
        )
        match = self._expect(CHECK_RE, "size and md5sum")
        self._prompt("the check")
        size, md5 = int(match.group(1)), match.group(2)
        expected = hashlib.md5(data, usedforsecurity=False).hexdigest()
        if size != len(data) or (md5 and md5 != expected):
            raise InfrastructureError(
                f"Overlay transfer corrupted: the device has {size} bytes md5 {md5}, "
                f"sent {len(data)} bytes md5 {expected}"
            )
        if not md5:
            self.logger.warning("md5sum is missing on the device: only the size was checked")
        self.logger.info(f"The device received the overlay intact ({size} bytes, md5 {md5})")

    def unpack(self, command: str, remote: str) -> None:
        self.session.sendline(
            f"{command}; echo LAVA_OVERLAY_UNPACK_$?; rm -f {shlex.quote(remote)}"
        )
        match = self._expect(UNPACK_RE, "unpack status")
        self._prompt("unpacking")
        if match.group(1) != "0":
            raise InfrastructureError(
                f"Unable to unpack the overlay on the device: '{command}' "
                f"exited with {match.group(1)}"
            )


def _send_chunk(session: Console, text: str, summary: str) -> None:
    """Send bulk text then Ctrl-D (end of `cat`'s input), logging a summary, not the data.

    One write for both saves a round trip per chunk. Without a raw pexpect
    session, each line is sent (and logged) on its own.
    """
    raw = getattr(session, "raw", None)
    logger = getattr(session, "logger", None)
    if raw is not None and hasattr(raw, "send") and logger is not None:
        logger.input(summary)
        raw.send(text + "\x04")
        return
    for line in text.splitlines():
        session.sendline(line)
    session.sendcontrol("d")
