"""The worker's HTTP client: what counts as unreachable, what as refused, the retry loop, and
the log batches it sends."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

import lava
from lava.worker import client as client_module
from lava.worker.client import Client, Refused, Unreachable, log_batch, retrying

SEEN: list[dict[str, Any]] = []


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        SEEN.append({"path": parts.path, "query": parse_qs(parts.query), **dict(self.headers)})
        status, body = {
            "/scheduler/internal/v1/workers/ok/": (200, json.dumps({"start": []})),
            "/scheduler/internal/v1/workers/gone/": (404, json.dumps({"error": "Unknown worker"})),
            "/scheduler/internal/v1/workers/broken/": (500, "<h1>oops</h1>"),
            "/scheduler/internal/v1/workers/html/": (200, "<h1>a proxy page</h1>"),
        }[parts.path]
        self.send_response(status)
        self.end_headers()
        self.wfile.write(body.encode())

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        SEEN.append({"path": self.path, "body": body, **dict(self.headers)})
        sent = json.loads(body)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(
            json.dumps({"line_count": sent["index"] + sent["lines"].count("\n")}).encode()
        )

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()


def test_answers_and_refusals(server: str) -> None:
    client = Client(server, timeout=5)
    SEEN.clear()
    assert client.ping("ok", "tok", wait=2.5, seen="abc") == {"start": []}
    request = SEEN[-1]
    assert request["LAVA-Token"] == "tok"
    assert request["query"] == {"version": [lava.__version__], "wait": ["2.5"], "seen": ["abc"]}
    with pytest.raises(Refused) as refused:
        client.ping("gone", "tok")
    assert (refused.value.status, refused.value.message) == (404, "Unknown worker")
    with pytest.raises(Unreachable, match="HTTP 500"):
        client.ping("broken", "tok")
    with pytest.raises(Unreachable, match="not a JSON object"):
        client.ping("html", "tok")


def test_nobody_listening_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(Unreachable, match="ConnectionError"):
        Client(f"http://127.0.0.1:{port}/", timeout=2).ping("ok", "tok")


def test_retrying(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(client_module, "BACKOFF_FIRST", 0.001)
    monkeypatch.setattr(client_module, "BACKOFF_MAX", 0.004)
    stop = threading.Event()
    messages: list[str] = []
    attempts = iter([Unreachable("a"), Unreachable("b"), "done"])

    def call() -> str:
        outcome = next(attempts)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    assert retrying(call, stop, "sending", messages.append) == "done"
    assert len(messages) == 1 and "server unreachable" in messages[0]

    def refuse() -> None:
        raise Refused(400, "Invalid 'token'")

    with pytest.raises(Refused):
        retrying(refuse, stop, "sending", messages.append)
    stop.set()
    assert retrying(lambda: "never", stop, "sending", messages.append) is None


def test_the_environments_proxy_is_used_and_no_proxy_honoured(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The test server stands for a proxy: it sees the absolute URL a proxy is sent.
    monkeypatch.setenv("HTTP_PROXY", server)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    SEEN.clear()
    Client("http://lava.invalid/", timeout=5).ping("ok", "tok")
    assert SEEN[-1]["Host"] == "lava.invalid", "sent through the proxy"
    monkeypatch.setenv("NO_PROXY", "lava.invalid")
    with pytest.raises(Unreachable):  # straight to a name that does not resolve
        Client("http://lava.invalid/", timeout=5).ping("ok", "tok")


def test_log_lines_are_sent_as_a_json_object(server: str) -> None:
    lines = '- {"dt": "2026-01-05T10:00:00", "lvl": "target", "msg": "100% \\ ünï &=+"}\n' * 3
    SEEN.clear()
    assert Client(server, timeout=5).send_logs(12, "tok", 7, lines) == 10
    request = SEEN[-1]
    assert request["path"] == "/scheduler/internal/v1/jobs/12/logs/"
    assert (request["Content-Type"], request["LAVA-Token"]) == ("application/json", "tok")
    assert json.loads(request["body"]) == {"index": 7, "lines": lines}
    assert request["body"] == log_batch(7, lines) and request["body"].isascii()
