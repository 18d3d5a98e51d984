"""The board's console driven the way LAVA's u-boot boot method drives it, for tests and benchmarks.

Connect with the device's ``connection_command`` (telnet to ser2net), stop
autoboot with one lone newline, send the commands base-uboot renders for a
raw ramdisk, ``booti``, and wait for the guest's shell.
"""

from __future__ import annotations

import re
import shlex

import pexpect

from tools.board.board import Board
from tools.board.config import SERVER_IP, BoardError

BANNER = r"U-Boot 20\d\d"
AUTOBOOT = "Hit any key to stop autoboot"
UBOOT_PROMPT = "=> "
STARTING_KERNEL = "Starting kernel"
LINUX_PROMPT = "root@lava-guest:~# "
BOOTARGS = "console=ttyAMA0,115200n8 root=/dev/ram0"
KERNEL_ADDR, RAMDISK_ADDR, DTB_ADDR = "0x40400000", "0x44000000", "0x40000000"
# U-Boot's messages that LAVA's u-boot method treats as a failed boot.
UBOOT_ERRORS = [
    "Resetting CPU",
    "Must RESET board to recover",
    "Retry count exceeded",
    "File not found",
    "Bad Linux ARM64 Image magic!",
    "Wrong Ramdisk Image Format",
    "Ramdisk image is corrupt or invalid",
    "ERROR: Failed to allocate",
    "TFTP error",
    "Kernel panic",
]


def connect(board: Board, timeout: float = 10.0) -> pexpect.spawn:
    """Open the console with the board's connection_command, as LAVA's ConnectDevice does."""
    argv = shlex.split(board.connection_command)
    console = pexpect.spawn(
        argv[0], argv[1:], encoding="utf-8", codec_errors="replace", timeout=timeout
    )
    expect(console, ["Escape character is '^]'."], timeout, f"telnet to {board.name}'s ser2net")
    return console


def expect(console: pexpect.spawn, wanted: list[str], timeout: float, what: str) -> int:
    """Wait for one of ``wanted`` (exact strings); an error message of U-Boot fails."""
    patterns = [re.escape(text) for text in wanted] + [re.escape(e) for e in UBOOT_ERRORS]
    try:
        index = console.expect(patterns, timeout=timeout)
    except pexpect.TIMEOUT:
        last = console.before[-300:]
        raise BoardError(f"no {what} in {timeout:g} s; last output: {last!r}") from None
    except pexpect.EOF:
        raise BoardError(
            f"console closed while waiting for {what}: {console.before[-300:]!r}"
        ) from None
    if index >= len(wanted):
        raise BoardError(f"U-Boot said {UBOOT_ERRORS[index - len(wanted)]!r} during {what}")
    return index


def stop_autoboot(console: pexpect.spawn, timeout: float = 60.0) -> None:
    """Wait for the autoboot countdown and stop it with one newline, then wait for ``=> ``.

    One key only: " " plus a newline leaves an empty command behind, a second
    prompt, and every later wait for the prompt then matches one too early.
    """
    expect(console, [AUTOBOOT], timeout, "U-Boot autoboot prompt")
    console.send("\n")
    expect(console, [UBOOT_PROMPT], 10, "U-Boot prompt")


def uboot(console: pexpect.spawn, command: str, timeout: float = 60.0) -> str:
    """Run one U-Boot command; return its output (without the echo)."""
    console.send(command + "\n")
    expect(console, [UBOOT_PROMPT], timeout, f"prompt after {command!r}")
    return console.before.split("\n", 1)[-1].strip()


def ramdisk_commands(board: Board, server_ip: str = SERVER_IP) -> list[str]:
    """What LAVA's base-uboot renders for a raw ramdisk, the board's DTB included."""
    return [
        "setenv autoload no",
        "setenv initrd_high 0xffffffff",
        "setenv fdt_high 0xffffffff",
        "dhcp",
        f"setenv serverip {server_ip}",
        f"tftp {KERNEL_ADDR} {board.kernel}",
        f"tftp {RAMDISK_ADDR} {board.ramdisk}",
        "setenv initrd_size ${filesize}",
        f"tftp {DTB_ADDR} {board.dtb}",
        f"setenv bootargs '{BOOTARGS}'",
    ]


def boot_linux(console: pexpect.spawn, board: Board, timeout: float = 120.0) -> None:
    """From the U-Boot prompt: TFTP the guest, ``booti`` it, wait for the shell prompt."""
    for command in ramdisk_commands(board):
        uboot(console, command)
    console.send(f"booti {KERNEL_ADDR} {RAMDISK_ADDR}:${{initrd_size}} {DTB_ADDR}\n")
    expect(console, [STARTING_KERNEL], 30, "'Starting kernel'")
    expect(console, [LINUX_PROMPT], timeout, "the guest's shell prompt")


def shell(console: pexpect.spawn, command: str, timeout: float = 20.0) -> str:
    """Run a command in the guest's shell; its output lines, joined."""
    console.send(command + "\n")
    expect(console, [LINUX_PROMPT], timeout, f"shell prompt after {command!r}")
    lines = console.before.replace("\r", "").split("\n")[1:]
    return "\n".join(line for line in lines if line.strip()).strip()
