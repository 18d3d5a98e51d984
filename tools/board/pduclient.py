#!/usr/bin/env python3
"""pduclient: ask a pdudaemon to switch a PDU outlet, with the options of LAVA's pduclient.

    pduclient --daemon HOST[:PORT] --hostname PDU --port OUTLET --command on|off|reboot [--delay N]

It speaks pdudaemon's TCP listener protocol: one request "PDU OUTLET COMMAND
[DELAY]", answered "ack" once the outlet has switched, or "nack". Unlike the
upstream client it sends ``--delay 0`` (upstream drops a zero delay, and then
pdudaemon's reboot waits its default 5 s). Debian's pdudaemon ships no client.
Standard library only: it runs with any python3.
"""

from __future__ import annotations

import argparse
import socket
import sys

DAEMON_PORT = 16421  # pdudaemon's listener, fixed in the upstream client


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pduclient", description=__doc__.splitlines()[0])
    parser.add_argument("--daemon", required=True, help=f"pdudaemon's host[:port] ({DAEMON_PORT})")
    parser.add_argument("--hostname", required=True, help="the PDU's name in pdudaemon.conf")
    parser.add_argument("--port", required=True, help="the outlet")
    parser.add_argument("--command", required=True, choices=["on", "off", "reboot"])
    parser.add_argument("--delay", type=int, help="seconds before on/off; off time of a reboot")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the ack")
    return parser.parse_args(argv)


def address(daemon: str) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` as a socket address."""
    host, sep, port = daemon.rpartition(":")
    if sep and port.isdigit() and (host.endswith("]") or ":" not in host):
        return host.strip("[]"), int(port)
    return daemon.strip("[]"), DAEMON_PORT


def request(args: argparse.Namespace) -> str:
    words = [args.hostname, args.port, args.command]
    if args.delay is not None:
        words.append(str(args.delay))
    return " ".join(words)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    host, port = address(args.daemon)
    line = request(args)
    try:
        with socket.create_connection((host, port), timeout=args.timeout) as sock:
            sock.sendall(line.encode())
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := sock.recv(4096):
                chunks.append(chunk)
    except OSError as error:
        print(f"pduclient: no answer from pdudaemon at {host}:{port}: {error}", file=sys.stderr)
        return 1
    reply = b"".join(chunks).decode(errors="replace").strip()
    if reply == "ack":
        print(f"pduclient: {line}: ack")
        return 0
    print(f"pduclient: pdudaemon at {host}:{port} refused '{line}': {reply or 'no reply'}",
          file=sys.stderr)  # fmt: skip
    return 1


if __name__ == "__main__":
    sys.exit(main())
