"""``python -m tools.board``: set up, power and tear down an emulated U-Boot board from a shell."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tools.board.board import Board
from tools.board.config import DEFAULT_NAME, DEVICE_TYPE, BoardError, state_root


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m tools.board", description="An emulated U-Boot board (tools/board)."
    )
    parser.add_argument("action", choices=["setup", "teardown", "status", "on", "off", "reset"])
    parser.add_argument("--name", default=DEFAULT_NAME, help=f"board name ({DEFAULT_NAME})")
    parser.add_argument("--dir", type=Path, help=f"state directory ({state_root()}/NAME)")
    setup = parser.add_argument_group("setup")
    setup.add_argument("--tftp-root", type=Path, help="the worker's TFTP root")
    setup.add_argument("--guest-dir", type=Path, help="vmlinuz + initrd.gz (the arm64 guest)")
    setup.add_argument("--serial-port", type=int, default=0, help="telnet port (0: any free)")
    setup.add_argument("--pdu", action="store_true", help="power through our own pdudaemon")
    setup.add_argument("--reset-delay", type=int, default=1, help="seconds off in a hard reset")
    setup.add_argument(
        "--no-firmware", dest="firmware", action="store_false",
        help="no U-Boot: the board powers on and prints nothing (a fault)",
    )  # fmt: skip
    return parser.parse_args(argv)


def describe(board: Board) -> str:
    status = board.status()
    lines = [
        f"board {board.name}: {'on' if status.on else 'off'}; state in {board.state_dir}",
        f"  console:     {board.connection_command}  (ser2net {pids(status.ser2net)};"
        f" QEMU's serial socket 127.0.0.1:{board.qemu_port})",
        f"  power on:    {board.power_on_command}",
        f"  power off:   {board.power_off_command}",
        f"  hard reset:  {board.hard_reset_command}",
    ]
    if board.pdu:
        lines.append(
            f"  pdudaemon:   127.0.0.1:{board.pdu_port} {pids(status.pdudaemon)},"
            f" PDU {board.pdu_name} outlet {board.pdu_outlet}"
        )
    lines += [
        f"  QEMU:        {pids(status.qemu)}",
        f"  TFTP root:   {board.tftp_root}  ({board.kernel}, {board.ramdisk}, {board.dtb})",
        f"  device dictionary: {board.device_dictionary_path}  (extends {DEVICE_TYPE}.jinja2)",
        f"  jobs:        {board.file('board-uboot.yaml')}, {board.file('health-check.yaml')}",
        "  worker's dispatcher.yaml: "
        + ", ".join(f"{k}: {v}" for k, v in board.dispatcher_config().items()),
    ]
    return "\n".join(lines)


def usage(board: Board) -> str:
    """How to use a board that was just set up."""
    cli = "python -m tools.board"
    if board.state_dir != state_root() / board.name:
        cli += f" --dir {board.state_dir}"
    elif board.name != DEFAULT_NAME:
        cli += f" --name {board.name}"
    return "\n".join([
        "How to use it:",
        f"  {board.connection_command}    the console (Ctrl-] then `quit` leaves it)",
        f"  {cli} on|off|reset|status    power, as the device dictionary does",
        "  at `=> `: dhcp; setenv serverip 10.0.2.2; tftp 0x40400000 "
        f"{board.kernel}; ... (tools/board/README.md)",
        f"  in a lab: install {board.device_dictionary_path.name} as the device's dictionary,"
        " add the dispatcher.yaml keys above to the worker",
        f"  {cli} teardown    stops it (make board-stop)",
    ])  # fmt: skip


def pids(found: list[int]) -> str:
    return "pid " + ", ".join(map(str, found)) if found else "not running"


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    state_dir = args.dir or state_root() / args.name
    try:
        if args.action == "setup":
            board = Board(
                name=args.name,
                state_dir=state_dir,
                tftp_root=args.tftp_root,
                guest_dir=args.guest_dir,
                serial_port=args.serial_port,
                pdu=args.pdu,
                firmware=args.firmware,
                reset_delay=args.reset_delay,
            ).setup()
            print(describe(board))
            print(usage(board))
        elif args.action == "teardown":
            if (state_dir / "board.json").is_file():
                board = Board.load(state_dir)
            else:
                board = Board(name=args.name, state_dir=state_dir)
            before = board.status()
            board.teardown()
            print(f"board {board.name}: stopped {pids(before.pids)}; files kept in {state_dir}")
        else:
            board = Board.load(state_dir)
            if args.action != "status":
                action = {"on": board.power_on, "off": board.power_off, "reset": board.hard_reset}
                print(action[args.action]() or f"{board.name}: {args.action}")
            print(describe(board))
    except BoardError as error:
        print(f"tools.board: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
