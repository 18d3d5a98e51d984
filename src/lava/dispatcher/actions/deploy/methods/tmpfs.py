"""`deploy: to: tmpfs`: download the images a QEMU-style device boots from.

The tree, as in LAVA: `lava-overlay` (only when the namespace has test
definitions), `deploy-device-env`, one `download-retry` per image in job
order, then `apply-overlay` onto the ramdisk (again only with tests).
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from lava.common.exceptions import JobError
from lava.dispatcher.actions.deploy.download import DownloaderAction
from lava.dispatcher.actions.deploy.handler import download_dir
from lava.dispatcher.actions.deploy.overlay import (
    ApplyOverlayRamdiskAction,
    DeployDeviceEnvironment,
    OverlayAction,
)
from lava.dispatcher.pipeline import Action

DEVICE_METHOD = "image"
"""The device's `actions.deploy.methods` key that allows tmpfs deployments."""


class DeployImagesAction(Action):
    """Deploys the job's `images` (and optional `uefi` firmware) to the worker's disk."""

    name = "deployimages"
    description = "deploy images"
    summary = "deploy images"

    def populate(self, parameters: dict[str, Any]) -> None:
        pipeline = self.make_pipeline()
        with_tests = bool(self.job.test_plan.get(self.namespace))
        if with_tests:
            pipeline.add_action(OverlayAction())
        pipeline.add_action(DeployDeviceEnvironment())

        uefi = parameters.get("uefi")
        if isinstance(uefi, Mapping):
            pipeline.add_action(DownloaderAction("uefi", uefi))
            # QEMU's firmware option wants the directory, not the file; its
            # downloader refuses a namespace that is not a safe name.
            with contextlib.suppress(JobError):
                directory = download_dir(self.job.work_dir, self.namespace, "uefi")
                self.state.uefi_dir = directory

        images = parameters.get("images")
        labels = [str(label) for label in images] if isinstance(images, Mapping) else []
        for label in labels:
            pipeline.add_action(DownloaderAction(label, images[label]))
        # The boot action builds its command line from these, in this order.
        self.state.image_order = labels

        if with_tests:
            pipeline.add_action(ApplyOverlayRamdiskAction())

    def validate(self) -> None:
        super().validate()
        missing = self.job.device.missing_deploy_method(DEVICE_METHOD, "tmpfs")
        if missing:
            raise JobError(missing)
        images = self.parameters.get("images")
        if not isinstance(images, Mapping) or not images:
            raise JobError("'images' must be a non-empty mapping of labels to {url: ...}")
        for label, image in images.items():
            if not isinstance(image, Mapping):
                raise JobError(f"images.{label} must be a mapping with at least 'url'")
