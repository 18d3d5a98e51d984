"""The publisher's inbox, as the server's processes see it: a unix datagram socket to read."""

from __future__ import annotations

import socket
from pathlib import Path

from lava.server.events.messages import Event, unpack

JOB_TEXT = """\
job_name: events smoke
device_type: qemu
visibility: public
timeouts: {job: {minutes: 5}}
actions:
- boot: {method: qemu, media: tmpfs, prompts: ['# ']}
"""


class Inbox:
    """A bound datagram socket standing in for the publisher's inbox."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)

    def events(self) -> list[Event]:
        """Every event sent so far, in order."""
        found: list[Event] = []
        while True:
            try:
                found += unpack(self.sock.recv(1 << 20))
            except BlockingIOError:
                return found

    def close(self) -> None:
        self.sock.close()
        self.path.unlink(missing_ok=True)
