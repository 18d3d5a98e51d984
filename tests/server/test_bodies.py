"""What a view leaves of a request body is read before the answer goes (lava.server.bodies)."""

from __future__ import annotations

import io
import socket
import time
from typing import Any

from lava.server import bodies


class Stream(io.BytesIO):
    """A request body; ``delay`` seconds before each read, like a slow sender."""

    def __init__(self, data: bytes, delay: float = 0.0) -> None:
        super().__init__(data)
        self.delay = delay
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        time.sleep(self.delay)
        self.reads.append(-1 if size is None else size)
        return super().read(size)


def environ(stream: Stream, length: int | str | None, **more: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"wsgi.input": stream, **more}
    if length is not None:
        found["CONTENT_LENGTH"] = str(length)
    return found


def test_the_rest_of_a_body_is_read_and_dropped() -> None:
    stream = Stream(b"x" * 1_000_000)
    stream.read(1000)  # what the view read
    assert bodies.drain(environ(stream, 1_000_000), limit=2_000_000)
    assert stream.tell() == 1_000_000
    assert max(stream.reads[1:]) <= bodies.CHUNK


def test_never_more_than_content_length_is_read() -> None:
    # PEP 3333: past CONTENT_LENGTH may be the next request on the connection
    stream = Stream(b"body" + b"next request")
    assert bodies.drain(environ(stream, 4), limit=100)
    assert stream.tell() == 4


def test_a_body_over_the_limit_is_left_to_close_the_connection() -> None:
    stream = Stream(b"x" * 5000)
    assert not bodies.drain(environ(stream, 5000), limit=4999)
    assert stream.tell() == 0


def test_no_body_and_odd_lengths() -> None:
    assert bodies.drain(environ(Stream(b""), None), limit=10)
    assert bodies.drain(environ(Stream(b""), 0), limit=10)
    assert bodies.drain(environ(Stream(b""), -5), limit=10)
    assert not bodies.drain(environ(Stream(b"abc"), "3 bytes"), limit=10)


def test_a_slow_body_is_given_up_at_the_timeout() -> None:
    stream = Stream(b"x" * (10 * bodies.CHUNK), delay=0.05)
    started = time.monotonic()
    assert not bodies.drain(environ(stream, 10 * bodies.CHUNK), limit=1 << 30, timeout=0.12)
    assert time.monotonic() - started < 1.0
    assert stream.tell() < 10 * bodies.CHUNK


def test_the_socket_timeout_is_set_per_read_and_put_back() -> None:
    first, second = socket.socketpair()
    with first, second:
        first.settimeout(None)
        seen = []

        class Watching(Stream):
            def read(self, size: int | None = -1) -> bytes:
                seen.append(first.gettimeout())
                return super().read(size)

        assert bodies.drain(environ(Watching(b"abc"), 3, **{"gunicorn.socket": first}), 10)
        assert seen and all(0 < value <= bodies.DRAIN_TIMEOUT for value in seen)
        assert first.gettimeout() is None


def test_a_body_that_fails_to_read_is_given_up() -> None:
    class Broken(Stream):
        def read(self, size: int | None = -1) -> bytes:
            raise ConnectionResetError("the client went away")

    assert not bodies.drain(environ(Broken(b""), 10), limit=100)


def test_the_middleware_answers_what_the_view_answered_and_drains() -> None:
    calls = []

    def view(env: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response("401 Unauthorized", [("Content-Type", "text/plain")])
        return [b"unknown token\n"]

    stream = Stream(b"y" * 300_000)
    application = bodies.DrainUnreadBody(view, limit=1 << 20)
    answer = application(environ(stream, 300_000), lambda *a: calls.append(a))
    assert answer == [b"unknown token\n"]
    assert calls[0][0] == "401 Unauthorized"
    assert stream.tell() == 300_000


def test_the_limits() -> None:
    assert bodies.xmlrpc_body_limit(1 << 20) == 2 * (1 << 20) + 64 * 1024
    assert bodies.body_limit(1 << 20, 2_621_440) == 2_621_440
    assert bodies.body_limit(8 << 20, 2_621_440) == 16 * (1 << 20) + 64 * 1024
    assert bodies.body_limit(1 << 20, None) == bodies.xmlrpc_body_limit(1 << 20)
