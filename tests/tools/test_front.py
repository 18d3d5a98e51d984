"""The lab's front (tools/front.py): a configuration nginx accepts, with the server's limits."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tools import front


def test_the_body_limit_lets_every_request_the_server_takes_through() -> None:
    # XML-RPC takes twice MAX_JOB_SIZE and room for its XML (api/xmlrpc/view.limit)
    assert front.body_limit(1024 * 1024) >= 2 * 1024 * 1024 + 64 * 1024
    assert front.body_limit(8 * 1024 * 1024) >= 16 * 1024 * 1024
    assert front.body_limit(1) == 2_621_440  # Django's own limit on form and JSON bodies


def test_nginx_accepts_the_configuration(tmp_path: Path) -> None:
    binary = front.nginx()
    if binary is None:
        pytest.fail("nginx is not installed: `make deps` installs it")
    directory = tmp_path / "front"
    path = front.write(
        directory,
        tmp_path / "logs",
        8123,
        tmp_path / "web.sock",
        3 << 20,
        publisher=tmp_path / "publisher.sock",
    )
    text = path.read_text()
    # the events' websocket: upgraded, unbuffered, to the publisher's socket
    assert f"proxy_pass http://unix:{tmp_path / 'publisher.sock'}:;" in text
    assert "proxy_set_header Upgrade $http_upgrade;" in text
    assert f"limit_conn events_per_address {front.WS_PER_ADDRESS};" in text
    assert "proxy_request_buffering on;" in text
    assert f"client_header_timeout {front.HEADER_TIMEOUT}s;" in text
    assert "client_max_body_size 3145728;" in text
    assert "proxy_set_header X-Forwarded-For $remote_addr;" in text
    assert f"unix:{tmp_path / 'web.sock'}" in text
    for name in front.TEMPORARY:  # nothing of the front's outside its directory
        assert (directory / name).is_dir()
    checked = subprocess.run(
        [binary, "-t", "-p", str(directory), "-c", str(path), "-e", str(tmp_path / "check.log")],
        capture_output=True,
        text=True,
    )
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
