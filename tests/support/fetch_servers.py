"""Real local HTTP servers for the fetch-policy tests: files, redirects, a directory, a proxy.

Each records the requests it got, so a test can show that a refused fetch
never reached the server it aimed at.
"""

from __future__ import annotations

import contextlib
import functools
import os
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


class Site(ThreadingHTTPServer):
    """A server on `host`: fixed answers by path, else the files under `directory`."""

    daemon_threads = True

    def __init__(self, host: str, directory: Path | None = None) -> None:
        handler = functools.partial(Handler, directory=str(directory or os.devnull))
        super().__init__((host, 0), handler)
        self.host = host
        self.answers: dict[str, tuple[int, bytes, dict[str, str]]] = {}
        self.requests: list[str] = []
        self.guard = threading.Lock()

    def url(self, path: str = "/", host: str | None = None) -> str:
        name = host or self.host
        name = f"[{name}]" if ":" in name else name
        return f"http://{name}:{self.server_port}{path}"

    def put(self, path: str, body: bytes) -> str:
        self.answers[path] = (200, body, {"Content-Type": "application/octet-stream"})
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.answers[path] = (status, b"", {"Location": location})
        return self.url(path)

    def seen(self) -> list[str]:
        """The paths (with their query) asked for so far: the absolute URL through a proxy."""
        with self.guard:
            return list(self.requests)


class Handler(SimpleHTTPRequestHandler):
    server: Site

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_HEAD(self) -> None:
        self.answer(send_body=False)

    def do_GET(self) -> None:
        self.answer(send_body=True)

    def answer(self, send_body: bool) -> None:
        with self.server.guard:
            self.server.requests.append(self.path)
        path = self.path.split("?", 1)[0]
        if path.startswith("http://"):  # as a proxy: the absolute URL is the request
            path = "/proxied"
        found = self.server.answers.get(path)
        if found is None:
            (super().do_GET if send_body else super().do_HEAD)()
            return
        status, body, headers = found
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if send_body:
            self.wfile.write(body)


@contextlib.contextmanager
def site(host: str = "127.0.0.1", directory: Path | None = None) -> Iterator[Site]:
    """A running `Site` on `host`, shut down afterwards."""
    server = Site(host, directory)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
