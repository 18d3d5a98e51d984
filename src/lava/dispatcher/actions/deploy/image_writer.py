"""Moving downloaded bytes to disk: hashing, progress lines, optional decompression.

The bytes arrive as an iterator of chunks (from a socket, a local file or the
download cache); every chunk is hashed and counted before it is decompressed,
so checksums and sizes are those of the file as published, as in LAVA.
"""

from __future__ import annotations

import hashlib
import io
import math
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO

from lava.common.exceptions import InfrastructureError, JobError
from lava.dispatcher.actions.deploy.decompress import (
    DECOMPRESSED,
    DECOMPRESSION_ERRORS,
    open_decompressed,
)
from lava.dispatcher.logger import JobLogger

CHUNK_SIZE = 1024 * 1024
MB = 1024 * 1024
CHECKSUMS = {"md5sum": "md5", "sha256sum": "sha256", "sha512sum": "sha512"}
"""Job keys of expected checksums and the hashlib algorithm each names."""


class Hashes:
    """sha256 of every download (for results and the cache), plus any asked for."""

    def __init__(self, algorithms: Iterable[str] = ()) -> None:
        self._hashes = {"sha256": hashlib.sha256()}
        for algorithm in algorithms:
            if algorithm not in self._hashes:
                self._hashes[algorithm] = hashlib.new(algorithm)

    def update(self, chunk: bytes) -> None:
        for digest in self._hashes.values():
            digest.update(chunk)

    def hexdigests(self) -> dict[str, str]:
        return {name: digest.hexdigest() for name, digest in self._hashes.items()}


class Progress:
    """Logs how far a download got: every 5 % when the size is known, else every second."""

    STEP_PERCENT = 5
    MIN_INTERVAL = 0.1
    UNKNOWN_INTERVAL = 1.0

    def __init__(self, logger: JobLogger, total: int | None) -> None:
        self.logger = logger
        self.total = total if total and total > 0 else None
        self.done = 0
        self.start = time.monotonic()
        self._last_time = self.start
        self._last_percent = 0
        if self.total is None:
            logger.debug("total size: unknown")
        else:
            logger.debug(f"total size: {self.total} ({self.total // MB} MB)")

    def update(self, size: int) -> None:
        self.done += size
        now = time.monotonic()
        if self.total is None:
            if now - self._last_time >= self.UNKNOWN_INTERVAL:
                self._last_time = now
                self.logger.debug(f"progress {self.done // MB} MB")
            return
        percent = math.floor(self.done * 100 / self.total)
        if (
            percent >= self._last_percent + self.STEP_PERCENT
            and now - self._last_time >= self.MIN_INTERVAL
        ):
            self._last_time = now
            self._last_percent = percent
            self.logger.debug(f"progress {percent:3d} % ({self.done // MB} MB)")

    def finish(self) -> float:
        """Log the size, time and rate; return the duration in seconds."""
        elapsed = time.monotonic() - self.start
        megabytes = self.done / MB
        rate = megabytes / elapsed if elapsed > 0 else 0.0
        self.logger.info(
            f"{megabytes:.2f} MB ({self.done} bytes) downloaded in {elapsed:.2f} s "
            f"({rate:.2f} MB/s)"
        )
        return elapsed


class ChunkReader(io.RawIOBase):
    """A readable file over an iterator of chunks, calling `on_chunk` for each one."""

    def __init__(self, chunks: Iterable[bytes], on_chunk: Callable[[bytes], None]) -> None:
        super().__init__()
        self._chunks: Iterator[bytes] = iter(chunks)
        self._on_chunk = on_chunk
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._on_chunk(chunk)
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def drain(self) -> None:
        """Pass on what the reader did not need (bytes after the last stream)."""
        for chunk in self._chunks:
            self._on_chunk(chunk)


def _write(out: BinaryIO, data: bytes, dest: Path) -> None:
    try:
        out.write(data)
    except OSError as exc:
        raise InfrastructureError(f"Unable to write {dest}: {exc}") from exc


def write_image(
    chunks: Iterable[bytes],
    dest: Path,
    compression: str | None,
    on_chunk: Callable[[bytes], None],
    what: str,
) -> None:
    """Write `chunks` to `dest`, decompressing when `compression` is one we decode.

    A stream that is not in the announced format is the job's error; a file we
    cannot write is the worker's.
    """
    try:
        out = dest.open("wb")
    except OSError as exc:
        raise InfrastructureError(f"Unable to create {dest}: {exc}") from exc
    with out:
        if compression not in DECOMPRESSED:
            for chunk in chunks:
                on_chunk(chunk)
                _write(out, chunk, dest)
            return
        reader = ChunkReader(chunks, on_chunk)
        decoder = open_decompressed(reader, str(compression))
        while True:
            try:
                block = decoder.read(CHUNK_SIZE)
            except DECOMPRESSION_ERRORS as exc:
                raise JobError(
                    f"Unable to decompress {what} as '{compression}': {exc}. "
                    "Make sure 'compression' matches the format of the file."
                ) from exc
            if not block:
                break
            _write(out, block, dest)
        reader.drain()
