"""The board's PDU: our own pdudaemon with one ``localcmdline`` PDU whose outlet runs the scripts.

Debian's packaged unit runs with ``DynamicUser=yes`` (its commands could not
start our QEMU) and listens on every address, so each board with a PDU runs
its own pdudaemon on a loopback port, without systemd. The daemon answers a
request only after the power script has finished.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from typing import TYPE_CHECKING, Any

from tools.board import procs
from tools.board.config import BoardError, tool
from tools.board.ports import wait_listening

if TYPE_CHECKING:
    from tools.board.board import Board

START_TIMEOUT = 20.0


def command(board: Board, script: str) -> str:
    """A localcmdline command: pdudaemon fills ``%s`` with the outlet and runs it with a shell."""

    def quote(name: str) -> str:
        return shlex.quote(str(board.file(name))).replace("%", "%%")

    return f"{quote(script)} %s >> {quote('pdu-commands.log')} 2>&1"


def config(board: Board) -> dict[str, Any]:
    """pdudaemon's configuration for this board's PDU."""
    return {
        "daemon": {
            "hostname": "127.0.0.1",
            "port": board.pdu_port,
            "logging_level": "INFO",
            "listener": "tcp",
        },
        "pdus": {
            board.pdu_name: {
                "driver": "localcmdline",
                "cmd_on": command(board, "power-on"),
                "cmd_off": command(board, "power-off"),
            }
        },
    }


def marker(board: Board) -> str:
    return f"--conf={board.file('pdudaemon.conf')}"


def pids(board: Board) -> list[int]:
    """The live pdudaemon processes of this board."""
    return procs.find(marker(board))


def start(board: Board) -> int:
    """Start pdudaemon detached from us (``setsid -f``) and return its pid once it listens."""
    running = pids(board)
    if running:
        return running[0]
    binary = tool("pdudaemon")
    if binary is None:
        raise BoardError("pdudaemon not found: apt-get install pdudaemon, or set up without --pdu")
    board.file("pdudaemon.conf").write_text(json.dumps(config(board), indent=2) + "\n")
    log_path = board.file("pdudaemon.log")
    argv = [binary, marker(board), f"--logfile={log_path}", "--loglevel=INFO"]
    with board.file("pdudaemon.out").open("a") as out:
        # setsid -f forks: the daemon is nobody's child here, whoever runs setup.
        subprocess.run(
            ["setsid", "-f", *argv], stdin=subprocess.DEVNULL, stdout=out, stderr=out, check=True
        )
    if not wait_listening(board.pdu_port, lambda: bool(pids(board)), START_TIMEOUT):
        raise BoardError(
            f"{board.name}: pdudaemon did not listen on 127.0.0.1:{board.pdu_port} in "
            f"{START_TIMEOUT:g} s (see {log_path} and {board.file('pdudaemon.out')})"
        )
    return pids(board)[0]


def stop(board: Board) -> list[int]:
    """Stop this board's pdudaemon; return the pids that were running."""
    stopped = pids(board)
    for pid in stopped:
        procs.stop(pid, grace=3.0)
    return stopped
