"""The board itself: QEMU ``virt`` (arm64, TCG) running Debian's U-Boot, started and killed.

Power on starts QEMU; power off is SIGKILL, an abrupt cut with no shutdown,
as a relay in a PDU would do. QEMU's serial port is a TCP server on loopback
with ``wait=on``: the CPU starts only once ser2net has attached, so no output
of U-Boot is lost.
"""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from tools.board import procs
from tools.board.config import QEMU, UBOOT_BIN, BoardError, tool
from tools.board.ports import listening

if TYPE_CHECKING:
    from tools.board.board import Board

START_TIMEOUT = 10.0
OFF_TIMEOUT = 10.0


def option(value: object) -> str:
    """A value inside a QEMU ``key=value,...`` option, with its commas doubled."""
    return str(value).replace(",", ",,")


def machine_args(board: Board) -> list[str]:
    """The machine, the same for power-on and for dumping its device tree."""
    args = [
        "-name", board.name, "-M", "virt", "-accel", "tcg", "-cpu", "max,pauth=off",
        "-smp", "1", "-m", str(board.memory),
        "-nodefaults", "-no-user-config", "-display", "none",
    ]  # fmt: skip
    if board.firmware:
        args += ["-bios", str(UBOOT_BIN)]
    return [
        *args,
        "-netdev", f"user,id=n0,tftp={option(board.tftp_root)}",
        "-device", "virtio-net-device,netdev=n0",
    ]  # fmt: skip


def power_args(board: Board) -> list[str]:
    """The machine plus its serial socket for ser2net, a monitor and a pid file."""
    return [
        *machine_args(board),
        "-chardev",
        f"socket,id=ser0,host=127.0.0.1,port={board.qemu_port},server=on,wait=on",
        "-serial", "chardev:ser0",
        # Relative to QEMU's working directory (the state directory): unix socket
        # paths are limited to 107 bytes.
        "-monitor", "unix:monitor.sock,server=on,wait=off",
        "-pidfile", str(board.file("qemu.pid")),
    ]  # fmt: skip


def binary() -> str:
    found = tool(QEMU)
    if found is None:
        raise BoardError(f"{QEMU} not found: apt-get install qemu-system-arm")
    return found


def dump_dtb(board: Board, dest: Path) -> None:
    """Write the machine's device tree, from exactly the options it boots with.

    Without ``-bios`` QEMU's tree has an extra gpio-keys node, and a kernel
    given that tree on a board with U-Boot hangs silently after "Starting kernel".
    """
    proc = subprocess.run(
        [binary(), *machine_args(board), "-machine", f"dumpdtb={dest}"],
        cwd=board.state_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if proc.returncode != 0 or not dest.is_file():
        output = proc.stderr.strip() or proc.stdout.strip()
        raise BoardError(f"{board.name}: QEMU could not dump its device tree to {dest}: {output}")


def pids(board: Board) -> list[int]:
    """The live QEMU processes of this board (its pid file path and name on the command line)."""
    return procs.find(str(board.file("qemu.pid")), board.name)


def log_tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "(no log)"


def start(board: Board) -> int:
    """Power on: start QEMU in its own session; return its pid once its serial port listens."""
    running = pids(board)
    if running:
        return running[0]
    pidfile = board.file("qemu.pid")
    pidfile.unlink(missing_ok=True)
    log_path = board.file("qemu.log")
    with log_path.open("a") as log:
        log.write(f"=== power on {time.strftime('%F %T')}\n")
        log.flush()
        proc = subprocess.Popen(
            [binary(), *power_args(board)],
            cwd=board.state_dir,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        pid = procs.read_pid(pidfile)
        if pid is not None and listening(board.qemu_port):
            return pid
        if proc.poll() is not None:
            raise BoardError(
                f"{board.name}: QEMU exited with status {proc.returncode} at power on: "
                f"{log_tail(log_path)} (log: {log_path})"
            )
        if time.monotonic() > deadline:
            proc.kill()
            raise BoardError(
                f"{board.name}: QEMU did not open its serial port 127.0.0.1:{board.qemu_port} "
                f"in {START_TIMEOUT:g} s (log: {log_path})"
            )
        time.sleep(0.01)


def stop(board: Board) -> list[int]:
    """Power off: SIGKILL every QEMU of this board; return the pids that were running."""
    killed = pids(board)
    for pid in killed:
        procs.stop(pid, sig=signal.SIGKILL, grace=OFF_TIMEOUT)
    board.file("qemu.pid").unlink(missing_ok=True)
    board.file("monitor.sock").unlink(missing_ok=True)
    if killed:
        with board.file("qemu.log").open("a") as log:
            log.write(f"=== power off {time.strftime('%F %T')}\n")
    return killed
