"""Directories and files that only their owner may read: a worker's jobs, their logs, secrets.

A job directory holds the definition (with its secrets), the device's
configuration (with PDU passwords), the job's token and its log; other
local users of a worker must not read them, whatever the umask.
"""

from __future__ import annotations

import contextlib
import os
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
