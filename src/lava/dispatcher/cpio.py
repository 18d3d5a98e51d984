"""Write newc ("070701") cpio archives, the format of a Linux initramfs, in pure Python.

Every entry is owned by root (uid/gid 0), so device nodes such as /dev/console can
be packed without root on the build machine. Archives may be gzip-compressed and
appended to an existing initrd: the kernel unpacks concatenated archives in order,
later entries over earlier ones, as long as each archive starts on a 4-byte boundary.
"""

from __future__ import annotations

import gzip
import os
import stat
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import BinaryIO

MAGIC = b"070701"
TRAILER = "TRAILER!!!"
ALIGN = 4


def _padding(length: int) -> bytes:
    return b"\0" * (-length % ALIGN)


def _entry_name(path: str) -> str:
    """Archive names are relative ("dev/console"); "." stands for the root itself."""
    parts = [p for p in PurePosixPath("/", path).parts[1:] if p not in ("", ".")]
    if ".." in parts:
        raise ValueError(f"cpio entry {path!r}: '..' is not allowed in archive paths")
    return "/".join(parts) or "."


class CpioWriter:
    """Write a newc cpio archive to a binary file object or a path, optionally gzip-compressed.

    Use as a context manager (or call `close()`), which writes the TRAILER!!! entry.
    Parent directories missing from the archive are added (mode 0755) before an entry.
    """

    def __init__(
        self,
        target: BinaryIO | str | os.PathLike[str],
        *,
        compress: bool = False,
        mtime: int = 0,
    ) -> None:
        if isinstance(target, str | os.PathLike):
            self._raw: BinaryIO = open(target, "wb")  # noqa: SIM115 - closed in close()
            self._owns_raw = True
        else:
            self._raw = target
            self._owns_raw = False
        self._counter = _Counter(self._raw)
        self._gzip: gzip.GzipFile | None = None
        if compress:
            # mtime=0 and no file name in the header: the same input gives the same bytes.
            self._gzip = gzip.GzipFile(filename="", fileobj=self._counter, mode="wb", mtime=0)
        self._out: gzip.GzipFile | _Counter = self._counter if self._gzip is None else self._gzip
        self._mtime = mtime
        self._next_ino = 1
        self._dirs: set[str] = {"."}
        self._closed = False

    def __enter__(self) -> CpioWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Entries

    def add_dir(self, path: str, mode: int = 0o755) -> None:
        """Add a directory (once; a second add of the same path is ignored)."""
        name = _entry_name(path)
        if name in self._dirs:
            return
        self._parents(name)
        self._entry(name, stat.S_IFDIR | (mode & 0o7777), nlink=2)
        self._dirs.add(name)

    def add_file(self, path: str, data: bytes, mode: int = 0o644) -> None:
        """Add a regular file with the given content."""
        name = self._new_name(path)
        self._entry(name, stat.S_IFREG | (mode & 0o7777), data=bytes(data))

    def add_symlink(self, path: str, target: str) -> None:
        """Add a symbolic link to `target` (stored as given, relative or absolute)."""
        name = self._new_name(path)
        self._entry(name, stat.S_IFLNK | 0o777, data=os.fsencode(target))

    def add_char_device(self, path: str, major: int, minor: int, mode: int = 0o600) -> None:
        """Add a character device node, e.g. ("dev/console", 5, 1)."""
        name = self._new_name(path)
        self._entry(name, stat.S_IFCHR | (mode & 0o7777), rdev=(major, minor))

    def add_tree(self, src_dir: Path, prefix: str = "") -> None:
        """Add `src_dir`'s content under `prefix`, recursively, in sorted order.

        Directories, regular files (with their permission bits, so executables stay
        executable) and symbolic links are packed; other file types are refused.
        """
        src_dir = Path(src_dir)
        if not src_dir.is_dir():
            raise NotADirectoryError(f"cpio add_tree: {src_dir} is not a directory")
        base = _entry_name(prefix or ".")
        if base != ".":
            self.add_dir(base)
        self._add_children(src_dir, PurePosixPath(base))

    def _add_children(self, directory: Path, name: PurePosixPath) -> None:
        # Depth first in name order, like `find | sort`: the archive is reproducible.
        for source in sorted(directory.iterdir()):
            entry = str(name / source.name)
            info = source.lstat()
            if stat.S_ISLNK(info.st_mode):
                self.add_symlink(entry, os.readlink(source))
            elif stat.S_ISDIR(info.st_mode):
                self.add_dir(entry, stat.S_IMODE(info.st_mode))
                self._add_children(source, PurePosixPath(entry))
            elif stat.S_ISREG(info.st_mode):
                self.add_file(entry, source.read_bytes(), stat.S_IMODE(info.st_mode))
            else:
                raise ValueError(f"cpio add_tree: {source} is not a file, directory or link")

    def close(self) -> None:
        """Write the trailer, pad to 4 bytes and finish the gzip member (if any)."""
        if self._closed:
            return
        try:
            self._entry(TRAILER, 0, nlink=1, ino=0)
            self._closed = True
            if self._gzip is not None:
                self._gzip.close()
                # The kernel skips zero bytes between archives; keeping the compressed
                # member 4-byte aligned lets a plain `cat` append another archive.
                self._counter.write(_padding(self._counter.count))
            self._raw.flush()
        finally:
            self._closed = True
            if self._owns_raw:
                self._raw.close()

    # Internals

    def _new_name(self, path: str) -> str:
        name = _entry_name(path)
        if name == ".":
            raise ValueError(f"cpio entry {path!r}: a file needs a name")
        self._parents(name)
        return name

    def _parents(self, name: str) -> None:
        parent = str(PurePosixPath(name).parent)
        if parent not in self._dirs:
            self.add_dir(parent)

    def _entry(
        self,
        name: str,
        mode: int,
        *,
        data: bytes = b"",
        nlink: int = 1,
        rdev: tuple[int, int] = (0, 0),
        ino: int | None = None,
    ) -> None:
        if self._closed:
            raise ValueError(f"cpio entry {name!r}: the archive is already closed")
        encoded = os.fsencode(name) + b"\0"
        if ino is None:
            ino, self._next_ino = self._next_ino, self._next_ino + 1
        fields = (
            ino,
            mode,
            0,  # uid
            0,  # gid
            nlink,
            self._mtime if name != TRAILER else 0,
            len(data),
            0,  # devmajor
            0,  # devminor
            rdev[0],
            rdev[1],
            len(encoded),
            0,  # check (only used by the "070702" crc format)
        )
        header = MAGIC + b"".join(b"%08X" % field for field in fields)
        block = header + encoded
        block += _padding(len(block))
        block += data + _padding(len(data))
        self._out.write(block)


class _Counter:
    """Count the bytes written through to a binary stream (which may not be seekable)."""

    def __init__(self, raw: BinaryIO) -> None:
        self.raw = raw
        self.count = 0

    def write(self, data: bytes) -> int:
        self.raw.write(data)
        self.count += len(data)
        return len(data)

    def flush(self) -> None:
        self.raw.flush()


def append_cpio(base: Path, overlay_bytes: bytes) -> None:
    """Append an archive (compressed or not) to the initrd `base`, 4-byte aligned.

    The kernel unpacks both, the overlay's files over the base's.
    """
    with open(base, "r+b") as initrd:
        size = initrd.seek(0, os.SEEK_END)
        initrd.write(_padding(size))
        initrd.write(overlay_bytes)
