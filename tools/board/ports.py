"""Free TCP ports on 127.0.0.1 for a board: its telnet console, QEMU's serial socket, its PDU.

Ports come from below the kernel's ephemeral range, so an outgoing connection
never holds one as its source port while the board is off and QEMU's listening
socket is closed.
"""

from __future__ import annotations

import contextlib
import random
import socket
import time
from collections.abc import Callable, Collection
from pathlib import Path

LOWEST = 20000
EPHEMERAL = Path("/proc/sys/net/ipv4/ip_local_port_range")


def ephemeral_start() -> int:
    """The first port the kernel hands out for outgoing connections."""
    try:
        return int(EPHEMERAL.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def bindable(port: int) -> bool:
    """Whether a listening socket could take 127.0.0.1:port now."""
    with socket.socket() as sock:
        # As QEMU, ser2net and pdudaemon bind: a connection of the last power cycle in
        # TIME_WAIT does not block the port.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_ports(count: int, taken: Collection[int] = (), keep: Collection[int] = ()) -> list[int]:
    """``count`` distinct free ports, preferring those in ``keep``, never one in ``taken``."""
    chosen = [port for port in keep if port and port not in taken and bindable(port)][:count]
    top = max(ephemeral_start(), LOWEST + 1000)
    rng = random.Random()
    for _ in range(1000):
        if len(chosen) == count:
            return chosen
        port = rng.randrange(LOWEST, top)
        if port not in chosen and port not in taken and bindable(port):
            chosen.append(port)
    raise RuntimeError(f"no {count} free TCP ports on 127.0.0.1 in {LOWEST}-{top}")


def listening(port: int) -> bool:
    """Whether some process listens on TCP port ``port`` on loopback or any address."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    return True
    return False


def wait_listening(port: int, started: Callable[[], bool], timeout: float) -> bool:
    """Wait until a daemon is ``started`` and listens on ``port``; False after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not (listening(port) and started()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True
