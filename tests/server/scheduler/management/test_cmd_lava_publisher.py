"""``lava-server manage lava-publisher``: where it listens, one per inbox, a clean stop."""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

LAVA_SERVER = Path(sys.executable).with_name("lava-server")
command = importlib.import_module("lava.server.scheduler.management.commands.lava-publisher")


@pytest.mark.parametrize(
    ("options", "bind"),
    [
        ({}, "127.0.0.1:8001"),
        ({"bind": "unix:/run/ws.sock"}, "unix:/run/ws.sock"),
        ({"host": "*", "port": 9000}, "*:9000"),  # LAVA's unit: --host "*" --port 8001
        ({"host": "0.0.0.0"}, "0.0.0.0:8001"),
        ({"port": 9001}, "127.0.0.1:9001"),
        ({"host": "::"}, "[::]:8001"),
    ],
)
def test_where_it_listens(options: dict, bind: str) -> None:
    given = {"bind": None, "host": None, "port": None} | options
    assert command._bind(given, "127.0.0.1:8001") == bind


def test_a_bad_address_is_refused_before_anything_starts() -> None:
    with pytest.raises(CommandError, match="HOST:PORT or unix:PATH"):
        call_command("lava-publisher", "--bind", "localhost")


@pytest.fixture
def instance() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="pub-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def start(instance: Path, name: str) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LAVA_")}
    env |= {"LAVA_SETTINGS": os.devnull, "LAVA_DATA_DIR": str(instance)}
    return subprocess.Popen(
        [str(LAVA_SERVER), "manage", "lava-publisher", "--bind", f"unix:{instance / name}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def health(path: Path) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(path))
        sock.sendall(b"GET /ws/v1/healthz HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n")
        return sock.recv(65536)


def test_it_serves_stops_on_sigterm_and_leaves_no_socket(instance: Path) -> None:
    first = start(instance, "ws.sock")
    try:
        deadline = time.monotonic() + 30
        while not (instance / "ws.sock").exists():
            assert first.poll() is None, first.communicate()[0]
            assert time.monotonic() < deadline, "the publisher did not start"
            time.sleep(0.1)
        assert health(instance / "ws.sock").startswith(b"HTTP/1.1 200 ")
        second = start(instance, "ws2.sock")  # the same inbox
        out, _ = second.communicate(timeout=60)
        assert second.returncode == 1 and "another lava-publisher reads" in out, out
        first.send_signal(signal.SIGTERM)
        out, _ = first.communicate(timeout=20)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == 0, out
    assert "lava-publisher stopping" in out
    assert not (instance / "ws.sock").exists() and not (instance / "events.sock").exists()
