"""The emulated U-Boot board: power-on to the U-Boot and Linux prompts, through the lab.

Each run powers the board on with its power command, waits for the autoboot
prompt on the telnet session through ser2net (opened once, kept across power
cycles as LAVA keeps it), stops autoboot, TFTPs the arm64 guest, ``booti``s it
and waits for the shell prompt, then powers off. The baseline runs the same
U-Boot and Linux steps on the same machine with its serial port on QEMU's
stdio: no ser2net, telnet, power scripts or pdudaemon.

Usage: .venv/bin/python -m bench.board_boot [--runs N] [--pdu]
The last line is one JSON object: power_on_s (the power command), uboot_s,
linux_s (medians through the lab, counted from the power command's start),
direct_uboot_s, direct_linux_s (the baseline, from QEMU's start), ratio
(linux_s / direct_linux_s).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import pexpect

from tools.board import Board, console, files, qemu


def through_lab(board: Board, session: pexpect.spawn) -> tuple[float, float, float]:
    start = time.monotonic()
    board.power_on()
    power = time.monotonic() - start
    console.stop_autoboot(session)
    uboot = time.monotonic() - start
    console.boot_linux(session, board)
    linux = time.monotonic() - start
    board.power_off()
    return power, uboot, linux


def direct(board: Board) -> tuple[float, float]:
    start = time.monotonic()
    child = pexpect.spawn(
        qemu.binary(),
        [*qemu.machine_args(board), "-serial", "stdio"],
        encoding="utf-8",
        codec_errors="replace",
        timeout=60,
    )
    try:
        console.stop_autoboot(child)
        uboot = time.monotonic() - start
        console.boot_linux(child, board)
        linux = time.monotonic() - start
    finally:
        child.close(force=True)
    return uboot, linux


def row(label: str, values: list[float]) -> str:
    median = statistics.median(values)
    return f"{label:<40} {median:>9.2f} {min(values):>7.2f} {max(values):>7.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5, help="runs of each (default 5)")
    parser.add_argument("--pdu", action="store_true", help="power through pdudaemon")
    args = parser.parse_args()

    guest = files.arm64_guest()
    work = Path(tempfile.mkdtemp(prefix="bench-board-"))
    board = Board("bench-board", state_dir=work / "board", tftp_root=work / "tftp",
                  guest_dir=guest, pdu=args.pdu)  # fmt: skip
    lab: list[tuple[float, float, float]] = []
    raw: list[tuple[float, float]] = []
    try:
        board.setup()
        session = console.connect(board)
        # One warm-up run of each fills the page cache.
        through_lab(board, session)
        direct(board)
        for _ in range(args.runs):
            lab.append(through_lab(board, session))
            raw.append(direct(board))
        session.close(force=True)
    finally:
        board.teardown()
        shutil.rmtree(work, ignore_errors=True)

    power = "pdudaemon" if args.pdu else "power scripts"
    print(f"n={args.runs}; seconds from power-on")
    print(f"{'what':<40} {'median s':>9} {'min s':>7} {'max s':>7}")
    print(row(f"power-on command ({power})", [p for p, _, _ in lab]))
    print(row(f"U-Boot prompt (ser2net, {power})", [u for _, u, _ in lab]))
    print(row("U-Boot prompt (QEMU stdio)", [u for u, _ in raw]))
    print(row(f"Linux prompt (ser2net, {power})", [linux for _, _, linux in lab]))
    print(row("Linux prompt (QEMU stdio)", [linux for _, linux in raw]))
    result = {
        "power_on_s": statistics.median(p for p, _, _ in lab),
        "uboot_s": statistics.median(u for _, u, _ in lab),
        "linux_s": statistics.median(linux for _, _, linux in lab),
        "direct_uboot_s": statistics.median(u for u, _ in raw),
        "direct_linux_s": statistics.median(linux for _, linux in raw),
    }
    result["ratio"] = result["linux_s"] / result["direct_linux_s"]
    print(f"{'ratio lab / stdio, Linux prompt':<40} {result['ratio']:>9.2f}")
    print(json.dumps({key: round(value, 3) for key, value in result.items()}))


if __name__ == "__main__":
    main()
