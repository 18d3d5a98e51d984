"""deploy to: tmpfs, built by the parser from a job definition and run for real."""

from __future__ import annotations

import copy
import gzip
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("lava.dispatcher.actions.deploy.overlay")

from lava.common import log
from lava.common.exceptions import JobError
from lava.dispatcher.actions.deploy.methods.tmpfs import DeployImagesAction
from lava.dispatcher.device import Device
from lava.dispatcher.logger import JobLogger
from lava.dispatcher.parser import parse_job
from lava.dispatcher.pipeline import Job

DEVICE: dict[str, Any] = {
    "hostname": "qemu-01",
    "devicetype": "qemu",
    "actions": {"deploy": {"methods": {"image": {}}}, "boot": {"methods": {}}},
    "timeouts": {"actions": {}, "connections": {}},
}

INLINE_TEST = {
    "test": {
        "timeout": {"minutes": 5},
        "definitions": [
            {
                "from": "inline",
                "name": "smoke",
                "path": "inline/smoke.yaml",
                "repository": {
                    "metadata": {"format": "Lava-Test Test Definition 1.0", "name": "smoke"},
                    "run": {"steps": ["lava-test-case uname --shell uname -a"]},
                },
            }
        ],
    }
}


@pytest.fixture
def images(tmp_path: Path) -> dict[str, Path]:
    kernel = tmp_path / "src" / "bzImage"
    kernel.parent.mkdir()
    kernel.write_bytes(b"kernel image")
    ramdisk = tmp_path / "src" / "rootfs.cpio.gz"
    # A valid (empty) newc archive with its trailer is enough to append to.
    trailer = b"070701" + b"0" * 8 * 11 + b"0000000B" + b"0" * 8 + b"TRAILER!!!\x00"
    ramdisk.write_bytes(gzip.compress(trailer + b"\x00" * (-len(trailer) % 4)))
    return {"kernel": kernel, "ramdisk": ramdisk}


def definition(images: dict[str, Path], *extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "job_name": "tmpfs",
        "device_type": "qemu",
        "visibility": "public",
        "timeouts": {"job": {"minutes": 5}, "action": {"minutes": 1}},
        "actions": [
            {
                "deploy": {
                    "to": "tmpfs",
                    "images": {
                        "kernel": {
                            "url": images["kernel"].as_uri(),
                            "image_arg": "-kernel {kernel}",
                        },
                        "ramdisk": {
                            "url": str(images["ramdisk"]),
                            "image_arg": "-initrd {ramdisk}",
                            "compression": "gz",
                        },
                    },
                }
            },
            *extra,
        ],
    }


def build(tmp_path: Path, job_def: dict[str, Any], device: dict[str, Any] = DEVICE) -> Job:
    logger = JobLogger(path=tmp_path / "output.yaml")
    job = parse_job(job_def, Device.from_dict(device), "7", logger, tmp_path / "work")
    job.cache_dir = tmp_path / "cache"
    return job


def names(action: Any) -> list[str]:
    return [child.name for child in action.pipeline.actions]


def run_deploy(job: Job) -> None:
    """Run the deploy block only (a test block would need a booted device)."""
    with job.deadlines.frame("test", 60, JobError) as deadline:
        job.pipeline.actions[0].run(None, deadline)


def test_pipeline_without_tests(tmp_path: Path, images: dict[str, Path]) -> None:
    job = build(tmp_path, definition(images))
    deploy = job.pipeline.actions[0]
    assert isinstance(deploy, DeployImagesAction)
    assert (deploy.name, deploy.description, deploy.summary) == (
        "deployimages",
        "deploy images",
        "deploy images",
    )
    assert names(deploy) == ["deploy-device-env", "download-retry", "download-retry"]
    assert [child.label for child in deploy.pipeline.actions[1:]] == ["kernel", "ramdisk"]
    assert [child.level for child in deploy.pipeline.actions] == ["1.1", "1.2", "1.3"]
    assert names(deploy.pipeline.actions[1]) == ["file-download"]
    assert job.state("common").image_order == ["kernel", "ramdisk"]
    described = job.describe()["pipeline"][0]
    assert described["pipeline"][1]["pipeline"][0]["url"] == images["kernel"].as_uri()


def test_pipeline_with_tests(tmp_path: Path, images: dict[str, Path]) -> None:
    job = build(tmp_path, definition(images, INLINE_TEST))
    deploy = job.pipeline.actions[0]
    assert names(deploy) == [
        "lava-overlay",
        "deploy-device-env",
        "download-retry",
        "download-retry",
        "apply-overlay-ramdisk",
    ]


def test_tests_in_another_namespace_need_no_overlay(
    tmp_path: Path, images: dict[str, Path]
) -> None:
    job_def = definition(images, copy.deepcopy(INLINE_TEST))
    job_def["actions"][0]["deploy"]["namespace"] = "target"
    job_def["actions"][1]["test"]["namespace"] = "host"
    job = build(tmp_path, job_def)
    assert names(job.pipeline.actions[0]) == [
        "deploy-device-env",
        "download-retry",
        "download-retry",
    ]


def test_downloads_images(tmp_path: Path, images: dict[str, Path]) -> None:
    job = build(tmp_path, definition(images))
    job.validate()
    run_deploy(job)
    kernel = job.state("common").images["kernel"].path
    ramdisk = job.state("common").images["ramdisk"].path
    assert Path(kernel).read_bytes() == b"kernel image"
    # LAVA keeps the label `ramdisk` compressed.
    assert Path(ramdisk).read_bytes() == images["ramdisk"].read_bytes()
    assert job.state("common").images["kernel"].image_arg == "-kernel {kernel}"
    lines = [log.decode(line) for line in (tmp_path / "output.yaml").read_text().splitlines()]
    cases = [m["msg"]["case"] for m in lines if m["lvl"] == "results"]
    assert cases == ["validate", "file-download", "file-download"]


def test_overlay_is_appended_to_the_ramdisk(tmp_path: Path, images: dict[str, Path]) -> None:
    job = build(tmp_path, definition(images, INLINE_TEST))
    deploy = job.pipeline.actions[0]
    job.validate()
    with job.deadlines.frame("test", 60, JobError) as deadline:
        deploy.run(None, deadline)
    ramdisk = Path(job.state("common").images["ramdisk"].path)
    assert ramdisk.stat().st_size > images["ramdisk"].stat().st_size
    assert job.state("common").overlay.delivery == "ramdisk"


def test_device_without_image_method(tmp_path: Path, images: dict[str, Path]) -> None:
    device = copy.deepcopy(DEVICE)
    device["actions"]["deploy"]["methods"] = {"nfs": {}}
    job = build(tmp_path, definition(images), device)
    with pytest.raises(JobError, match=r"Device 'qemu-01' cannot deploy to tmpfs.*offers: nfs"):
        job.validate()


@pytest.mark.parametrize("value", [{}, None, ["kernel"]])
def test_images_must_be_a_non_empty_mapping(
    tmp_path: Path, images: dict[str, Path], value: Any
) -> None:
    job_def = definition(images)
    job_def["actions"][0]["deploy"]["images"] = value
    job = build(tmp_path, job_def)
    assert names(job.pipeline.actions[0]) == ["deploy-device-env"]
    with pytest.raises(JobError, match="'images' must be a non-empty mapping"):
        job.validate()


def test_uefi_firmware(tmp_path: Path, images: dict[str, Path]) -> None:
    firmware = tmp_path / "src" / "OVMF.fd"
    firmware.write_bytes(b"firmware")
    job_def = definition(images)
    job_def["actions"][0]["deploy"]["uefi"] = {"url": str(firmware)}
    job = build(tmp_path, job_def)
    deploy = job.pipeline.actions[0]
    assert [getattr(a, "label", None) for a in deploy.pipeline.actions] == [
        None,
        "uefi",
        "kernel",
        "ramdisk",
    ]
    uefi_dir = job.state("common").uefi_dir
    job.validate()
    run_deploy(job)
    assert (Path(uefi_dir) / "OVMF.fd").read_bytes() == b"firmware"
    assert job.state("common").image_order == ["kernel", "ramdisk"]
