"""Slow clients cannot starve the lab (issue 11, class 6 and acceptance 3).

A client that sends its request a byte at a time used to hold a gunicorn
thread for as long as it kept sending: sixteen of them took every thread, so
the APIs stopped answering and the workers' pings (which share those threads)
stopped landing. The lab's front (tools/front.py) reads every request whole
before gunicorn sees it. Here real sockets trickle real requests at the lab
while an ordinary user's calls are timed and the worker is watched.
"""

from __future__ import annotations

import datetime
import itertools
import socket
import threading
import time
import xmlrpc.client
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import requests

from tools import front

pytestmark = pytest.mark.slow

# A held ping answers within the worker's --ping-wait (10 s); a ping older than
# this has not landed.
PING_LANDS_WITHIN = 20.0
ANSWER_WITHIN = 1.0


class SlowClients:
    """``count`` connections that each send one byte of a request every ``interval`` seconds.

    ``mode`` is "headers" (the whole request trickles, from its first byte),
    "body" (the headers go at once, the body trickles) or "mixed" (half each).
    A connection the server closes or answers is opened again at once, so
    ``count`` are always held open.
    """

    def __init__(
        self, port: int, paths: list[str], count: int, mode: str, interval: float = 1.0
    ) -> None:
        self.port = port
        self.paths = paths
        self.count = count
        self.mode = mode
        self.interval = interval
        self.sent = 0  # bytes trickled
        self.reopened = 0  # connections the server ended (408, 413, answered, closed)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="slow-clients", daemon=True)

    def _request(self, number: int) -> tuple[bytes, bytes]:
        """What goes at once and what trickles, for connection ``number``."""
        body = b"<?xml version='1.0'?><methodCall><methodName>" + b"x" * 1_000_000
        head = (
            f"POST {self.paths[number % len(self.paths)]} HTTP/1.1\r\n"
            f"Host: 127.0.0.1:{self.port}\r\nContent-Type: text/xml\r\n"
            f"Content-Length: {len(body)}\r\n\r\n"
        ).encode()
        headers = self.mode == "headers" or (self.mode == "mixed" and number % 2)
        return (b"", head + body) if headers else (head, body)

    def _open(self, number: int) -> list[Any]:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        first, rest = self._request(number)
        sock.sendall(first)
        sock.setblocking(False)
        return [sock, rest, 0]

    def _ended(self, sock: socket.socket) -> bool:
        """The server answered or closed this connection."""
        try:
            return sock.recv(4096) is not None  # data (an answer) or b"" (closed)
        except BlockingIOError:
            return False
        except OSError:
            return True

    def _run(self) -> None:
        connections = [self._open(number) for number in range(self.count)]
        while not self._stop.is_set():
            for number, connection in enumerate(connections):
                sock, rest, position = connection
                try:
                    if self._ended(sock):
                        raise ConnectionError
                    sock.send(rest[position : position + 1])
                    connection[2] += 1
                    self.sent += 1
                except OSError:
                    sock.close()
                    self.reopened += 1
                    connections[number] = self._open(number)
            self._stop.wait(self.interval)
        for sock, *_ in connections:
            sock.close()

    def __enter__(self) -> SlowClients:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)


class Watch:
    """An ordinary user's calls, each timed, against the lab under attack."""

    def __init__(self, security_lab: Any) -> None:
        self.lab = security_lab
        self.session = requests.Session()
        self.auth = ("mallory", security_lab.tokens["mallory"])
        self.slowest = 0.0
        self.calls = 0
        self.oldest_ping = 0.0

    def call(self, method: str, *params: Any, within: float = ANSWER_WITHIN) -> Any:
        """An XML-RPC call as mallory that must answer ``within`` seconds."""
        body = xmlrpc.client.dumps(params, method, allow_none=True)
        started = time.monotonic()
        try:
            answer = self.session.post(
                self.lab.url + "RPC2", data=body, auth=self.auth, timeout=5 * within
            )
        except requests.Timeout:
            raise AssertionError(f"{method}: no answer in {5 * within:g} s") from None
        took = time.monotonic() - started
        self.calls += 1
        self.slowest = max(self.slowest, took)
        assert answer.status_code == 200, (method, answer.status_code, answer.text[:200])
        assert took < within, f"{method} took {took:.2f} s under the attack"
        return xmlrpc.client.loads(answer.content, use_builtin_types=True)[0][0]

    def worker_online(self) -> None:
        """The worker is Online and its last ping landed recently."""
        worker = self.call("scheduler.workers.show", self.lab.lab.worker_name)
        assert worker["state"] == "Online", worker
        now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        age = (now - worker["last_ping"]).total_seconds()
        self.oldest_ping = max(self.oldest_ping, age)
        assert age < PING_LANDS_WITHIN, f"the worker's last ping is {age:.0f} s old"

    def during(self, seconds: float, until: Any = None) -> Iterator[int]:
        """Keep calling system.version and checking the worker for ``seconds`` (and until
        ``until()`` is true); yields each round's number for more checks."""
        deadline = time.monotonic() + seconds
        for round_ in itertools.count():
            self.call("system.version")
            if round_ % 4 == 0:
                self.worker_online()
            yield round_
            if time.monotonic() > deadline and (until is None or until()):
                return
            time.sleep(0.5)


@contextmanager
def attack(security_lab: Any, count: int, mode: str) -> Iterator[SlowClients]:
    """``count`` slow clients on the XML-RPC, REST and worker APIs of the lab."""
    paths = ["/RPC2", "/api/v0.2/jobs/", "/scheduler/internal/v1/jobs/1/logs/"]
    with SlowClients(security_lab.lab.port, paths, count, mode) as clients:
        time.sleep(2)  # every connection open and trickling
        yield clients


def test_slow_bodies_leave_the_apis_and_the_worker_answering(security_lab) -> None:
    """The issue's finding: 20 slow bodies (more than gunicorn's 16 threads)."""
    watch = Watch(security_lab)
    with attack(security_lab, 20, "body") as clients:
        for _ in watch.during(15):
            answer = watch.session.get(security_lab.url + "api/v0.2/jobs/?limit=1", timeout=5)
            assert answer.status_code == 200, answer.text[:200]
        assert clients.sent >= 20 * 10, vars(clients)  # they did trickle, all along
    security_lab.services_alive()


def test_the_front_ends_what_a_client_drags_out(security_lab) -> None:
    """A header trickled past the front's timeout gets 408 and the connection closed;
    a body over the server's limit is refused at once, before it is sent."""
    started = time.monotonic()
    answer = None
    with socket.create_connection(("127.0.0.1", security_lab.lab.port), timeout=30) as sock:
        sock.sendall(b"POST /RPC2 HTTP/1.1\r\n")
        sock.settimeout(1)
        while answer is None and time.monotonic() - started < 25:
            try:
                sock.sendall(b"X")  # a header that never ends
                answer = sock.recv(4096)
            except TimeoutError:
                continue
            except ConnectionError:
                answer = b""
    took = time.monotonic() - started
    assert took < front.HEADER_TIMEOUT + 5, f"a trickled header held a connection {took:.0f} s"
    assert answer is not None, "a trickled header was never cut off"
    assert answer == b"" or answer.startswith(b"HTTP/1.1 408"), answer[:100]

    huge = 100 * 1024 * 1024
    with socket.create_connection(("127.0.0.1", security_lab.lab.port), timeout=10) as sock:
        sock.sendall(
            b"POST /RPC2 HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/xml\r\n"
            b"Content-Length: " + str(huge).encode() + b"\r\n\r\n"
        )
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    security_lab.services_alive()


def test_100_slow_clients_for_30_s(security_lab) -> None:
    """Acceptance 3: 100 slow connections (headers and bodies, a byte at a time) for at
    least 30 s: system.version answers in under 1 s throughout, the worker's ping keeps
    landing, and a job submitted during the attack runs to Complete."""
    watch = Watch(security_lab)
    pids = {name: security_lab.lab.running(name) for name in ("front", "web", "worker")}
    with attack(security_lab, 100, "mixed") as clients:
        started = time.monotonic()
        job = security_lab.quick_job("under a slow-client attack")
        job_id = watch.call("scheduler.jobs.submit", job, within=5)
        state: dict[str, Any] = {}

        def finished() -> bool:
            return state.get("state") == "Finished"

        for round_ in watch.during(30, until=finished):
            if round_ % 4 == 2:
                state = watch.call("scheduler.jobs.show", job_id)
            assert time.monotonic() - started < 300, f"job {job_id} still {state.get('state')}"
        held_for = time.monotonic() - started
        assert clients.sent >= 100 * 25, vars(clients)  # they did trickle, all along
    assert held_for >= 30
    assert state["health"] == "Complete", (state, security_lab.lab.log_tail())
    assert watch.slowest < ANSWER_WITHIN
    assert {name: security_lab.lab.running(name) for name in pids} == pids
    print(
        f"\n100 slow clients for {held_for:.0f} s ({clients.sent} bytes trickled, "
        f"{clients.reopened} connections ended by the front and opened again): "
        f"{watch.calls} calls, slowest {watch.slowest * 1000:.0f} ms; "
        f"oldest worker ping seen {watch.oldest_ping:.1f} s"
    )
