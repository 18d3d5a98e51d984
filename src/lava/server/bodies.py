"""Request bodies: the largest the server reads, and the rest of one a view did not read.

The front (nginx, tools/front.py) keeps its connections to gunicorn open
from one request to the next. A view that answers before it reads the body
(a bad token, a call over its size limit, a rate limit) leaves the body on
the connection; gunicorn then reads at most 64 KiB of it and closes a
connection it had just announced as kept alive. The front, meanwhile, may
already have sent the next request, anyone's, on that connection: that
request got HTTP 502 (313 of 1,500 small calls, each sent after a refused
call of 100 KB to 1 MB: tests/security/test_front_connections.py).
`DrainUnreadBody` reads and drops what a view left, so every connection that
says "keep-alive" stays open.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

# Room for the XML around a job definition in an XML-RPC call.
XMLRPC_ROOM = 64 * 1024
# Read at a time while dropping a body; the front sends it at loopback speed.
CHUNK = 256 * 1024
# How long dropping one body may take: only a client that sends its body slowly
# straight to gunicorn (past the front) needs more, and then the connection closes.
DRAIN_TIMEOUT = 10.0


def xmlrpc_body_limit(max_job_size: int) -> int:
    """The largest XML-RPC call: a definition sent as base64 or escaped XML, and its XML."""
    return 2 * max_job_size + XMLRPC_ROOM


def body_limit(max_job_size: int, data_upload_max: int | None) -> int:
    """The largest request body a view reads: an XML-RPC call, or a form or JSON body
    within Django's ``DATA_UPLOAD_MAX_MEMORY_SIZE`` (None: that limit is off)."""
    return max(xmlrpc_body_limit(max_job_size), data_upload_max or 0)


def drain(environ: dict[str, Any], limit: int, timeout: float = DRAIN_TIMEOUT) -> bool:
    """Read and drop what is left of the request body; whether none is left.

    Reads at most ``Content-Length`` bytes (PEP 3333), nothing when that is
    over ``limit``, and stops at ``timeout`` seconds: then the server closes
    the connection after its answer, as it would have without this.
    """
    try:
        declared = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return False
    if declared <= 0:
        return True
    if declared > limit:
        return False
    stream = environ["wsgi.input"]
    sock = environ.get("gunicorn.socket")
    previous = sock.gettimeout() if sock is not None else None
    deadline = time.monotonic() + timeout
    left = declared
    try:
        while left > 0:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            if sock is not None:
                sock.settimeout(remaining)
            chunk = stream.read(min(CHUNK, left))
            if not chunk:
                return True  # the view read the rest
            left -= len(chunk)
        return True
    except Exception:  # the answer is made; a body that fails to read closes the connection
        return False
    finally:
        if sock is not None:
            sock.settimeout(previous)


class DrainUnreadBody:
    """WSGI middleware: once a view has answered, drop what it left of the request body."""

    def __init__(self, application: Callable[..., Iterable[bytes]], limit: int) -> None:
        self.application = application
        self.limit = limit

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        answer = self.application(environ, start_response)
        drain(environ, self.limit)
        return answer
