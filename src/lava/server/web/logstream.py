"""New lines of a running job's log as server-sent events, bounded in time and in number.

A stream watches the log's line index (one ``stat`` a tick, no database) and
sends each batch of new lines as one ``lines`` event whose ``id`` is the next
line's number, so the browser's automatic reconnection (``Last-Event-ID``)
resumes exactly there. It asks the database for the job's state only when no
line came for a while, and ends with a ``finished`` event once the job is
Finished and every line was sent. Each stream lives at most ``LIFETIME``
seconds and at most ``MAX_STREAMS`` run in one process: a stream holds one of
gunicorn's threads, so beyond the cap a viewer gets a ``busy`` event at once
and polls instead; readers can never starve the API and the workers' pings.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

from lava.server.logs.store import LogStore

from .logread import MAX_PAGE, page_json

MAX_STREAMS = 6
"""Streams one server process serves at once (the lab's one gunicorn process has 16 threads,
and each worker's held ping takes one)."""
LIFETIME = 45.0
"""Seconds a stream lives before the browser reconnects (nginx waits 120 s for a read)."""
TICK = 0.15
"""Seconds between two looks at the log's line count."""
STATE_IDLE = 0.5
"""Seconds between two looks at the job's state while no line comes."""
STATE_EVERY = 2.0
"""Seconds between two looks at the job's state while lines keep coming."""
HEARTBEAT = 10.0
"""Seconds of silence after which a comment keeps proxies from closing the stream."""
BURST = 5 * MAX_PAGE
"""Most lines sent in one tick; a reader further behind skips to the last page (the
viewer fetches skipped lines by page when they are scrolled into view)."""
RETRY_MS = 500

_slots = threading.BoundedSemaphore(MAX_STREAMS)
_slots_size = MAX_STREAMS


def _semaphore() -> threading.BoundedSemaphore:
    """The process's stream slots (rebuilt when a test changes ``MAX_STREAMS``)."""
    global _slots, _slots_size
    if _slots_size != MAX_STREAMS:
        _slots, _slots_size = threading.BoundedSemaphore(MAX_STREAMS), MAX_STREAMS
    return _slots


def event(name: str, data: bytes | str, ident: int | None = None) -> bytes:
    """One SSE frame; ``data`` holds no newline (JSON text)."""
    head = f"event: {name}\n" + ("" if ident is None else f"id: {ident}\n")
    body = data.encode() if isinstance(data, str) else data
    return head.encode() + b"data: " + body + b"\n\n"


def _lines_event(store: LogStore, job_id: int, start: int, stop: int, total: int) -> bytes:
    blob = store.read(job_id, start, stop)
    head = f'{{"start":{start},"total":{total},"lines":'.encode()
    return event("lines", head + page_json(blob) + b"}", stop)


def stream(
    store: LogStore, job_id: int, line: int, finished: Callable[[], bool]
) -> Iterator[bytes]:
    """The events for lines from ``line`` on until the job is finished or ``LIFETIME`` ends."""
    slots = _semaphore()
    if not slots.acquire(blocking=False):
        yield f"retry: {RETRY_MS * 4}\n\n".encode()
        yield event("busy", json.dumps({"streams": MAX_STREAMS}))
        return
    try:
        yield from _serve(store, job_id, line, finished)
    finally:
        slots.release()


def _serve(
    store: LogStore, job_id: int, line: int, finished: Callable[[], bool]
) -> Iterator[bytes]:
    now = time.monotonic()
    deadline = now + LIFETIME
    last_state = last_sent = now
    done = finished()
    yield f"retry: {RETRY_MS}\nid: {line}\n\n".encode()
    while True:
        total = store.count(job_id)
        sent = False
        if total > line:
            if total - line > BURST:
                line = max(line, total - MAX_PAGE)
            while line < total:
                stop = min(total, line + MAX_PAGE)
                yield _lines_event(store, job_id, line, stop, total)
                line = stop
            sent = True
            last_sent = time.monotonic()
        if done and line >= total:
            yield event("finished", json.dumps({"total": total}), line)
            return
        now = time.monotonic()
        if now >= deadline:
            return  # the browser reconnects from the last id
        if not sent and now - last_sent >= HEARTBEAT:
            yield b": still running\n\n"
            last_sent = now
        if now - last_state >= (STATE_EVERY if sent else STATE_IDLE):
            # read the state before the count: a Finished job's count is final
            done = finished()
            last_state = now
            if done:
                continue
        time.sleep(TICK)
