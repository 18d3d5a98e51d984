"""Where a job may write on the worker: inside its own directory, under names that stay names.

Every action that writes, extracts or removes files builds the path with
`inside`, which resolves it (symbolic links included) and refuses one that
leads out of the job's directory. Job values that become one path component
(namespaces, image labels, definition names) pass `check_name` at validate.
Files are created with `write_file`, which never follows a link already
there (a cloned repository may hold one named `run.sh`), and archives are
unpacked with `extract`, which refuses members and links that leave the
target.
"""

from __future__ import annotations

import os
import posixpath
import tarfile
from collections.abc import Iterable
from pathlib import Path

from lava.common.exceptions import JobError
from lava.common.limits import safe_name_problem

PRIVATE_FILE = 0o600


def check_name(value: object, what: str) -> str:
    """`value` if it is a safe single path component, else JobError naming `what`."""
    problem = safe_name_problem(value, what)
    if problem:
        raise JobError(problem)
    return str(value)


def inside(base: Path, *parts: str, what: str) -> Path:
    """`base / parts`, resolved; JobError naming `what` if it leads out of `base`."""
    root = Path(base).resolve()
    path = root.joinpath(*parts).resolve()
    if not path.is_relative_to(root):
        shown = "/".join(str(part) for part in parts)
        raise JobError(f"{what} '{shown}' leads out of {root}")
    return path


def write_file(path: Path, data: str | bytes, mode: int = PRIVATE_FILE) -> None:
    """Create `path` afresh with `data`: a file or link already there is replaced, not followed."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    try:
        fd = os.open(path, flags, mode)
    except FileExistsError as exc:  # a directory of that name (a test repository's)
        raise JobError(f"Cannot write {path}: a directory has that name") from exc
    with os.fdopen(fd, "wb") as out:
        out.write(data.encode("utf-8") if isinstance(data, str) else data)
    os.chmod(path, mode)  # whatever the umask took away


def member_problem(member: tarfile.TarInfo) -> str | None:
    """Why an archive member may not be unpacked (None when it may).

    Links may point neither to an absolute path nor up (`..`): then no chain
    of links can lead out of the target, whatever Python's own filter misses.
    """
    name = member.name
    if posixpath.isabs(name) or ".." in name.split("/"):
        return f"'{name[:200]}' is not a path inside the archive"
    if member.issym() or member.islnk():
        link = member.linkname
        if posixpath.isabs(link) or ".." in link.split("/"):
            return f"the link '{name[:200]}' points to '{link[:200]}', outside the archive"
    elif not (member.isfile() or member.isdir()):
        return f"'{name[:200]}' is a device, a FIFO or another special file"
    return None


def extract(members: Iterable[tarfile.TarInfo], tar: tarfile.TarFile, target: Path) -> int:
    """Unpack `members` of `tar` into `target`; JobError for a member that would leave it."""
    count = 0
    for member in members:
        problem = member_problem(member)
        if problem:
            raise JobError(f"Refusing to unpack the archive: {problem}")
        try:
            tar.extract(member, target, filter="data")
        except tarfile.FilterError as exc:
            raise JobError(f"Refusing to unpack the archive: {exc}") from exc
        count += 1
    return count
