"""Pages of a job's log for the viewer: read through the line index, parsed at C speed.

Every line is ``- {json}``, so a page of lines becomes one JSON array by
replacing each line's ``- `` with a comma: ``json.loads`` checks it all at
once and the array text itself is the answer (no re-encoding). A page that
does not parse that way (a LAVA log with YAML-only forms, a damaged line) is
decoded line by line, with the YAML codec as the fallback. No function here
reads more than a page of lines, or ``SCAN_BYTES`` of the file, per call.
"""

from __future__ import annotations

import json
import os
import re
import struct
from typing import Any

from lava.common import log
from lava.server.logs.store import DATA, INDEX, PACK, PACK_SIZE, LogStore

MAX_PAGE = 1000
"""Most lines one request may ask for."""
SCAN_BYTES = 32 * 1024 * 1024
"""Most bytes of the log one search request reads (~10 ms); the client asks again for more."""
SCAN_CHUNK = 4 * 1024 * 1024
# LAVA's toggle "error" shows both levels; a search for errors finds both.
LEVEL_GROUPS = {"error": ("error", "exception")}
ACTION_LEVEL = re.compile(r"[0-9]{1,6}(?:\.[0-9]{1,6}){0,15}")


def array_text(blob: bytes) -> bytes | None:
    """The lines of ``blob`` as the text of one JSON array, or None if any line is not JSON."""
    if not blob:
        return b"[]"
    if not blob.startswith(b"- {") or b"\r" in blob:
        return None
    text = b"[" + blob[2:-1].replace(b"\n- {", b",{") + b"]"
    try:
        records = json.loads(text)
    except ValueError:
        return None
    if len(records) != blob.count(b"\n") or not all(type(r) is dict for r in records):
        return None
    return text


def records(blob: bytes, *, strict: bool = False) -> list[dict[str, Any]]:
    """The lines of ``blob`` as dicts: fast JSON, else one by one with the YAML fallback.

    A line that is not a log line becomes ``{"lvl": "unknown", "msg": <its text>}`` (so
    line numbers stay right), or raises ValueError when ``strict``.
    """
    text = array_text(blob)
    if text is not None:
        return json.loads(text)
    found = []
    for raw in blob.split(b"\n")[:-1]:
        try:
            found.append(log.decode(raw))
        except (ValueError, UnicodeDecodeError):
            if strict:
                raise
            found.append({"dt": "", "lvl": "unknown", "msg": raw.decode("utf-8", "replace")})
    return found


def page_json(blob: bytes) -> bytes:
    """The lines of ``blob`` as a JSON array (text), whatever they hold."""
    text = array_text(blob)
    if text is not None:
        return text
    return json.dumps(records(blob), default=str, separators=(",", ":")).encode()


def _line_of(store: LogStore, job_id: int, offset: int, count: int) -> int:
    """The number of the line holding byte ``offset``: a binary search in the index file."""
    path = store.root / f"job-{int(job_id)}" / INDEX
    with open(path, "rb") as index:
        fd = index.fileno()
        low, high = 0, count - 1  # the answer is the last line starting at or before offset
        while low < high:
            middle = (low + high + 1) // 2
            start = struct.unpack(PACK, os.pread(fd, PACK_SIZE, middle * PACK_SIZE))[0]
            if start <= offset:
                low = middle
            else:
                high = middle - 1
        return low


def _offset_of(store: LogStore, job_id: int, line: int) -> int:
    path = store.root / f"job-{int(job_id)}" / INDEX
    with open(path, "rb") as index:
        return struct.unpack(PACK, os.pread(index.fileno(), PACK_SIZE, line * PACK_SIZE))[0]


def patterns(lvl: str = "", end: str = "") -> list[bytes]:
    """What a search looks for, as the bytes our encoder writes; ValueError for bad input."""
    if lvl:
        if lvl not in log.LEVELS:
            raise ValueError(f"unknown level {lvl[:40]!r}: use one of {', '.join(log.LEVELS)}")
        return [b'"lvl": "' + name.encode() + b'"' for name in LEVEL_GROUPS.get(lvl, (lvl,))]
    if end:
        if not ACTION_LEVEL.fullmatch(end):
            raise ValueError(f"action level {end[:40]!r} must look like 1.2.3")
        return [b'"msg": "end: ' + end.encode() + b" "]
    raise ValueError("say what to find: lvl=<level> or end=<action level>")


def _matches(record: dict[str, Any], lvl: str, end: str) -> bool:
    if lvl:
        return record.get("lvl") in LEVEL_GROUPS.get(lvl, (lvl,))
    msg = record.get("msg")
    return isinstance(msg, str) and msg.startswith(f"end: {end} ")


def find(
    store: LogStore, job_id: int, start: int, *, lvl: str = "", end: str = ""
) -> tuple[int | None, int, int]:
    """The first line from ``start`` with level ``lvl`` (or ending action ``end``).

    Returns ``(line or None, next, total)``: with no match within ``SCAN_BYTES``,
    ``next`` is where to search on (``total`` once the whole log was searched).
    Bytes are searched, not parsed; a candidate line is parsed to confirm it.
    """
    wanted = patterns(lvl, end)
    total = store.count(job_id)
    if start >= total:
        return None, total, total
    first = _offset_of(store, job_id, start)
    stop = store.size(job_id)
    if total:
        # only what the index lists: an append in flight may be past it
        last_start = _offset_of(store, job_id, total - 1)
        stop = min(stop, last_start + log.MAX_LINE + 64)
    # at least one whole line a call, so that every call moves on
    following = _offset_of(store, job_id, start + 1) if start + 1 < total else stop
    budget_end = min(stop, max(first + SCAN_BYTES, following))
    overlap = max(len(p) for p in wanted)
    path = store.root / f"job-{int(job_id)}" / DATA
    with open(path, "rb") as data:
        fd = data.fileno()
        position = first
        while position < budget_end:
            step = min(SCAN_CHUNK, budget_end - position)
            chunk = os.pread(fd, step + overlap, position)
            if not chunk:
                break
            hits = [i for i in (chunk.find(p) for p in wanted) if i >= 0]
            while hits:
                hit = min(hits)
                line = _line_of(store, job_id, position + hit, total)
                candidate = records(store.read(job_id, line, line + 1))
                if candidate and _matches(candidate[0], lvl, end):
                    return line, line + 1, total
                # a false hit (inside a message): search on after that line
                after = _offset_of(store, job_id, line + 1) - position if line + 1 < total else None
                if after is None:
                    return None, total, total
                hits = [i for i in (chunk.find(p, after) for p in wanted) if i >= 0]
            position += step
    if position >= stop:
        return None, total, total
    return None, min(total, _line_of(store, job_id, position, total)), total
