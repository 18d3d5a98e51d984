"""Deliver the overlay inside the ramdisk, or leave it for the serial console.

The kernel unpacks every cpio archive it finds one after the other in the
initramfs, compressed or not, so appending the overlay's gzip cpio to the
ramdisk puts `/lava-<id>` on the device without touching the image's own
archive. LAVA instead writes QEMU overlays to a small qcow2 disk.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from lava.dispatcher.cpio import append_cpio
from lava.dispatcher.interfaces import Console
from lava.dispatcher.pipeline import Action

RAMDISK_LABELS = ("ramdisk", "initrd")
CPIO_FORMAT = "cpio.newc"
# Leading bytes of the archives and compressions the kernel can unpack.
RAMDISK_MAGIC: dict[bytes, str] = {
    b"070701": "cpio",
    b"070702": "cpio",
    b"\x1f\x8b": "gzip",
    b"\x1f\x9e": "gzip",
    b"\xfd7zXZ\x00": "xz",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"\x02\x21\x4c\x18": "lz4",
    b"BZh": "bzip2",
    b"\x5d\x00\x00": "lzma",
    b"\x89LZO": "lzo",
}
UBOOT_MAGIC = b"\x27\x05\x19\x56"


def ramdisk_format(path: Path) -> str | None:
    """The archive or compression of `path` by its magic, or None if unknown."""
    with path.open("rb") as f:
        head = f.read(8)
    if head.startswith(UBOOT_MAGIC):
        return "u-boot"
    for magic, name in RAMDISK_MAGIC.items():
        if head.startswith(magic):
            return name
    return None


class ApplyOverlayRamdiskAction(Action):
    """Appends the overlay cpio to the job's ramdisk; else marks it for the console."""

    name = "apply-overlay-ramdisk"
    description = "append the lava overlay to the ramdisk as a second cpio archive"
    summary = "apply overlay to the ramdisk"

    def candidates(self) -> list[str]:
        """Labels of the deploy images that can carry the overlay, best first."""
        images = self.parameters.get("images") or {}
        blocks: dict[str, Any] = {
            label: params for label, params in images.items() if isinstance(params, dict)
        }
        for label in RAMDISK_LABELS:
            if isinstance(self.parameters.get(label), dict):
                blocks.setdefault(label, self.parameters[label])
        labels = [label for label in RAMDISK_LABELS if label in blocks]
        labels += [
            label
            for label, params in blocks.items()
            if params.get("format") == CPIO_FORMAT and label not in labels
        ]
        return labels

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        overlay = self.state.overlay
        cpio = overlay.cpio
        if not cpio:
            self.logger.debug("No overlay to apply (no test definitions in this namespace)")
            return connection
        for label in self.candidates():
            image = self.state.image_path(label)
            if image is None or not image.is_file():
                self.logger.warning(f"apply-overlay: image '{label}' was not downloaded")
                continue
            kind = ramdisk_format(image)
            if kind is None or kind == "u-boot":
                what = "a u-boot (mkimage) header" if kind else "an unknown format"
                self.logger.warning(
                    f"apply-overlay: image '{label}' has {what}; not appending the overlay"
                )
                continue
            path = self._private_copy(label, image)
            before = path.stat().st_size
            append_cpio(path, cpio.read_bytes())
            after = path.stat().st_size
            self.logger.info(
                f"Appended the overlay ({after - before} bytes) to the {kind} ramdisk "
                f"'{label}' {path}"
            )
            overlay.delivery, overlay.image = "ramdisk", label
            self.results = {"method": "ramdisk", "image": label, "size": after}
            return connection
        self.logger.info(
            "No ramdisk can carry the overlay: it will be transferred over the serial "
            "console once the shell prompt is found"
        )
        overlay.delivery = "serial"
        self.results = {"method": "serial"}
        return connection

    def _private_copy(self, label: str, path: Path) -> Path:
        """A copy of `path` that is the job's own, so a cache entry is never modified."""
        work = self.job.work_dir.resolve()
        own = (
            not path.is_symlink()
            and path.resolve().is_relative_to(work)
            and os.stat(path).st_nlink == 1
        )
        if own:
            return path
        copy = self.job.work_dir / f"{label}-with-overlay{''.join(path.suffixes)}"
        shutil.copyfile(path, copy)
        self.logger.debug(f"Copied {path} to {copy} before appending the overlay")
        self.state.images[label].path = copy
        return copy
