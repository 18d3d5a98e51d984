"""What setup writes: the power scripts, the device dictionary, the guest in the TFTP root."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from tools.board.config import DEVICE_TYPE, SERVER_IP, BoardError

if TYPE_CHECKING:
    from tools.board.board import Board

ROOT = Path(__file__).resolve().parents[2]
BUILD_GUEST = ROOT / "tools" / "guest" / "build-guest"
EXAMPLES = ROOT / "examples"
GUEST_FILES = ("vmlinuz", "initrd.gz")
# The example job and the device type's health check, filled in for the board.
JOBS = {
    "board-uboot.yaml": EXAMPLES / "jobs" / "board-uboot.yaml",
    "health-check.yaml": EXAMPLES / "health-checks" / f"{DEVICE_TYPE}.yaml",
}
POWER_ACTIONS = {"power-on": "on", "power-off": "off", "hard-reset": "reset"}

# Python rather than sh: the scripts and Board share one implementation of power.
SCRIPT = '''#!{python} -I
"""{script} of the emulated board {name}: written by `python -m tools.board setup`.

An executable, so the dispatcher runs it without a shell as LAVA runs power
commands. pdudaemon passes the outlet number as the only argument.
"""

import sys

sys.path.insert(0, {root!r})
from tools.board.power import main  # noqa: E402

sys.exit(main([{action!r}, {state!r}, *sys.argv[1:]]))
'''


def write_power_scripts(board: Board) -> None:
    """``power-on``, ``power-off`` and ``hard-reset`` in the state directory."""
    for script, action in POWER_ACTIONS.items():
        path = board.file(script)
        path.write_text(
            SCRIPT.format(
                python=sys.executable,
                script=script,
                name=board.name,
                root=str(ROOT),
                action=action,
                state=str(board.state_dir),
            )
        )
        path.chmod(0o755)


def jinja_string(value: str) -> str:
    """A Jinja2 string literal holding ``value``."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def device_dictionary(board: Board) -> str:
    """The LAVA device dictionary of the board."""
    power = (
        f"pdudaemon on 127.0.0.1:{board.pdu_port} (PDU {board.pdu_name}, outlet {board.pdu_outlet})"
        if board.pdu
        else "the scripts in its state directory"
    )
    lines = [
        f"{{% extends '{DEVICE_TYPE}.jinja2' %}}",
        f"{{# The emulated U-Boot board {board.name}, written by `python -m tools.board setup`.",
        f"   Console: ser2net on 127.0.0.1:{board.serial_port}. Power: {power}.",
        f"   State: {board.state_dir}",
        "   The worker's dispatcher.yaml needs:",
        f"     dispatcher_ip: {SERVER_IP}",
        f"     tftp_root: {board.tftp_root} #}}",
    ]
    for key in (
        "connection_command",
        "power_on_command",
        "power_off_command",
        "hard_reset_command",
    ):
        lines.append(f"{{% set {key} = {jinja_string(getattr(board, key))} %}}")
    return "\n".join(lines) + "\n"


def arm64_guest() -> Path:
    """The project's arm64 guest (kernel + busybox initramfs), built if needed (cached)."""
    proc = subprocess.run(
        [sys.executable, str(BUILD_GUEST), "--arch", "arm64", "--print-dir"],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise BoardError(f"building the arm64 guest failed: {proc.stderr.strip()}")
    return Path(proc.stdout.strip().splitlines()[-1])


def install_guest(board: Board, guest_dir: Path) -> None:
    """Copy the guest's kernel and initramfs where the board's U-Boot can TFTP them."""
    board.tftp_dir.mkdir(parents=True, exist_ok=True)
    for name in GUEST_FILES:
        source = guest_dir / name
        if not source.is_file():
            raise BoardError(f"{source} is missing: is {guest_dir} a guest directory?")
        shutil.copyfile(source, board.tftp_dir / name)


def job_text(source: Path, guest_dir: Path) -> str:
    """An example job with @GUEST@ (the arm64 guest) and @REPO@ (this checkout) filled in."""
    return source.read_text().replace("@GUEST@", str(guest_dir)).replace("@REPO@", str(ROOT))


def write_jobs(board: Board, guest_dir: Path) -> None:
    """The example job and the health check, ready to submit, in the state directory."""
    for name, source in JOBS.items():
        board.file(name).write_text(job_text(source, guest_dir))
