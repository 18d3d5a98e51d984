"""What the generated ``power-on``, ``power-off`` and ``hard-reset`` scripts run."""

from __future__ import annotations

import argparse
import sys
import time

from tools.board import qemu
from tools.board.board import Board
from tools.board.config import BoardError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Power one emulated board on, off or reset.")
    parser.add_argument("action", choices=["on", "off", "reset"])
    parser.add_argument("state_dir", help="the board's state directory")
    parser.add_argument("outlet", nargs="?", help="PDU outlet (from pdudaemon)")
    args = parser.parse_args(argv)
    try:
        board = Board.load(args.state_dir)
        if args.outlet is not None and args.outlet.lstrip("0") != str(board.pdu_outlet):
            raise BoardError(f"{board.name}: nothing is plugged into outlet {args.outlet}")
        if args.action in ("off", "reset"):
            killed = qemu.stop(board)
            print(f"{board.name}: off" + (f" (killed QEMU {killed[0]})" if killed else ""))
        if args.action == "reset":
            time.sleep(board.reset_delay)
        if args.action in ("on", "reset"):
            print(f"{board.name}: on (QEMU {qemu.start(board)})")
    except BoardError as error:
        print(f"power {args.action}: {error}", file=sys.stderr)
        return 1
    return 0
