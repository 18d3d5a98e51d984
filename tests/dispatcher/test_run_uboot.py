"""`lava-run` as a process on a U-Boot board: the scripted console, real power commands.

The board is tests/dispatcher/support/fake_uboot.py behind the device's
connection command; `--dispatcher` gives the TFTP root and the address the
board fetches from.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from lava.common import log, yamlio
from tests.dispatcher.support import uboot

LAVA_RUN = str(Path(sys.executable).parent / "lava-run")


def lava_run(
    tmp_path: Path, definition: dict[str, Any], device: dict[str, Any], *args: str
) -> tuple[int, str, str]:
    (tmp_path / "tftp").mkdir(exist_ok=True)
    (tmp_path / "job.yaml").write_text(yamlio.dump(definition))
    (tmp_path / "device.yaml").write_text(yamlio.dump(device))
    (tmp_path / "dispatcher.yaml").write_text(
        yamlio.dump(uboot.dispatcher_config(tmp_path / "tftp"))
    )
    proc = subprocess.run(
        [
            LAVA_RUN,
            "--job-id",
            "7",
            "--device",
            str(tmp_path / "device.yaml"),
            "--dispatcher",
            str(tmp_path / "dispatcher.yaml"),
            "--output-dir",
            str(tmp_path / "out"),
            *args,
            str(tmp_path / "job.yaml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    return proc.returncode, proc.stdout, proc.stderr


def outcome(tmp_path: Path) -> dict[str, Any]:
    return yamlio.load((tmp_path / "out" / "result.yaml").read_text())


def names(described: list[dict[str, Any]]) -> list[str]:
    found = []
    for action in described:
        found.append(action["name"])
        found.extend(names(action.get("pipeline", [])))
    return found


def test_a_u_boot_job_boots_and_powers_off(tmp_path: Path) -> None:
    files = uboot.boot_files(tmp_path / "files")
    record, reset, off = tmp_path / "typed", tmp_path / "reset", tmp_path / "off"
    device = uboot.device(
        connection_command=uboot.console_command("--record", record, "--reset-file", reset),
        hard_reset_command=f"touch {reset}",
        power_off_command=f"touch {off}",
    )
    status, stdout, stderr = lava_run(tmp_path, uboot.definition(files), device)
    assert status == 0, stderr + stdout[-3000:]
    assert outcome(tmp_path)["result"] == "pass"
    info = [r["msg"] for r in map(log.decode, stdout.splitlines()) if r["lvl"] == "info"]
    assert "Parsed boot commands:" in info
    assert f"- setenv serverip {uboot.DISPATCHER_IP}" in info
    typed = uboot.typed(record)
    assert typed[0] == "" and typed[-1].startswith("booti 0x40400000 ")
    assert off.exists()
    assert list((tmp_path / "tftp").iterdir()) == []


def test_a_bootloader_error_fails_the_job_as_infrastructure(tmp_path: Path) -> None:
    files = uboot.boot_files(tmp_path / "files")
    off = tmp_path / "off"
    console = uboot.console_command("--error-after", "booti=Wrong Ramdisk Image Format")
    device = uboot.device(connection_command=console, power_off_command=f"touch {off}")
    definition = uboot.definition(files, {"reset": False})
    status, _, _ = lava_run(tmp_path, definition, device)
    assert status == 1
    result = outcome(tmp_path)
    assert result["error_type"] == "Infrastructure"
    assert "Wrong Ramdisk Image Format" in result["error_msg"]
    assert off.exists()  # the job's cleanup powered the board off


def test_validate_does_not_touch_the_device(tmp_path: Path) -> None:
    files = uboot.boot_files(tmp_path / "files")
    marker = tmp_path / "powered-off"
    device = uboot.device(
        connection_command=uboot.console_command(),
        hard_reset_command=f"touch {tmp_path / 'reset'}",
        power_off_command=f"touch {marker}",
    )
    status, stdout, stderr = lava_run(tmp_path, uboot.definition(files), device, "--validate")
    assert status == 0, stderr
    described = yamlio.load(stdout)["pipeline"]
    assert names(described)[:3] == ["tftp-deploy", "deploy-device-env", "download-retry"]
    assert "bootloader-interrupt" in names(described) and names(described)[-1] == "power-off"
    assert not marker.exists()
    assert not (tmp_path / "reset").exists()
    assert list((tmp_path / "tftp").iterdir()) == []


def test_an_invalid_job_is_not_powered_off_by_validate(tmp_path: Path) -> None:
    files = uboot.boot_files(tmp_path / "files")
    marker = tmp_path / "powered-off"
    device = uboot.device(connection_command="true", power_off_command=f"touch {marker}")
    definition = uboot.definition(files, {"commands": "no-such-list"})
    status, _, _ = lava_run(tmp_path, definition, device, "--validate")
    assert status == 1
    assert "the device has no 'no-such-list' command list" in outcome(tmp_path)["error_msg"]
    assert not marker.exists()
