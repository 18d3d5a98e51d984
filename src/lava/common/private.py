"""Directories and files that only their owner may read: a worker's jobs, their logs, secrets.

A job directory holds the definition (with its secrets), the device's
configuration (with PDU passwords), the job's token and its log; other
local users of a worker must not read them, whatever the umask.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import IO, Any

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create `path` and its missing parents with mode 0700; tighten `path` if it exists."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            directory.mkdir(mode=DIR_MODE)
    os.chmod(path, DIR_MODE)
    return path


def private_open(path: Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """Open `path` to write (`w`, `a`, `wb`, `ab`), created or narrowed to mode 0600.

    `kwargs` go to `open` (`buffering=1` for a log).
    """
    flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
    fd = os.open(path, flags, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        return os.fdopen(fd, mode, encoding=None if "b" in mode else "utf-8", **kwargs)
    except BaseException:
        os.close(fd)
        raise


def write_private(path: Path, text: str) -> None:
    """Replace the content of `path` with `text`, mode 0600."""
    with private_open(path) as out:
        out.write(text)


def write_atomic(path: Path, text: str, *, sync: bool = False) -> Path:
    """Replace `path` with `text` (mode 0600) so a reader, or a crash, sees the old file or
    the new one, never half of it; `sync` waits until the new content is on disk."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            if sync:
                handle.flush()
                os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
