"""The board's serial server: one ser2net per board, telnet on loopback, QEMU's UART behind it.

ser2net plays the console server of a real lab. Its ``keepopen`` connector
retries QEMU's serial socket every 100 ms, so the telnet session outlives
power cycles and the port exists while the board is off (LAVA connects
before it powers the board on). ``discard-badwrites`` drops keys typed while
the board is off, as an unpowered UART does; without it ser2net replays them
at power-on and they stop U-Boot's autoboot. ``kickolduser`` lets a new
session take the port from a stale one.
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING

from tools.board import procs
from tools.board.config import BoardError, tool
from tools.board.ports import wait_listening

if TYPE_CHECKING:
    from tools.board.board import Board

START_TIMEOUT = 10.0


def config_text(board: Board) -> str:
    """ser2net's YAML configuration for this board."""
    return f"""%YAML 1.1
---
# ser2net for the emulated board {board.name}, written by `python -m tools.board setup`.
connection: &{board.name}
  accepter: telnet,tcp,127.0.0.1,{board.serial_port}
  connector: keepopen(retry-time=100,discard-badwrites),tcp,127.0.0.1,{board.qemu_port}
  enable: on
  options:
    kickolduser: true
"""


def pids(board: Board) -> list[int]:
    """The live ser2net processes serving this board's configuration."""
    return procs.find(str(board.file("ser2net.yaml")))


def start(board: Board) -> int:
    """Start ser2net (it detaches itself) and return its pid once it listens."""
    running = pids(board)
    if running:
        return running[0]
    binary = tool("ser2net")
    if binary is None:
        raise BoardError("ser2net not found: apt-get install ser2net")
    config = board.file("ser2net.yaml")
    config.write_text(config_text(board))
    pidfile = board.file("ser2net.pid")
    log_path = board.file("ser2net.log")
    # Output goes to a file: the daemon keeps it open, so a pipe would never end.
    with log_path.open("a") as log:
        proc = subprocess.run(
            [binary, "-c", str(config), "-P", str(pidfile)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            timeout=START_TIMEOUT,
        )
    if proc.returncode != 0:
        raise BoardError(
            f"{board.name}: ser2net failed with status {proc.returncode} (log: {log_path})"
        )
    if not wait_listening(board.serial_port, lambda: bool(pids(board)), START_TIMEOUT):
        raise BoardError(
            f"{board.name}: ser2net did not listen on 127.0.0.1:{board.serial_port} in "
            f"{START_TIMEOUT:g} s (log: {log_path}; is the port taken?)"
        )
    return pids(board)[0]


def stop(board: Board) -> list[int]:
    """Stop this board's ser2net; return the pids that were running."""
    stopped = pids(board)
    for pid in stopped:
        # With a broken configuration ser2net has been seen to ignore SIGTERM.
        procs.stop(pid, grace=3.0)
    board.file("ser2net.pid").unlink(missing_ok=True)
    return stopped
