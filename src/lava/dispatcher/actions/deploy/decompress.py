"""Streaming decompression of downloaded images, one chunk at a time.

Each format is read through a file-like decompressor, so memory stays bounded
whatever the ratio (a few KiB of xz can expand to gigabytes). Like the
`gunzip`/`unxz`/`bunzip2`/`unzstd` commands LAVA pipes through, concatenated
members, streams and frames are all decompressed.
"""

from __future__ import annotations

import bz2
import gzip
import lzma
import zlib
from typing import BinaryIO

import zstandard

DECOMPRESSED = frozenset({"gz", "xz", "bz2", "zstd"})
"""Formats decompressed while downloading."""

KEPT = frozenset({"zip"})
"""Formats LAVA accepts but stores as downloaded (no streaming decoder for zip)."""

COMPRESSIONS = DECOMPRESSED | KEPT

# What the decoders raise on data that is not in the announced format (bz2 and
# gzip use OSError); only meaningful around reads, where no file is written.
DECOMPRESSION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    EOFError,
    zlib.error,
    lzma.LZMAError,
    zstandard.ZstdError,
)


def open_decompressed(source: BinaryIO, compression: str) -> BinaryIO:
    """A readable stream of the decompressed bytes of `source`."""
    if compression == "gz":
        return gzip.GzipFile(fileobj=source, mode="rb")
    if compression == "xz":
        return lzma.LZMAFile(source, mode="rb")
    if compression == "bz2":
        return bz2.BZ2File(source, mode="rb")
    if compression == "zstd":
        reader = zstandard.ZstdDecompressor().stream_reader(
            source, read_across_frames=True, closefd=False
        )
        return reader  # type: ignore[return-value]
    raise ValueError(f"no streaming decoder for compression '{compression}'")


def decompressed_name(filename: str, compression: str | None) -> str:
    """The name a downloaded file keeps once decompressed: its last suffix dropped.

    `rootfs.ext4.gz` becomes `rootfs.ext4`; a name without a suffix (`Image`)
    is kept, as are files that are not decompressed.
    """
    if compression not in DECOMPRESSED:
        return filename
    stem, dot, _suffix = filename.rpartition(".")
    return stem if dot and stem else filename
