"""The worker's side of the server's internal API (``/scheduler/internal/v1/``).

Every call either returns the decoded JSON answer or raises one of two errors:
`Unreachable` (no answer, a 5xx, a proxy error: worth retrying) or `Refused`
(the server answered 4xx: retrying the same request will not help).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import requests

import lava

API = "scheduler/internal/v1"
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0
BACKOFF_FIRST, BACKOFF_MAX = 0.5, 5.0

T = TypeVar("T")


class Unreachable(ConnectionError):
    """The server did not answer, or answered with a server error."""


class Refused(RuntimeError):
    """The server answered and said no (4xx); ``status`` and the server's message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


def log_batch(index: int, lines: str) -> bytes:
    """The body of a log batch: JSON, encoded in C in ~1 ms for 1,000 lines (as a form,
    ``urllib``'s quoting, in Python, took ~5 ms: a worker's cap was ~200,000 lines/s)."""
    return json.dumps({"index": index, "lines": lines}).encode("ascii")


class Client:
    """One HTTP session to the server; not shared between threads."""

    def __init__(self, url: str, timeout: float = READ_TIMEOUT) -> None:
        self.base = url.rstrip("/") + "/" + API
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["User-Agent"] = f"lava-worker/{lava.__version__}"
        # The environment's proxy and CA settings, read once: requests reads them at every
        # call otherwise (a tenth of the worker's CPU per job). No netrc: the token is ours.
        self.session.trust_env = False
        self.session.proxies = requests.utils.get_environ_proxies(self.base)
        bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
        if bundle:
            self.session.verify = bundle

    def _call(
        self,
        method: str,
        path: str,
        token: str,
        read_timeout: float | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        url = f"{self.base}/{path}"
        try:
            answer = self.session.request(
                method,
                url,
                headers={"LAVA-Token": token, **(headers or {})},
                timeout=(CONNECT_TIMEOUT, read_timeout or self.timeout),
                **kwargs,
            )
        except requests.RequestException as exc:
            raise Unreachable(f"{method} {url}: {exc.__class__.__name__}: {exc}") from exc
        if answer.status_code >= 500:
            raise Unreachable(f"{method} {url}: HTTP {answer.status_code}")
        try:
            data = answer.json()
        except ValueError:
            data = None
        if answer.status_code >= 400:
            message = data.get("error") if isinstance(data, dict) else None
            raise Refused(answer.status_code, str(message or answer.text[:200]))
        if not isinstance(data, dict):
            raise Unreachable(f"{method} {url}: the answer is not a JSON object")
        return data

    def ping(self, name: str, token: str, wait: float = 0.0, seen: str = "") -> dict[str, Any]:
        """The jobs to start, cancel and keep running (a long poll when ``wait`` > 0)."""
        params = {"version": lava.__version__, "wait": f"{wait:g}", "seen": seen}
        return self._call(
            "GET", f"workers/{name}/", token, read_timeout=self.timeout + wait, params=params
        )

    def job_files(self, job_id: int, token: str) -> dict[str, Any]:
        """Definition, rendered device, dispatcher and environment YAML of a job."""
        return self._call("GET", f"jobs/{job_id}/", token)

    def job_running(self, job_id: int, token: str) -> dict[str, Any]:
        return self._call("POST", f"jobs/{job_id}/", token, data={"state": "RUNNING"})

    def job_start(self, job_id: int, token: str) -> dict[str, Any]:
        """Report the job Running and get its files (`job_files`), in one call."""
        data = {"state": "RUNNING", "files": "1"}
        return self._call("POST", f"jobs/{job_id}/", token, data=data)

    def job_finished(
        self, job_id: int, token: str, fields: dict[str, str], index: int = 0, lines: str = ""
    ) -> dict[str, Any]:
        """Report the end; with ``lines``, the log's last lines from line ``index`` first (the
        answer then has the server's ``line_count``)."""
        data = {"state": "FINISHED", **fields}
        if lines:
            data |= {"index": str(index), "lines": lines}
        return self._call("POST", f"jobs/{job_id}/", token, data=data)

    def send_logs(self, job_id: int, token: str, index: int, lines: str) -> int:
        """Send lines from line ``index``; the number of lines the server now has."""
        data = self._call(
            "POST",
            f"jobs/{job_id}/logs/",
            token,
            data=log_batch(index, lines),
            headers={"Content-Type": "application/json"},
        )
        return int(data["line_count"])

    def close(self) -> None:
        self.session.close()


def retrying(
    call: Callable[[], T],
    stop: threading.Event,
    what: str,
    log: Callable[[str], None],
) -> T | None:
    """Call until the server answers; back off while it is unreachable.

    `Refused` goes through to the caller. None when ``stop`` is set first.
    """
    delay = BACKOFF_FIRST
    failures = 0
    while not stop.is_set():
        try:
            return call()
        except Unreachable as exc:
            failures += 1
            if failures == 1 or failures % 10 == 0:
                log(f"{what}: server unreachable ({exc}); retrying every {delay:g} s or less")
            stop.wait(delay)
            delay = min(delay * 2, BACKOFF_MAX)
    return None
