"""The static files (the admin's and the pages' CSS, scripts, fonts), served by WhiteNoise.

WhiteNoise reads the headers of every static file when the web starts: about 1,000
files (``STATIC_ROOT`` and the apps' own, see ``WHITENOISE_USE_FINDERS``), 35 ms of a
restarted web's first answer. `StaticFiles` puts that off until the first request
under ``STATIC_URL``: the workers and the APIs, which a restarted web answers first,
never wait for it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFiles(WhiteNoiseMiddleware):
    """WhiteNoise's middleware, its index of the static files built by the first request
    for one (under its ``static_prefix``)."""

    def __init__(self, get_response: Callable[..., Any] | None = None, **kwargs: Any) -> None:
        self._later: list[tuple[Callable[..., None], tuple[Any, ...], dict[str, Any]]] = []
        self._indexed = threading.Event()
        self._lock = threading.Lock()
        super().__init__(get_response, **kwargs)  # its add_files calls wait in _later

    def add_files(self, *args: Any, **kwargs: Any) -> None:
        self._later.append((super().add_files, args, kwargs))

    def add_files_from_finders(self) -> None:
        self._later.append((super().add_files_from_finders, (), {}))

    def __call__(self, request: Any) -> Any:
        if not self._indexed.is_set() and request.path_info.startswith(self.static_prefix):
            self.index()
        return super().__call__(request)

    def index(self) -> None:
        """Read the static files' headers now, once (a request waits for another's)."""
        with self._lock:
            while self._later:
                add, args, kwargs = self._later.pop(0)
                add(*args, **kwargs)
            self._indexed.set()
