"""Preparing a kernel and ramdisk for a bootloader: headers, boot command, overlay.

Used by `deploy to: tftp`. The steps, each an action:
`prepare-ramdisk` (drop the job's U-Boot header so the overlay can be
appended), `apply-overlay-ramdisk`, `compress-ramdisk` (add the device's
U-Boot header with mkimage), `uboot-prepare-kernel` (kernel type → bootm,
bootz or booti).
"""

from __future__ import annotations

import io
import shlex
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from lava.common.exceptions import InfrastructureError, JobError
from lava.dispatcher import paths
from lava.dispatcher.cpio import CpioWriter, append_cpio
from lava.dispatcher.host_commands import run_command
from lava.dispatcher.interfaces import Console
from lava.dispatcher.pipeline import Action

# mkimage's legacy header, which `header: u-boot` says the job's ramdisk carries.
UBOOT_HEADER_LENGTH = 64
UBOOT_MAGIC = b"\x27\x05\x19\x56"
KERNEL_TYPES = ("image", "zimage", "uimage")
# A modules tarball bigger than this once unpacked, or with more members, is refused.
MAX_MODULES_BYTES = 1024**3
MAX_MODULES_MEMBERS = 100_000
# The architectures mkimage -A knows that LAVA's templates use.
MKIMAGE_ARCHS = frozenset({"arm", "arm64", "x86", "x86_64", "riscv", "mips", "powerpc"})


def boot_command(kernel_type: str, device_commands: set[str]) -> str:
    """The U-Boot command for a kernel `type`, given the groups the device has."""
    if kernel_type == "uimage":
        return "bootm"
    if kernel_type == "zimage":
        return "bootz" if "bootz" in device_commands else "bootm"
    if kernel_type == "image":
        return "booti" if "booti" in device_commands else "bootm"
    return ""


class PrepareRamdisk(Action):
    """Drops the 64-byte U-Boot header of a ramdisk the job says has one."""

    name = "prepare-ramdisk"
    description = "remove the U-Boot header of the job's ramdisk"
    summary = "prepare the ramdisk"

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        ramdisk = self.parameters.get("ramdisk") or {}
        image = self.state.images.get("ramdisk")
        if image is None or ramdisk.get("header") != "u-boot":
            return connection
        with image.path.open("rb") as f:
            head = f.read(4)
        if head != UBOOT_MAGIC:
            raise JobError(
                "ramdisk: 'header: u-boot' is set but the file has no U-Boot header "
                "(mkimage legacy image magic 27051956)"
            )
        stripped = image.path.with_name(image.path.name + ".raw")
        with image.path.open("rb") as src, stripped.open("wb") as dst:
            src.seek(UBOOT_HEADER_LENGTH)
            shutil.copyfileobj(src, dst, 1024 * 1024)
        image.path = stripped
        self.logger.info(f"Removed the {UBOOT_HEADER_LENGTH}-byte U-Boot header of the ramdisk")
        return connection


class InstallModules(Action):
    """Adds the job's kernel modules tarball to the ramdisk (`install_modules`, default true).

    The tarball's tree (`lib/modules/<version>/...`) becomes one more cpio archive
    appended to the ramdisk, which the kernel unpacks over the first. Links that
    lead outside the tree (`build`, `source`) are left out; anything else that would
    leave it refuses the job.
    """

    name = "extract-modules"
    description = "add the kernel modules to the ramdisk"
    summary = "install the modules in the ramdisk"

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        ramdisk, modules = self.state.images.get("ramdisk"), self.state.images.get("modules")
        if ramdisk is None or modules is None:
            return connection
        if not (self.parameters.get("ramdisk") or {}).get("install_modules", True):
            self.logger.info("Not installing the modules in the ramdisk (install_modules: false)")
            return connection
        with tempfile.TemporaryDirectory(dir=self.job.work_dir) as tmp:
            root = Path(tmp) / "modules"
            root.mkdir()
            count, skipped = self._unpack(modules.path, root)
            archive = io.BytesIO()
            with CpioWriter(archive, compress=True) as cpio:
                cpio.add_tree(root)
        append_cpio(ramdisk.path, archive.getvalue())
        # In the ramdisk now: the TFTP server need not serve the tarball (as LAVA).
        del self.state.images["modules"]
        self.logger.info(
            f"Added {count} module files ({archive.tell()} bytes compressed) to the ramdisk"
            + (f"; left out {skipped} links pointing outside the tree" if skipped else "")
        )
        self.results = {"members": count, "skipped_links": skipped}
        return connection

    def _unpack(self, tarball: Path, root: Path) -> tuple[int, int]:
        try:
            with tarfile.open(tarball, "r:*") as tar:
                members = tar.getmembers()
                if len(members) > MAX_MODULES_MEMBERS:
                    raise JobError(f"the modules tarball has over {MAX_MODULES_MEMBERS} members")
                if sum(m.size for m in members if m.isfile()) > MAX_MODULES_BYTES:
                    raise JobError(f"the modules unpack to over {MAX_MODULES_BYTES} bytes")
                links = [
                    m
                    for m in members
                    if (m.issym() or m.islnk()) and paths.member_problem(m) is not None
                ]
                kept = [m for m in members if m not in links]
                return paths.extract(kept, tar, root), len(links)
        except tarfile.TarError as exc:
            raise JobError(f"the modules are not a tar archive: {exc}") from exc


class CompressRamdisk(Action):
    """Wraps the ramdisk in a U-Boot header when the device says `add_header: u-boot`."""

    name = "compress-ramdisk"
    description = "add the U-Boot header the device needs to the ramdisk"
    summary = "prepare the ramdisk for the bootloader"

    def validate(self) -> None:
        super().validate()
        params = self.job.device.deploy_parameters
        if params.add_header != "u-boot" or "ramdisk" not in self.parameters:
            return
        if params.mkimage_arch not in MKIMAGE_ARCHS:
            self.errors.append(
                f"the device's mkimage_arch '{params.mkimage_arch}' is not one of "
                f"{', '.join(sorted(MKIMAGE_ARCHS))}"
            )
        if shutil.which("mkimage") is None:
            raise InfrastructureError(
                "the device needs U-Boot ramdisk headers but mkimage is not installed on this "
                "worker (Debian: u-boot-tools)"
            )

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        params = self.job.device.deploy_parameters
        image = self.state.images.get("ramdisk")
        files = self.state.boot_files
        if image is None or files is None:
            return connection
        if params.add_header != "u-boot":
            # raw: the boot command gets the size; anything else: LAVA passes no ramdisk.
            files.ramdisk_header = params.add_header
            return connection
        wrapped = image.path.with_name(image.path.name + ".uboot")
        command = shlex.join(
            [
                *("mkimage", "-A", params.mkimage_arch, "-T", "ramdisk", "-C", "none"),
                *("-d", str(image.path), str(wrapped)),
            ]
        )
        run_command(command, self.logger, "mkimage", max_end_time, limit=300)
        image.path = wrapped
        files.ramdisk_header = "u-boot"
        self.results = {"header": "u-boot", "size": wrapped.stat().st_size}
        return connection


class PrepareKernel(Action):
    """Maps the kernel `type` to the boot command ({BOOTX}); appends the DTB if asked."""

    name = "uboot-prepare-kernel"
    description = "map the kernel type to a U-Boot boot command"
    summary = "prepare the kernel for U-Boot"

    def validate(self) -> None:
        super().validate()
        kernel = self.parameters.get("kernel") or {}
        kernel_type = str(kernel.get("type") or "")
        if kernel_type and kernel_type not in KERNEL_TYPES:
            self.errors.append(
                f"kernel type '{kernel_type}' is not one of {', '.join(KERNEL_TYPES)}"
            )
            return
        device = self.job.device
        command = boot_command(kernel_type, set(device.load_addresses))
        if kernel_type == "zimage" and command == "bootm":
            self.errors.append(
                "kernel type zimage on a device without bootz addresses needs a uImage "
                "conversion, which this dispatcher does not do yet: use type uimage"
            )
        if command and command not in device.load_addresses:
            self.errors.append(
                f"the device has no load addresses for {command} (kernel type "
                f"'{kernel_type}'): set {command}_kernel_addr and friends in its dictionary"
            )

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        files = self.state.boot_files
        assert files is not None
        kernel = self.parameters.get("kernel") or {}
        files.kernel_type = str(kernel.get("type") or "")
        files.boot_command = boot_command(files.kernel_type, set(self.job.device.load_addresses))
        if self.job.device.deploy_parameters.append_dtb:
            self._append_dtb()
        if files.boot_command:
            self.logger.info(f"kernel type '{files.kernel_type}': boot with {files.boot_command}")
        return connection

    def _append_dtb(self) -> None:
        kernel, dtb = self.state.images.get("kernel"), self.state.images.get("dtb")
        if kernel is None or dtb is None:
            return
        joined = kernel.path.with_name(kernel.path.name + "-dtb")
        with joined.open("wb") as out:
            for part in (kernel.path, dtb.path):
                with part.open("rb") as src:
                    shutil.copyfileobj(src, out, 1024 * 1024)
        kernel.path = joined
        self.logger.info("Appended the DTB to the kernel (append_dtb)")


def describe_files(names: dict[str, str]) -> dict[str, Any]:
    """The placed files, for the action's results."""
    return {kind: Path(name).name for kind, name in names.items()}
