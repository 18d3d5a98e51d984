"""Job logs as LAVA keeps them: ``output.yaml`` and an ``output.idx`` of line offsets.

Layout: one directory per job, ``<root>/job-<id>/`` (LAVA's legacy layout, which
LAVA itself still reads). LAVA's dated ``YYYY/MM/DD/<id>/`` needs the submit time
to find a job's files; the flat layout is derived from the id alone, so the
worker API can append without a database query.

``output.idx`` holds the byte offset of each line's start as 8-byte native
unsigned integers (``struct "=Q"``); the line count is its size / 8. Data is
written before the index, and every append first repairs a torn tail left by
a crash, so an acknowledged line is never lost nor doubled. Appends to one job
are serialised by ``fcntl.flock`` on its index file (several gunicorn workers
may receive the same retried batch). Readers take no lock: they only trust
lines the index already lists.
"""

from __future__ import annotations

import fcntl
import json
import json.scanner
import os
import shutil
import struct
from itertools import accumulate, repeat
from pathlib import Path
from typing import Any, NamedTuple

from lava.common import log
from lava.common.private import write_atomic

# Logs hold what jobs print, secrets masked or not: readable by the server's user only.
MODE = 0o600
PACK = "=Q"
PACK_SIZE = struct.calcsize(PACK)
DATA = "output.yaml"
INDEX = "output.idx"


class LogGap(ValueError):
    """A batch starts past the end of the stored log: lines in between are missing."""

    def __init__(self, expected: int, got: int) -> None:
        super().__init__(
            f"log batch starts at line {got} but only {expected} lines are stored: "
            f"resend from line {expected}"
        )
        self.expected = expected
        self.got = got


class LogConflict(ValueError):
    """A batch resends a stored line with different content: stored lines never change."""

    def __init__(self, line: int) -> None:
        super().__init__(
            f"log line {line} of the batch differs from the stored line {line}: "
            "lines already stored cannot be replaced"
        )
        self.line = line


class Batch(NamedTuple):
    """A batch of log lines checked once: each line without its newline, and its record."""

    lines: list[bytes]
    records: list[dict[str, Any]]


def parse_batch(data: bytes) -> Batch:
    """Split a batch of log lines (each ending with a newline) and decode them, or raise ValueError.

    The fast path reads each line as ``- `` and one JSON object, in C; LAVA's
    own lines may hold YAML-only forms (``!!float "1.5"``) or trailing blanks,
    which fall back to the codec.
    """
    if not data:
        return Batch([], [])
    if not data.endswith(b"\n"):
        number = data.count(b"\n") + 1
        raise ValueError(f"log line {number} of the batch does not end with a newline")
    lines = data[:-1].split(b"\n")
    records = _json_records(data, len(lines))
    if records is not None:
        return Batch(lines, records)
    records = []
    for number, line in enumerate(lines, 1):
        try:
            if not line.startswith(b"- {"):
                raise ValueError("a log line starts with '- {'")
            records.append(log.decode(line))
        except ValueError as exc:
            msg = f"log line {number} of the batch is not a log line: {exc}"
            raise ValueError(msg) from None
    return Batch(lines, records)


# json.loads' C scanner: (value, end) of the JSON value at an index, StopIteration if none
_scan = json.scanner.make_scanner(json.JSONDecoder())


def _json_records(data: bytes, count: int) -> list[dict[str, Any]] | None:
    """The record of each line when every line is ``- `` and one JSON mapping with lvl and
    msg, nothing after it; else None.

    Each line is parsed on its own: parsing the batch as one JSON array let
    two broken lines read as two mappings (``[{}`` and ``{}]}, {...}``).
    """
    if not data.startswith(b"- {") or data.count(b"\n- {") != count - 1:
        return None
    try:
        texts = data.decode("utf-8")[:-1].split("\n")
        records, ends = zip(*[_scan(text, 2) for text in texts], strict=True)
        if (
            list(ends) == list(map(len, texts))
            and all(map(dict.__contains__, records, repeat("lvl")))
            and all(map(dict.__contains__, records, repeat("msg")))
        ):
            return list(records)
    except (StopIteration, ValueError, TypeError, RecursionError):
        pass  # TypeError: a value that is no mapping; RecursionError: nested past C's depth
    return None


def check_lines(data: bytes) -> list[bytes]:
    """Split a batch of log lines (each ending with a newline) into lines, or raise ValueError."""
    return parse_batch(data).lines


class LogStore:
    """Job logs under one root directory: append, count, read by line numbers.

    Also the files LAVA keeps beside a job's log (``job.yaml``, ``device.yaml``,
    ``metadata/...``): the store is the only code that knows where they live.
    """

    def __init__(self, root: Path | str, *, sync: bool = False) -> None:
        self.root = Path(root)
        # fsync each batch: needed only to survive a host crash (a process crash
        # loses nothing that write() returned for).
        self.sync = sync

    def _job_dir(self, job_id: int) -> Path:
        return self.root / f"job-{int(job_id)}"

    def _path(self, job_id: int) -> Path:
        """The job's ``output.yaml``."""
        return self._job_dir(job_id) / DATA

    def _index_path(self, job_id: int) -> Path:
        return self._job_dir(job_id) / INDEX

    def exists(self, job_id: int) -> bool:
        """Whether anything is stored for the job: a log or a kept file."""
        return self._job_dir(job_id).is_dir()

    def count(self, job_id: int) -> int:
        """Number of lines stored (0 for a job with no log yet)."""
        try:
            return os.stat(self._index_path(job_id)).st_size // PACK_SIZE
        except FileNotFoundError:
            return 0

    def remove(self, job_id: int) -> None:
        """Delete the job's directory: its log, its index and the files kept beside them."""
        shutil.rmtree(self._job_dir(job_id), ignore_errors=True)

    def size(self, job_id: int) -> int:
        """Size of ``output.yaml`` in bytes (0 when absent)."""
        try:
            return os.stat(self._path(job_id)).st_size
        except FileNotFoundError:
            return 0

    def read_from(self, job_id: int, offset: int = 0) -> bytes | None:
        """Raw ``output.yaml`` from byte ``offset`` (clamped to the file); None without a log."""
        try:
            with open(self._path(job_id), "rb") as data:
                size = os.fstat(data.fileno()).st_size
                start = min(max(0, offset), size)
                return os.pread(data.fileno(), size - start, start)
        except FileNotFoundError:
            return None

    def has_file(self, job_id: int, name: str) -> bool:
        """Whether the job has the kept file ``name`` (a relative path such as ``device.yaml``)."""
        return self._file(job_id, name).is_file()

    def read_file(self, job_id: int, name: str) -> str | None:
        """The text of the job's kept file ``name``, or None when it has none."""
        try:
            return self._file(job_id, name).read_text(encoding="utf-8")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None

    def write_file(self, job_id: int, name: str, text: str) -> Path:
        """Keep ``text`` as the job's file ``name``, atomically and private; return where.

        The path is returned for LAVA's results metadata, which names the file it wrote.
        """
        path = self._file(job_id, name)
        directory = self._job_dir(job_id)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        for part in path.relative_to(directory).parent.parts:
            directory = directory / part
            directory.mkdir(mode=0o700, exist_ok=True)
        write_atomic(path, text, sync=self.sync)
        return path

    def files(self, job_id: int) -> list[str]:
        """Names of the job's kept files as ``read_file`` takes them, sorted; not its log."""
        directory = self._job_dir(job_id)
        if not directory.is_dir():
            return []
        names = (
            path.relative_to(directory).as_posix()
            for path in directory.rglob("*")
            if path.is_file() and not path.name.startswith(".")
        )
        return sorted(name for name in names if name not in (DATA, INDEX))

    def _file(self, job_id: int, name: str) -> Path:
        """Where the kept file ``name`` lives; ValueError for a name that could lead elsewhere."""
        if not name or "\0" in name or name.startswith("/"):
            raise ValueError(
                f"job {int(job_id)}: kept file name {name!r} must be a non-empty relative path"
            )
        parts = name.split("/")
        if any(part in ("", ".", "..") for part in parts):
            raise ValueError(
                f"job {int(job_id)}: kept file name {name!r} must be plain names joined by '/', "
                "without '.', '..' or empty parts"
            )
        if name in (DATA, INDEX):
            raise ValueError(
                f"job {int(job_id)}: {name} is the job's log: use append() and read() for it"
            )
        return self._job_dir(job_id).joinpath(*parts)

    def append(self, job_id: int, index: int, text: str | bytes | Batch) -> int:
        """Store the lines of ``text`` that follow line ``index``; return the new line count.

        Lines before the stored count are compared with the stored ones and
        skipped (a retried batch); one that differs raises ``LogConflict``. A
        batch starting past the count raises ``LogGap``; bad lines raise
        ``ValueError``. A ``Batch`` from ``parse_batch`` is not checked again.
        """
        if isinstance(text, Batch):
            lines = text.lines
        else:
            lines = check_lines(text.encode("utf-8") if isinstance(text, str) else text)
        if index < 0:
            raise ValueError(f"log index must be 0 or more, not {index}")
        directory = self._job_dir(job_id)
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        idx_fd = os.open(directory / INDEX, os.O_RDWR | os.O_CREAT, MODE)
        try:
            fcntl.flock(idx_fd, fcntl.LOCK_EX)
            data_fd = os.open(directory / DATA, os.O_RDWR | os.O_CREAT, MODE)
            try:
                count, end = _repair(data_fd, idx_fd)
                if index > count:
                    raise LogGap(count, index)
                if index < count and lines:
                    _compare(data_fd, idx_fd, index, lines[: count - index], end)
                new = lines[count - index :]
                if not new:
                    return count
                blob = b"\n".join(new) + b"\n"
                offsets = list(accumulate((len(line) + 1 for line in new[:-1]), initial=end))
                _write_all(data_fd, blob, end)
                if self.sync:
                    os.fdatasync(data_fd)
                _write_all(idx_fd, struct.pack(f"={len(offsets)}Q", *offsets), count * PACK_SIZE)
                if self.sync:
                    os.fdatasync(idx_fd)
                return count + len(new)
            finally:
                os.close(data_fd)
        finally:
            os.close(idx_fd)  # releases the lock

    def repair(self, job_id: int) -> int:
        """Make data and index agree after a crash; return the line count."""
        directory = self._job_dir(job_id)
        if not directory.is_dir():
            return 0
        idx_fd = os.open(directory / INDEX, os.O_RDWR | os.O_CREAT, MODE)
        try:
            fcntl.flock(idx_fd, fcntl.LOCK_EX)
            data_fd = os.open(directory / DATA, os.O_RDWR | os.O_CREAT, MODE)
            try:
                return _repair(data_fd, idx_fd)[0]
            finally:
                os.close(data_fd)
        finally:
            os.close(idx_fd)

    def read(self, job_id: int, start: int = 0, end: int | None = None) -> bytes:
        """Lines ``start`` to ``end`` (0-based, end exclusive, None: to the last) as bytes."""
        directory = self._job_dir(job_id)
        try:
            idx_fd = os.open(directory / INDEX, os.O_RDONLY)
        except FileNotFoundError:
            return b""
        try:
            count = os.fstat(idx_fd).st_size // PACK_SIZE
            start = max(start, 0)
            stop = count if end is None else min(end, count)
            if start >= stop:
                return b""
            want = stop - start + (1 if stop < count else 0)
            raw = os.pread(idx_fd, want * PACK_SIZE, start * PACK_SIZE)
        finally:
            os.close(idx_fd)
        first = struct.unpack_from(PACK, raw, 0)[0]
        with open(directory / DATA, "rb") as data:
            if stop < count:
                last = struct.unpack_from(PACK, raw, (want - 1) * PACK_SIZE)[0]
                return os.pread(data.fileno(), last - first, first)
            # The last indexed line ends at its newline; bytes after it may be an
            # append in flight whose index is not written yet.
            last_start = struct.unpack_from(PACK, raw, (want - 1) * PACK_SIZE)[0]
            blob = os.pread(data.fileno(), os.fstat(data.fileno()).st_size - first, first)
            cut = blob.find(b"\n", last_start - first)
            return blob if cut < 0 else blob[: cut + 1]

    def read_lines(self, job_id: int, start: int = 0, end: int | None = None) -> list[str]:
        """Like ``read``, as a list of text lines without their newlines."""
        blob = self.read(job_id, start, end)
        return blob.decode("utf-8").split("\n")[:-1] if blob else []


def _compare(data_fd: int, idx_fd: int, index: int, resent: list[bytes], end: int) -> None:
    """Raise LogConflict unless ``resent`` equals the stored lines from ``index`` on.

    Only a retried batch overlaps the stored lines, so a normal append reads nothing.
    """
    start = struct.unpack(PACK, os.pread(idx_fd, PACK_SIZE, index * PACK_SIZE))[0]
    sent = b"\n".join(resent) + b"\n"
    stored = os.pread(data_fd, min(len(sent), end - start), start)
    if stored == sent:
        return
    for number, line in enumerate(stored.split(b"\n")):
        if number >= len(resent) or line != resent[number]:
            raise LogConflict(index + number)
    raise LogConflict(index + len(resent) - 1)  # pragma: no cover - stored ends early


def _write_all(fd: int, blob: bytes, offset: int) -> None:
    view = memoryview(blob)
    while view:
        written = os.pwrite(fd, view, offset)
        view = view[written:]
        offset += written


def _repair(data_fd: int, idx_fd: int) -> tuple[int, int]:
    """Fix a torn tail under the lock; return (line count, end of the last line)."""
    data_size = os.fstat(data_fd).st_size
    idx_size = os.fstat(idx_fd).st_size
    count = idx_size // PACK_SIZE
    if idx_size % PACK_SIZE:
        os.ftruncate(idx_fd, count * PACK_SIZE)
    if count:
        # Entries pointing at or past the end of the data were written without their line.
        last = struct.unpack(PACK, os.pread(idx_fd, PACK_SIZE, (count - 1) * PACK_SIZE))[0]
        if last >= data_size:
            offsets = struct.unpack(f"={count}Q", os.pread(idx_fd, count * PACK_SIZE, 0))
            while count and offsets[count - 1] >= data_size:
                count -= 1
            os.ftruncate(idx_fd, count * PACK_SIZE)
    start = (
        struct.unpack(PACK, os.pread(idx_fd, PACK_SIZE, (count - 1) * PACK_SIZE))[0] if count else 0
    )
    tail = os.pread(data_fd, data_size - start, start) if data_size > start else b""
    if count:
        cut = tail.find(b"\n")
        if cut < 0:  # the last indexed line itself is torn: drop it
            count -= 1
            os.ftruncate(idx_fd, count * PACK_SIZE)
            os.ftruncate(data_fd, start)
            return count, start
        end = start + cut + 1
        tail = tail[cut + 1 :]
    else:
        end = 0
    if tail:
        # Lines written before a crash hit the index: index whole lines, drop a partial one.
        complete = tail.rfind(b"\n") + 1
        if complete < len(tail):
            os.ftruncate(data_fd, end + complete)
        if complete:
            lines = tail[: complete - 1].split(b"\n")
            offsets = list(accumulate((len(line) + 1 for line in lines[:-1]), initial=end))
            _write_all(idx_fd, struct.pack(f"={len(offsets)}Q", *offsets), count * PACK_SIZE)
            count += len(offsets)
            end += complete
    return count, end


def log_store() -> LogStore:
    """The instance's store, under ``settings.LAVA.job_output_dir``."""
    from django.conf import settings

    return LogStore(settings.LAVA.job_output_dir)
