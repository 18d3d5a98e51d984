"""What every part of the board shares: fixed paths, defaults, the tools it needs, its error."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

DEFAULT_NAME = "sim-arm64-01"
DEVICE_TYPE = "qemu-uboot-arm64"
QEMU = "qemu-system-aarch64"
UBOOT_BIN = Path("/usr/lib/u-boot/qemu_arm64/u-boot.bin")
# QEMU's user-mode network: the host (and QEMU's own TFTP server) as the board sees it.
SERVER_IP = "10.0.2.2"
TFTPD_DEFAULTS = Path("/etc/default/tftpd-hpa")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,62}")
# Daemons live in sbin, which a normal user's PATH often lacks.
SBIN = ("/usr/sbin", "/sbin")

# The Debian package that provides each tool, for the messages that say what to install.
PACKAGES = {
    QEMU: "qemu-system-arm",
    str(UBOOT_BIN): "u-boot-qemu",
    "ser2net": "ser2net",
    "telnet": "inetutils-telnet",
    "pdudaemon": "pdudaemon",
}


class BoardError(Exception):
    """Something about the board failed; the message says what, where and what to do."""


def tool(name: str) -> str | None:
    """The full path of a program, looked up in PATH and then in sbin."""
    path = os.pathsep.join([os.environ.get("PATH", os.defpath), *SBIN])
    return shutil.which(name, path=path)


def missing_packages(pdu: bool = False) -> list[str]:
    """The Debian packages the board needs and this host lacks."""
    wanted = [QEMU, str(UBOOT_BIN), "ser2net", "telnet", *(["pdudaemon"] if pdu else [])]
    absent = []
    for name in wanted:
        found = Path(name).is_file() if name.startswith("/") else tool(name)
        if not found:
            absent.append(PACKAGES[name])
    return absent


def require(pdu: bool = False) -> None:
    """Raise a BoardError naming the packages to install when one is missing."""
    absent = missing_packages(pdu)
    if absent:
        raise BoardError(
            f"the emulated board needs Debian packages that are not installed: {' '.join(absent)}"
            f" (apt-get install {' '.join(absent)})"
        )


def state_root() -> Path:
    """Where boards keep their state: ``${XDG_RUNTIME_DIR:-/tmp}/lava-board``."""
    return Path(os.environ.get("XDG_RUNTIME_DIR") or "/tmp") / "lava-board"


def tftpd_directory() -> Path | None:
    """TFTP_DIRECTORY from /etc/default/tftpd-hpa, as LAVA reads it."""
    try:
        text = TFTPD_DEFAULTS.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        key, _, value = line.strip().partition("=")
        if key == "TFTP_DIRECTORY" and value.strip("\"'"):
            return Path(value.strip("\"'"))
    return None


def default_tftp_root(state_dir: Path) -> Path:
    """The worker's TFTP root when this user may write it, else one inside the state directory."""
    configured = tftpd_directory()
    if configured is not None and os.access(configured, os.W_OK):
        return configured
    return state_dir / "tftp"


def check_name(name: str) -> str:
    """A board name usable in paths, QEMU's -name and ser2net's YAML."""
    if not NAME.fullmatch(name):
        raise BoardError(
            f"board name {name!r}: use 1-63 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return name
