"""``?limit=&offset=`` paging, as LAVA's (50 a page), with bounds the databases can take.

A limit over ``MAX_LIMIT`` gets ``MAX_LIMIT`` rows and a ``next`` link to the
rest; an offset past any table reads as the end of it. Unbounded, a number
like 2**80 reached SQLite as a datatype error and the caller got a 500.
"""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import LimitOffsetPagination

from ..bounds import bounded

MAX_LIMIT = 10_000


class Paging(LimitOffsetPagination):
    max_limit = MAX_LIMIT

    def get_offset(self, request: Any) -> int:
        return bounded(super().get_offset(request), None)[0]
