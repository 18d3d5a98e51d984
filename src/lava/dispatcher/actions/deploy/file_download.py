"""`file-download`: copy an image from a path on the worker (`file://` or a plain path)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from lava.common.exceptions import InfrastructureError, JobError
from lava.dispatcher import sources
from lava.dispatcher.actions.deploy.handler import DownloadHandler, Fetched
from lava.dispatcher.actions.deploy.image_writer import CHUNK_SIZE


def read_chunks(source: BinaryIO, path: Path) -> Iterator[bytes]:
    """The contents of an open file, chunk by chunk; a read error is the worker's."""
    while True:
        try:
            chunk = source.read(CHUNK_SIZE)
        except OSError as exc:
            raise InfrastructureError(f"Unable to read from {path}: {exc}") from exc
        if not chunk:
            return
        yield chunk


class FileDownloadAction(DownloadHandler):
    """Copies a local file, decompressing it if asked.

    The image is always copied, never linked: QEMU writes to its disk images
    and later actions may modify them, which must not reach the original.
    Nothing is cached, the file is already on the worker.
    """

    name = "file-download"
    description = "copy a local file"
    summary = "local file copy"

    @property
    def source(self) -> Path:
        """The local file, if the worker lets the job name it (JobError otherwise)."""
        what = f"'url' of image '{self.label}'"
        found = sources.check(self.url, what, sources.HTTP_SCHEMES, self.job.local_dirs)
        assert found.path is not None, "only local URLs reach file-download"
        return found.path

    def source_name(self) -> str:
        return self.source.name

    def check_source(self) -> None:
        self.logger.debug(f"Validating that {self.url} exists")
        path = self.source
        if not path.is_file() or not os.access(path, os.R_OK):
            raise JobError(f"Image file '{path}' does not exist or is not readable")
        self.size = path.stat().st_size

    def fetch(self, dest: Path, max_end_time: float) -> Fetched:
        path = self.source
        try:
            source = path.open("rb")
            size = os.fstat(source.fileno()).st_size
        except OSError as exc:
            # As in LAVA: validate() found the file, so losing it now is the worker's fault.
            raise InfrastructureError(f"Unable to read {path}: {exc}") from exc
        with source:
            return self.transfer(read_chunks(source, path), dest, size)
