"""What every downloader does around the transfer itself.

Checks the image parameters, picks the file name, publishes the path and
image_arg in namespace data, verifies checksums, extracts a tar archive and
reports a `lava` result. Subclasses only say where the bytes come from.
"""

from __future__ import annotations

import re
import shutil
import tarfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lava.common.exceptions import InfrastructureError, JobError
from lava.dispatcher import paths
from lava.dispatcher.actions.deploy.decompress import COMPRESSIONS, DECOMPRESSED, decompressed_name
from lava.dispatcher.actions.deploy.image_writer import CHECKSUMS, Hashes, Progress, write_image
from lava.dispatcher.interfaces import Console
from lava.dispatcher.paths import check_name
from lava.dispatcher.pipeline import Action
from lava.dispatcher.state import DeployedImage

# LAVA keeps the label `ramdisk` compressed whatever `compression` says: the
# kernel unpacks it, and bootloader and overlay steps work on the compressed file.
KEEP_COMPRESSED_LABELS = frozenset({"ramdisk"})
_UNSAFE_CHARACTERS = re.compile(r"[^A-Za-z0-9_.+-]")
MAX_FILE_NAME = 200


def download_dir(work_dir: Path, namespace: str, label: str) -> Path:
    """`<work_dir>/downloads/<namespace>/<label>`, refused if the names lead elsewhere."""
    return paths.inside(work_dir, "downloads", namespace, label, what="image directory")


def file_name(name: str) -> str:
    """The name of a download on the worker: the source's, with every character that could
    end up as a QEMU option separator or a shell word (',', ':', '=', spaces...) made '_',
    and its end only if it is longer than a file system takes (the suffixes matter)."""
    return _UNSAFE_CHARACTERS.sub("_", name)[-MAX_FILE_NAME:]


@dataclass(frozen=True)
class Fetched:
    """The outcome of one transfer: bytes received, their digests, the time it took."""

    size: int
    digests: dict[str, str]
    seconds: float


class DownloadHandler(Action):
    """Fetches one image of a deploy block into `<work_dir>/downloads/<namespace>/<label>/`."""

    timeout_exception = InfrastructureError

    def __init__(self, label: str, image: Mapping[str, Any]) -> None:
        super().__init__()
        self.label = label
        self.image = dict(image)
        self.url = str(image.get("url") or "")
        # Expected size in bytes once validate() has looked at the source; -1 if unknown.
        self.size = -1
        self.cache_state = "none"

    # -- what subclasses provide ------------------------------------------
    def source_name(self) -> str:
        """The file name the source publishes (last path component)."""
        raise NotImplementedError

    def check_source(self) -> None:
        """Cheap existence check at validate time; raise JobError if the source is missing."""

    def fetch(self, dest: Path, max_end_time: float) -> Fetched:
        """Write the image to `dest` (through `self.transfer`)."""
        raise NotImplementedError

    # -- image parameters ---------------------------------------------------
    @property
    def compression(self) -> str | None:
        value = self.image.get("compression")
        return str(value) if value else None

    @property
    def decompress(self) -> bool:
        return self.compression in DECOMPRESSED and self.label not in KEEP_COMPRESSED_LABELS

    def expected_checksums(self) -> dict[str, str]:
        """Algorithm → expected hex digest, from `md5sum`/`sha256sum`/`sha512sum`."""
        return {
            algorithm: str(self.image[key]).strip().lower()
            for key, algorithm in CHECKSUMS.items()
            if self.image.get(key)
        }

    @property
    def directory(self) -> Path:
        return download_dir(self.job.work_dir, self.namespace, self.label)

    @property
    def path(self) -> Path:
        """Where the image lands (decompressed files lose their last suffix)."""
        name = file_name(self.source_name())
        if not name or name in (".", ".."):
            raise JobError(f"Cannot download a directory for '{self.label}': {self.url}")
        return self.directory / decompressed_name(
            name, self.compression if self.decompress else None
        )

    # -- life cycle -------------------------------------------------------
    def validate(self) -> None:
        super().validate()
        check_name(self.namespace, "namespace")
        check_name(self.label, "image label")
        if self.compression and self.compression not in COMPRESSIONS:
            raise JobError(
                f"Unknown 'compression' format '{self.compression}' for '{self.label}' "
                f"(supported: {', '.join(sorted(COMPRESSIONS))})"
            )
        archive = self.image.get("archive")
        if archive and archive != "tar":
            raise JobError(f"Unknown 'archive' format '{archive}' for '{self.label}'")
        headers = self.image.get("headers")
        if headers is not None and not isinstance(headers, Mapping):
            raise JobError(f"'headers' of '{self.label}' must be a mapping of names to values")
        self.publish(self.path)
        self.check_source()

    def publish(self, path: Path, digests: Mapping[str, str] | None = None) -> None:
        """Tell later actions where the image is and how to pass it on."""
        image_arg = self.image.get("image_arg")
        self.state.images[self.label] = DeployedImage(
            label=self.label,
            path=path,
            image_arg=str(image_arg) if image_arg else None,
            compression=self.compression,
            decompressed=self.decompress,
            digests=dict(digests or {}),
        )

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        path = self.path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise InfrastructureError(f"Unable to create {path.parent}: {exc}") from exc
        if path.is_dir():
            raise JobError(f"Download '{path}' is a directory, not a file")
        path.unlink(missing_ok=True)
        self.logger.info(f"downloading {self.url}")
        self.logger.debug(f"saving as {path}")
        if self.decompress:
            self.logger.info(f"decompressing {self.compression} while downloading")
        elif self.compression:
            self.logger.info(f"keeping '{self.label}' compressed ({self.compression})")

        fetched = self.fetch(path, max_end_time)

        self.publish(path, fetched.digests)
        if self.image.get("archive") == "tar":
            self.publish(self.extract(path), fetched.digests)
        self.verify(fetched.digests)
        self.results = {"label": self.label, "size": fetched.size}
        self.results.update({f"{name}sum": value for name, value in fetched.digests.items()})
        self.results["cache"] = self.cache_state
        return connection

    def cleanup(self, connection: Console | None) -> None:
        # Images can be gigabytes: do not leave them behind a persistent work dir.
        try:
            directory = self.directory
        except JobError:  # names that validate refused: nothing was written for them
            directory = None
        if directory is not None and directory.exists():
            self.logger.debug(f"Cleaning up downloaded image: {directory}")
            shutil.rmtree(directory, ignore_errors=True)
        super().cleanup(connection)

    # -- helpers for subclasses --------------------------------------------
    def transfer(
        self,
        chunks: Iterable[bytes],
        dest: Path,
        total: int,
        tee: Callable[[bytes], None] | None = None,
    ) -> Fetched:
        """Hash, count, log, decompress and write `chunks`; check the size at the end."""
        hashes = Hashes(self.expected_checksums())
        progress = Progress(self.logger, total)

        def on_chunk(chunk: bytes) -> None:
            hashes.update(chunk)
            progress.update(len(chunk))
            if tee is not None:
                tee(chunk)

        compression = self.compression if self.decompress else None
        write_image(chunks, dest, compression, on_chunk, f"'{self.label}' ({self.url})")
        seconds = progress.finish()
        if total > 0 and progress.done != total:
            raise InfrastructureError(
                f"Download of '{self.url}' finished with {progress.done} bytes but "
                f"{total} bytes were expected; check the network"
            )
        return Fetched(progress.done, hashes.hexdigests(), seconds)

    def verify(self, digests: Mapping[str, str]) -> None:
        """Compare the digests of the downloaded (still compressed) file with the job's."""
        for algorithm, expected in self.expected_checksums().items():
            actual = digests[algorithm]
            if actual == expected:
                continue
            self.logger.error(f"{algorithm} sum for '{self.url}' does not match")
            self.logger.info(f"actual  : {actual}")
            self.logger.info(f"expected: {expected}")
            raise JobError(
                f"{algorithm} checksum of '{self.label}' ({self.url}) does not match: "
                f"expected {expected}, got {actual}"
            )

    def extract(self, archive: Path) -> Path:
        """Unpack a tar archive next to it; return the directory."""
        target = archive.parent / "extracted"
        self.logger.debug(f"Extracting tar archive {archive} in {target}")
        shutil.rmtree(target, ignore_errors=True)
        try:
            with tarfile.open(archive, "r:*") as tar:
                paths.extract(tar, tar, target)
        except tarfile.TarError as exc:
            raise JobError(f"Unable to extract '{self.label}' as a tar archive: {exc}") from exc
        except OSError as exc:
            raise InfrastructureError(f"Unable to extract {archive} in {target}: {exc}") from exc
        return target
