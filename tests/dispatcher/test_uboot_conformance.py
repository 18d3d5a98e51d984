"""LAVA's U-Boot boards: a tftp/u-boot ramdisk job validates on every one of their dictionaries.

Each dictionary from ../shared/conformance/devices whose type extends
base-uboot.jinja2 is rendered with our templates, then `lava-run --validate`
builds the pipeline of a LAVA-style job (deploy to tftp: kernel of the type
the board boots, ramdisk, DTB; boot u-boot with `commands: ramdisk`; a test
shell), as a worker would start it. Nothing is booted.
"""

from __future__ import annotations

import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from lava.common import log, yamlio
from lava.common.device import render_device
from tests.common.test_device_uboot import DEVICES, MISSING, UBOOT_DICTS
from tools import example

# Dictionaries LAVA keeps as test data without a console: validation must say so.
NO_CONSOLE = {"ct-01", "meson8b-odroidc1-1", "panda01", "panda02", "panda03"}
# The kernel `type` each boot command wants (LAVA's map_kernel_uboot, reversed).
KERNEL_TYPE = {"booti": "image", "bootz": "zimage", "bootm": "uimage"}
TIMEOUT = 60.0


def job_for(device: dict[str, Any], files: Path) -> str:
    """The job for one board: the kernel type its U-Boot boots, local stand-in files."""
    params = device.get("parameters") or {}
    # Boards without load addresses (flashed over UMS, fastboot) get no kernel type.
    command = next((c for c in ("booti", "bootz", "bootm") if c in params), None)
    kernel = {"url": (files / "Image").as_uri()}
    if command:
        kernel["type"] = KERNEL_TYPE[command]
    # juno-uboot names its lists by where the files come from.
    lists = device["actions"]["boot"]["methods"]["u-boot"]
    commands = "ramdisk" if "ramdisk" in lists else "ramdisk-tftp"
    for name in ("Image", "initrd.gz", "board.dtb"):
        (files / name).write_bytes(b"x")
    job = {
        "device_type": device.get("devicetype") or "board",
        "job_name": "u-boot conformance",
        "timeouts": {"job": {"minutes": 10}, "action": {"minutes": 2}},
        "priority": "medium",
        "visibility": "public",
        "actions": [
            {
                "deploy": {
                    "to": "tftp",
                    "kernel": kernel,
                    "ramdisk": {"url": (files / "initrd.gz").as_uri(), "compression": "gz"},
                    "dtb": {"url": (files / "board.dtb").as_uri()},
                    "os": "oe",
                }
            },
            {"boot": {"method": "u-boot", "commands": commands, "prompts": ["/ # "]}},
            {
                "test": {
                    "definitions": [
                        {
                            "repository": {
                                "metadata": {
                                    "format": "Lava-Test Test Definition 1.0",
                                    "name": "smoke",
                                },
                                "run": {"steps": ["lava-test-case one --shell true"]},
                            },
                            "from": "inline",
                            "name": "smoke",
                            "path": "inline/smoke.yaml",
                        }
                    ]
                }
            },
        ],
    }
    return yamlio.dump(job)


def validate(name: str, base: Path) -> tuple[int, str, list[str]]:
    """(exit status, pipeline, error lines) of `lava-run --validate` on one board."""
    device_text = render_device(DEVICES / f"{name}.jinja2", {}, hostname=name)
    files = base / f"{name}-files"
    files.mkdir()
    config = base / "dispatcher.yaml"
    config.write_text(f"tftp_root: {base}\n", encoding="utf-8")
    job = job_for(yamlio.load(device_text), files)
    proc = example.lava_run(
        job, device_text, base / name, extra=["--validate", "--dispatcher", str(config)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    out, err = proc.communicate(timeout=TIMEOUT)
    lines = [log.decode(line) for line in err.splitlines() if line.startswith("- {")]
    return proc.returncode, out, [str(e["msg"]) for e in lines if e["lvl"] == "error"]


@pytest.fixture(scope="module")
def validations(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[int, str, list[str]]]:
    if not DEVICES.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(MISSING)
        pytest.skip(MISSING)
    base = tmp_path_factory.mktemp("uboot-conformance")
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        runs = {name: pool.submit(validate, name, base) for name in UBOOT_DICTS}
        results = {name: run.result() for name, run in runs.items()}
    passed = [name for name, (status, _, _) in results.items() if status == 0]
    print(
        f"\n{len(UBOOT_DICTS)} U-Boot dictionaries render; {len(passed)} validate, "
        f"{len(UBOOT_DICTS) - len(passed)} refused: {sorted(set(UBOOT_DICTS) - set(passed))}"
    )
    return results


@pytest.mark.parametrize("name", sorted(set(UBOOT_DICTS) - NO_CONSOLE))
def test_uboot_job_validates(name: str, validations: dict[str, tuple[int, str, list[str]]]) -> None:
    status, out, errors = validations[name]
    assert status == 0, f"{name}: {errors}"
    names = [action["name"] for action in yamlio.load(out)["pipeline"]]
    assert names == ["tftp-deploy", "uboot-action", "lava-test-retry", "finalize"]


@pytest.mark.parametrize("name", sorted(NO_CONSOLE))
def test_a_board_without_a_console_is_refused(
    name: str, validations: dict[str, tuple[int, str, list[str]]]
) -> None:
    status, _, errors = validations[name]
    assert status == 1
    assert (
        f"Unable to connect to device {name}: its dictionary has no connection_command"
        in (errors[0])
    )
