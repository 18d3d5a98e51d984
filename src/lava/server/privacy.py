"""The instance's files that hold secrets are private to the user the server runs as.

The SQLite database (API and worker tokens, password hashes, job definitions
with their secrets), ``secret_key``, the job logs and kept job files, device
dictionaries (PDU passwords) and workers' environments must not be readable
by other local users. New files are made private by the server's umask
(`PRIVATE_UMASK`, set by ``lava-server`` and the WSGI entry point); files and
directories made before, or by hand, are checked at every start: too open
and ours, they are made private (and `FIXED` says so); too open and not
ours, the server refuses to start, saying which path and what to run.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
from pathlib import Path

from .config import ConfigurationError, Settings

PRIVATE_UMASK = 0o077
DIRECTORY = 0o700
FILE = 0o600
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")

LOG = logging.getLogger("lava.server.privacy")
FIXED: list[str] = []  # what this process made private at start, for ``manage check``


def secret_paths(lava: Settings, database: str | None = None) -> list[tuple[Path, int]]:
    """The paths that hold secrets, each with the most open mode it may have.

    ``database`` is the SQLite file (None on PostgreSQL). A private directory
    protects what is inside it, so only directories and a few files are listed:
    the check stays as cheap with a million job logs as with none.
    """
    paths = [(lava.data_dir, DIRECTORY), (lava.data_dir / "secret_key", FILE)]
    if database:
        paths += [(Path(database + suffix), FILE) for suffix in ("", *SQLITE_SIDE_FILES)]
    paths.append((lava.job_output_dir, DIRECTORY))
    devices = lava.devices_dir
    paths.append((devices, DIRECTORY))
    if devices.is_dir():
        paths += [(path, FILE) for path in sorted(devices.glob("*.jinja2"))]
    paths.append((lava.dispatcher_config_dir.parent / "dispatcher.d", DIRECTORY))
    return paths


def too_open(path: Path, most: int) -> int | None:
    """The mode of ``path`` when it grants more than ``most``; None when fine or absent."""
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except OSError:
        return None
    return mode if mode & ~most else None


def secure(lava: Settings, database: str | None = None) -> list[str]:
    """Create the data directory private; make our too-open secret paths private.

    Returns what was changed; raises ConfigurationError for a path that is too
    open and belongs to another user (it cannot be fixed from here).
    """
    with contextlib.suppress(OSError):  # reported by ensure_secret_key and ``manage check``
        lava.data_dir.mkdir(mode=DIRECTORY, parents=True, exist_ok=True)
    changed = []
    for path, most in secret_paths(lava, database):
        mode = too_open(path, most)
        if mode is None:
            continue
        if path.stat().st_uid != os.geteuid():  # root included: not its files to change
            raise ConfigurationError(
                f"{path} has mode {mode:04o} and holds secrets, but belongs to another user: "
                f"run `chmod {most:o} {path}` as its owner, or chown it to the server's user"
            )
        path.chmod(most)
        changed.append(f"{path}: mode {mode:04o} -> {most:04o}")
    for change in changed:
        LOG.warning("made private (it holds secrets): %s", change)
    FIXED.extend(changed)
    return changed


def private_umask() -> None:
    """Files the server process creates from now on are its user's only."""
    os.umask(PRIVATE_UMASK)
