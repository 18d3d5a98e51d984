"""What the actions of one namespace hand to each other, as typed values.

A deploy action fills these in; the boot and test actions that follow read
them. Each field has one writer, named in its comment.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class DeployedImage:
    """One downloaded file (handler.DownloadHandler)."""

    label: str
    path: Path
    image_arg: str | None = None
    compression: str | None = None
    decompressed: bool = False
    digests: dict[str, str] = field(default_factory=dict)


@dataclass
class Overlay:
    """The test overlay on the worker (overlay.OverlayAction, CompressOverlay)."""

    # The directory holding `lava-<id>/...`, and `lava-<id>` itself.
    root: Path | None = None
    dir: Path | None = None
    # `/lava-<id>` on the device.
    results_dir: str | None = None
    cpio: Path | None = None
    tarball: Path | None = None
    # How it reaches the device: "ramdisk" (appended to `image`) or "serial".
    delivery: str = ""
    image: str = ""


@dataclass
class DeviceEnvironment:
    """The env-dut exports sent once logged in (overlay_env.DeployDeviceEnvironment)."""

    variables: dict[str, str] = field(default_factory=dict)
    shell_file: str = ""
    lines: list[str] = field(default_factory=list)


@dataclass
class BootFiles:
    """Files placed where the bootloader fetches them (deploy to tftp).

    `names` maps a kind (kernel, ramdisk, dtb, tee, dtbo0...) to the name the
    bootloader asks for, relative to the TFTP root.
    """

    names: dict[str, str] = field(default_factory=dict)
    # The kernel's `type` (image, zimage, uimage) and the boot command it maps to.
    kernel_type: str = ""
    boot_command: str = ""
    # The ramdisk has a U-Boot header (mkimage), or is raw and needs its size.
    ramdisk_header: str = ""


@dataclass
class NamespaceState:
    """Everything one namespace's actions share."""

    images: dict[str, DeployedImage] = field(default_factory=dict)
    # Labels of `images:` in job order (the QEMU command line follows it).
    image_order: list[str] = field(default_factory=list)
    uefi_dir: Path | None = None
    overlay: Overlay = field(default_factory=Overlay)
    environment: DeviceEnvironment = field(default_factory=DeviceEnvironment)
    # Test stage → the definitions the test action runs (testdef.TestDefinitionAction).
    definitions: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    boot_files: BootFiles | None = None
    # The bootloader commands with their placeholders filled in (bootloader-overlay).
    boot_commands: list[str] = field(default_factory=list)
    # bootloader-interrupt already saw the prompt (a board that stops there by itself).
    at_bootloader_prompt: bool = False

    def image_path(self, label: str) -> Path | None:
        image = self.images.get(label)
        return image.path if image is not None else None
