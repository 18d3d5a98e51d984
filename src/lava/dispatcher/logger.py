"""The job log: one encoded line per record, to stdout and to `output.yaml`."""

from __future__ import annotations

import sys
import traceback
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from lava.common.log import encode
from lava.common.private import private_open


class JobLogger:
    """Writes log records as LAVA log lines and counts them.

    `line_count` is the index the next line will get, which test results quote
    as `starttc`/`endtc`.
    """

    def __init__(
        self,
        stream: IO[str] | None = None,
        path: Path | None = None,
        secrets: Iterable[str] = (),
    ) -> None:
        self._stream = stream
        self._file = private_open(path, "a", buffering=1) if path else None
        self._secrets: list[str] = []
        self.line_count = 0
        for secret in secrets:
            self.add_secret(secret)

    def add_secret(self, secret: str) -> None:
        """Mask this value in every later line."""
        if secret and secret not in self._secrets:
            self._secrets.append(secret)
            # Longest first so that a secret containing another is masked whole
            # (encode replaces them in this order).
            self._secrets.sort(key=len, reverse=True)

    def log(self, lvl: str, msg: str | dict[str, Any], ns: str | None = None) -> None:
        """Write one record."""
        line = encode(lvl, msg, ns=ns, secrets=self._secrets) + "\n"
        self.line_count += 1
        if self._file is not None:
            self._file.write(line)
        if self._stream is not None:
            self._stream.write(line)
            self._stream.flush()

    @staticmethod
    def _format(msg: str, args: tuple[Any, ...]) -> str:
        return msg % args if args else msg

    def info(self, msg: str, *args: Any) -> None:
        self.log("info", self._format(msg, args))

    def debug(self, msg: str, *args: Any) -> None:
        self.log("debug", self._format(msg, args))

    def warning(self, msg: str, *args: Any) -> None:
        self.log("warning", self._format(msg, args))

    def error(self, msg: str, *args: Any) -> None:
        self.log("error", self._format(msg, args))

    def exception(self, msg: str, *args: Any) -> None:
        self.log("exception", self._format(msg, args))

    def traceback(self) -> None:
        """Log the traceback of the exception being handled."""
        self.log("exception", traceback.format_exc())

    def input(self, msg: str) -> None:
        self.log("input", msg)

    def target(self, msg: str) -> None:
        self.log("target", msg)

    def feedback(self, msg: str, ns: str) -> None:
        self.log("feedback", msg, ns=ns)

    def event(self, msg: str) -> None:
        self.log("event", msg)

    def results(self, result: dict[str, Any]) -> None:
        self.log("results", result)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self._stream is not None and self._stream is not sys.stdout:
            self._stream.flush()


class TargetLineSplitter:
    """Turns the console's byte stream into `target` log lines.

    pexpect hands over arbitrary chunks; lines end with `\\r\\r\\n`, `\\r\\n` or
    `\\n` through a pty. A partial line (a prompt) is kept until `flush()`.
    """

    def __init__(self, logger: JobLogger) -> None:
        self._logger = logger
        self._partial = ""

    def write(self, data: bytes | str) -> None:
        text = data.decode("utf-8", errors="replace") if isinstance(data, bytes) else data
        if "\n" not in text:
            self._partial += text
            return
        text = self._partial + text
        *lines, self._partial = text.split("\n")
        for line in lines:
            self._logger.target(line.rstrip("\r"))

    def flush(self) -> None:
        """Log what is left of a line without a newline (a prompt, say)."""
        partial = self._partial.rstrip("\r")
        self._partial = ""
        if partial:
            self._logger.target(partial)
