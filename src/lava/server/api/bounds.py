"""Numbers from a caller (ids, indexes, offsets, limits), within what the databases take."""

from __future__ import annotations

MAX_OFFSET = 2**62  # within a signed 64-bit integer, as SQL's LIMIT and OFFSET must be


def bounded(offset: int, limit: int | None) -> tuple[int, int | None]:
    """``offset`` and ``limit`` clamped to 0 .. MAX_OFFSET (limit None: to the end).

    Past the end of any table reads as its end; unbounded, a number like 2**80
    reached SQLite as a datatype error and the caller got a server error.
    """
    offset = min(max(offset, 0), MAX_OFFSET)
    if limit is not None:
        limit = min(max(limit, 0), MAX_OFFSET - offset)
    return offset, limit
