"""An emulated U-Boot board for tests, the demo and benchmarks: a real LAVA board, on one host.

QEMU ``virt`` (arm64, TCG) runs Debian's U-Boot; its UART is served over
telnet by ser2net, as a lab's console server does; power is a set of
generated scripts, optionally behind our own pdudaemon. U-Boot fetches the
kernel and ramdisk with TFTP from QEMU's built-in server (10.0.2.2), which
serves the worker's TFTP root. See tools/board/README.md.

    board = Board("sim-arm64-01").setup()
    board.power_on(); ...; board.teardown()

``python -m tools.board setup|teardown|status|on|off|reset`` does the same from a shell.
"""

from __future__ import annotations

from tools.board.board import Board, BoardStatus
from tools.board.config import DEVICE_TYPE, SERVER_IP, BoardError, missing_packages

__all__ = ["DEVICE_TYPE", "SERVER_IP", "Board", "BoardError", "BoardStatus", "missing_packages"]
