"""A U-Boot board for the bootloader tests: the scripted console, a device, a job.

The device is rendered from base-uboot.jinja2 with the fake U-Boot
(fake_uboot.py) as its connection command; the job deploys three small
files to a temporary TFTP root and boots them with `commands: ramdisk`.
"""

from __future__ import annotations

import ast
import json
import shlex
import sys
import time
from pathlib import Path
from typing import IO, Any

from lava.common.device import load_device
from lava.common.exceptions import LAVAError
from lava.dispatcher.device import Device
from lava.dispatcher.logger import JobLogger
from lava.dispatcher.parser import parse_job
from lava.dispatcher.pipeline import Job

FAKE_UBOOT = Path(__file__).with_name("fake_uboot.py")
SHELL_PROMPT = "root@lava-guest:~# "
DISPATCHER_IP = "192.0.2.9"
KERNEL_ADDR, RAMDISK_ADDR, DTB_ADDR = "0x40400000", "0x44000000", "0x40000000"


def console_command(*options: str | Path) -> str:
    """The fake U-Boot as a connection command (split and run without a shell)."""
    return shlex.join([sys.executable, str(FAKE_UBOOT), *map(str, options)])


def dictionary(**settings: Any) -> str:
    """A base-uboot device dictionary with arm64 `booti` addresses and `settings`."""
    values = {
        "booti_kernel_addr": KERNEL_ADDR,
        "booti_ramdisk_addr": RAMDISK_ADDR,
        "booti_dtb_addr": DTB_ADDR,
        "console_device": "ttyAMA0",
        "uboot_ramdisk_format": "raw",
        **settings,
    }
    lines = ["{% extends 'base-uboot.jinja2' %}"]
    lines += [f"{{% set {key} = {json.dumps(value)} %}}" for key, value in values.items()]
    return "\n".join(lines) + "\n"


def device(**settings: Any) -> dict[str, Any]:
    """The rendered device configuration (a dict, as lava-run reads it)."""
    return load_device(dictionary(**settings), {}, hostname="uboot-01")


def boot_files(directory: Path) -> dict[str, Path]:
    """A kernel, a ramdisk and a DTB: bytes are enough, nothing runs them."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {"kernel": "Image", "ramdisk": "rootfs.cpio", "dtb": "board.dtb"}
    paths = {}
    for kind, name in files.items():
        path = directory / name
        path.write_bytes(f"fake {kind}\n".encode() * 16)
        paths[kind] = path
    return paths


def definition(
    files: dict[str, Path], boot: dict[str, Any] | None = None, **timeouts: Any
) -> dict[str, Any]:
    """Deploy `files` to tftp, then boot them with u-boot `commands: ramdisk`."""
    deploy: dict[str, Any] = {
        "to": "tftp",
        "kernel": {"url": files["kernel"].as_uri(), "type": "image"},
        "ramdisk": {"url": files["ramdisk"].as_uri()},
        "dtb": {"url": files["dtb"].as_uri()},
    }
    boot_block: dict[str, Any] = {
        "method": "u-boot",
        "commands": "ramdisk",
        "prompts": [SHELL_PROMPT],
        **(boot or {}),
    }
    return {
        "job_name": "u-boot on the fake board",
        "device_type": "base-uboot",
        "visibility": "public",
        "timeouts": {"job": {"minutes": 2}, "action": {"minutes": 1}, **timeouts},
        "actions": [{"deploy": deploy}, {"boot": boot_block}],
    }


def dispatcher_config(tftp_root: Path) -> dict[str, Any]:
    return {"tftp_root": str(tftp_root), "dispatcher_ip": DISPATCHER_IP}


def build(
    tmp_path: Path, stream: IO[str], job_definition: dict[str, Any], device_data: dict[str, Any]
) -> Job:
    """The job as lava-run builds it, with a temporary TFTP root (job id 7)."""
    job = parse_job(
        job_definition, Device.from_dict(device_data), "7", JobLogger(stream), tmp_path / "work"
    )
    job.cache_dir = tmp_path / "cache"
    tftp = tmp_path / "tftp"
    tftp.mkdir(exist_ok=True)
    job.dispatcher_config = dispatcher_config(tftp)
    return job


def run(job: Job) -> tuple[float, LAVAError | None]:
    """Validate and run the job (it cleans up after itself): how long it ran, its error."""
    job.validate()
    start = time.monotonic()
    try:
        job.run()
    except LAVAError as exc:
        return time.monotonic() - start, exc
    finally:
        job.deadlines.disarm()
    return time.monotonic() - start, None


def typed(record: Path) -> list[str]:
    """The lines the fake U-Boot read, in order."""
    if not record.exists():
        return []
    return [ast.literal_eval(line) for line in record.read_text().splitlines()]
