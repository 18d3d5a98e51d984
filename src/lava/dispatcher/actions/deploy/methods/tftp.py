"""`deploy: to: tftp`: a kernel, ramdisk and DTB where the board's bootloader fetches them.

The tree: `lava-overlay` (with tests), `deploy-device-env`, one
`download-retry` per file in LAVA's order, `prepare-tftp-overlay` (the
ramdisk's header, the overlay appended to it, the device's header, the
kernel's boot command), then `deploy-tftp-files` puts everything under the
worker's TFTP root (`tftp.TftpTransfer`). The boot method reads the placed
names from the namespace state (`BootFiles`), not from strings.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lava.dispatcher.actions.deploy.bootfiles import (
    CompressRamdisk,
    InstallModules,
    PrepareKernel,
    PrepareRamdisk,
    describe_files,
)
from lava.dispatcher.actions.deploy.download import DownloaderAction
from lava.dispatcher.actions.deploy.overlay import (
    ApplyOverlayRamdiskAction,
    DeployDeviceEnvironment,
    OverlayAction,
)
from lava.dispatcher.interfaces import Console
from lava.dispatcher.pipeline import Action
from lava.dispatcher.state import BootFiles
from lava.dispatcher.tftp import DEFAULT_SIZE_LIMIT, TftpTransfer, tftp_root

DEVICE_METHOD = "tftp"
# The files a tftp deploy may carry, in the order LAVA downloads them.
FILE_KEYS = ("kernel", "ramdisk", "dtb", "tee", "modules")
REFUSED = {
    "nfsrootfs": "an NFS root file system (nfsrootfs) is not supported yet: boot a ramdisk",
    "persistent_nfs": "persistent_nfs is not supported yet: boot a ramdisk",
    "preseed": "preseed files are not supported yet",
    "dtbo": "device-tree overlays (dtbo) are not supported yet",
    "extra_files": "extra_files are not supported yet",
}


class TftpAction(Action):
    """Downloads the job's boot files and places them under the TFTP root."""

    name = "tftp-deploy"
    description = "download files and deploy using tftp"
    summary = "tftp deployment"

    def populate(self, parameters: dict[str, Any]) -> None:
        pipeline = self.make_pipeline()
        with_tests = bool(self.job.test_plan.get(self.namespace))
        if with_tests:
            pipeline.add_action(OverlayAction())
        pipeline.add_action(DeployDeviceEnvironment())
        for key in FILE_KEYS:
            if isinstance(parameters.get(key), Mapping):
                pipeline.add_action(DownloaderAction(key, parameters[key]))
        pipeline.add_action(PrepareTftpOverlay())
        pipeline.add_action(DeployTftpFiles())

    def validate(self) -> None:
        super().validate()
        missing = self.job.device.missing_deploy_method(DEVICE_METHOD, "tftp")
        if missing:
            self.errors.append(missing)
        for key, reason in REFUSED.items():
            if key in self.parameters:
                self.errors.append(f"deploy to tftp: {reason}")
        if not isinstance(self.parameters.get("kernel"), Mapping):
            self.errors.append("deploy to tftp needs a 'kernel' with at least a 'url'")
        ramdisk = self.parameters.get("ramdisk")
        if isinstance(ramdisk, Mapping):
            header = ramdisk.get("header")
            if header not in (None, "u-boot"):
                self.errors.append(f"ramdisk header '{header}' is not supported (only u-boot)")


class PrepareTftpOverlay(Action):
    """The ramdisk and kernel as the bootloader needs them, the overlay inside the ramdisk."""

    name = "prepare-tftp-overlay"
    description = "prepare the overlay, ramdisk and kernel for the bootloader"
    summary = "prepare the tftp files"

    def populate(self, parameters: dict[str, Any]) -> None:
        pipeline = self.make_pipeline()
        ramdisk = parameters.get("ramdisk")
        if isinstance(ramdisk, Mapping):
            pipeline.add_action(PrepareRamdisk())
            if isinstance(parameters.get("modules"), Mapping):
                pipeline.add_action(InstallModules())
            if self.job.test_plan.get(self.namespace) and ramdisk.get("install_overlay", True):
                pipeline.add_action(ApplyOverlayRamdiskAction())
            pipeline.add_action(CompressRamdisk())
        pipeline.add_action(PrepareKernel())

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        self.state.boot_files = BootFiles()
        return super().run(connection, max_end_time)


class DeployTftpFiles(Action):
    """Copies the prepared files under `<TFTP root>/<job id>/tftp-deploy-*/<kind>/`."""

    name = "deploy-tftp-files"
    description = "place the files under the worker's TFTP root"
    summary = "place the tftp files"

    def __init__(self) -> None:
        super().__init__()
        self.transfer: TftpTransfer | None = None

    def _transfer(self) -> TftpTransfer:
        if self.transfer is None:
            config = self.job.dispatcher_config or {}
            limit = int(config.get("tftp_size_limit") or DEFAULT_SIZE_LIMIT)
            prefix = str(config.get("prefix") or "")
            self.transfer = TftpTransfer(tftp_root(config), self.job.job_id, prefix, limit)
        return self.transfer

    def validate(self) -> None:
        super().validate()
        self._transfer()

    def run(self, connection: Console | None, max_end_time: float) -> Console | None:
        files = self.state.boot_files
        assert files is not None
        transfer = self._transfer()
        skip_dtb = self.job.device.deploy_parameters.append_dtb
        for key in FILE_KEYS:
            image = self.state.images.get(key)
            if image is None or (key == "dtb" and skip_dtb):
                continue
            files.names[key] = transfer.put(image.path, key)
        self.logger.info(f"TFTP files under {transfer.deploy_dir}:")
        for key, name in files.names.items():
            self.logger.info(f"  {key}: {name}")
        self.results = describe_files(files.names)
        return connection

    def cleanup(self, connection: Console | None) -> None:
        if self.transfer is not None:
            self.transfer.remove()
        super().cleanup(connection)
