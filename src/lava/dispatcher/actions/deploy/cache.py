"""The worker's download cache: one entry per URL (and request headers).

Layout, under the job's `cache_dir`::

    downloads/<sha256 of url + headers>/
        data        the file as downloaded (still compressed)
        meta.json   url, size, etag, last_modified, sha256 (+ md5/sha512), stored
        lock        flock()ed while the entry is checked or written
        data.*.tmp  a download in progress (removed if its writer died)

Jobs running at the same time on one worker share it safely: an entry is
checked and written under an exclusive lock, a new file is written to a
temporary name and renamed into place, and a reader keeps its open file even
if the entry is replaced behind it. Request headers are part of the key so
that a file fetched with a token is never served to a job without it; header
values are never written to disk.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, BinaryIO

from lava.common.exceptions import InfrastructureError
from lava.common.private import private_dir
from lava.dispatcher.deadline import remaining

DATA = "data"
META = "meta.json"
LOCK = "lock"
LOCK_POLL = 0.2


class CacheWriter:
    """A new copy of an entry's file, written aside and renamed on commit.

    Write errors (a full cache disk) only disable the cache for this download.
    """

    def __init__(self, entry: CacheEntry) -> None:
        self.entry = entry
        self.error: OSError | None = None
        self._file: IO[bytes] | None = tempfile.NamedTemporaryFile(  # noqa: SIM115
            dir=entry.path, prefix=f"{DATA}.", suffix=".tmp", delete=False
        )

    def write(self, chunk: bytes) -> None:
        if self._file is None or self.error is not None:
            return
        try:
            self._file.write(chunk)
        except OSError as exc:
            self.error = exc

    def commit(self, meta: Mapping[str, Any]) -> None:
        """Make the new file the entry's; raise OSError if that failed."""
        if self._file is None:
            return
        tmp = Path(self._file.name)
        self._file.close()
        self._file = None
        if self.error is not None:
            tmp.unlink(missing_ok=True)
            raise self.error
        # Meta goes first so that a crash between the renames leaves no entry
        # rather than an entry describing the wrong file.
        (self.entry.path / META).unlink(missing_ok=True)
        os.replace(tmp, self.entry.path / DATA)
        self.entry.write_meta({**meta, "stored": datetime.now(UTC).isoformat()})

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
            Path(self._file.name).unlink(missing_ok=True)
            self._file = None


class CacheEntry:
    """The cached copy of one URL."""

    def __init__(self, path: Path, url: str) -> None:
        self.path = path
        self.url = url

    @contextlib.contextmanager
    def locked(self, max_end_time: float | None, on_wait: Callable[[], None]) -> Iterator[None]:
        """Hold the entry's lock; wait for another job until `max_end_time`."""
        fd = os.open(self.path / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            waited = False
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    left = remaining(max_end_time)
                    if left <= 0:
                        raise InfrastructureError(
                            f"Timed out waiting for the download cache lock {self.path / LOCK}: "
                            f"another job is still downloading {self.url}"
                        ) from None
                    if not waited:
                        waited = True
                        on_wait()
                    time.sleep(min(LOCK_POLL, left))
            # Whoever wrote these held the lock and is gone.
            for stale in self.path.glob(f"{DATA}.*.tmp"):
                stale.unlink(missing_ok=True)
            yield
        finally:
            os.close(fd)  # releases the lock

    def meta(self) -> dict[str, Any] | None:
        """The entry's metadata if it has a complete file, else None."""
        try:
            meta = json.loads((self.path / META).read_text(encoding="utf-8"))
            size = (self.path / DATA).stat().st_size
        except (OSError, ValueError):
            return None
        if not isinstance(meta, dict) or meta.get("url") != self.url:
            return None
        if meta.get("size") != size or not isinstance(meta.get("sha256"), str):
            return None
        return meta

    def write_meta(self, meta: Mapping[str, Any]) -> None:
        fd, name = tempfile.mkstemp(dir=self.path, prefix=f"{META}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(dict(meta), out, indent=1, sort_keys=True)
            os.replace(name, self.path / META)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise

    def open_data(self) -> BinaryIO:
        return (self.path / DATA).open("rb")

    def writer(self) -> CacheWriter:
        return CacheWriter(self)

    def evict(self) -> None:
        """Forget the entry (its file did not match its metadata)."""
        (self.path / META).unlink(missing_ok=True)
        (self.path / DATA).unlink(missing_ok=True)


class DownloadCache:
    """Entries under `<root>/downloads/`."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root) / "downloads"

    @staticmethod
    def key(url: str, headers: Mapping[str, str] | None = None) -> str:
        material = json.dumps([url, sorted((headers or {}).items())])
        return hashlib.sha256(material.encode("utf-8")).hexdigest()

    def entry(self, url: str, headers: Mapping[str, str] | None = None) -> CacheEntry:
        """The entry for this request, its directory created; OSError if impossible."""
        # Private: a copy fetched with a job's token is for this worker's jobs only.
        path = private_dir(self.root / self.key(url, headers))
        return CacheEntry(path, url)
