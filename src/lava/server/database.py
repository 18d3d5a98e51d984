"""Turn a database URL into Django's DATABASES entry.

``sqlite:////ABSOLUTE/PATH`` or ``sqlite:///RELATIVE/PATH`` (SQLAlchemy's form) and
``postgresql://USER[:PASSWORD]@HOST[:PORT]/NAME[?option=value...]``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit


class DatabaseURLError(ValueError):
    """The database URL cannot be understood."""


POSTGRES_SCHEMES = {"postgres", "postgresql", "pgsql"}
SQLITE_PRAGMAS = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL"


def parse_database_url(url: str, base: Path | None = None) -> dict[str, Any]:
    """The Django ``DATABASES['default']`` dict for ``url``; relative SQLite paths use ``base``."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        if parts.netloc:
            raise DatabaseURLError(
                f"database URL {url!r}: SQLite takes no host; use sqlite:////ABSOLUTE/PATH"
            )
        raw = unquote(parts.path)[1:]  # the slash after the empty host separates, no more
        if not raw.strip("/"):
            raise DatabaseURLError(f"database URL {url!r}: no SQLite file name")
        path = Path(raw)
        if not path.is_absolute() and base is not None:
            path = base / path
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(path),
            # IMMEDIATE: a transaction takes SQLite's write lock when it begins,
            # so two writers queue instead of failing half-way ("database is locked").
            # WAL: readers do not wait for the writer, and a commit appends to the log
            # without an fsync (NORMAL; the log is synced at checkpoints): in the default
            # rollback journal every commit cost several fsyncs, ~70 ms per job submitted.
            # A power cut may lose the last commits, never the database.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": SQLITE_PRAGMAS,
            },
            # One connection per thread, kept between requests: opening one (the file,
            # the pragmas, Django's SQL functions) cost a worker API call a fifth of its time.
            "CONN_MAX_AGE": 60,
        }
    if scheme in POSTGRES_SCHEMES:
        name = unquote(parts.path.lstrip("/"))
        if not name:
            raise DatabaseURLError(f"database URL {url!r}: no database name after the host")
        options = dict(parse_qsl(parts.query))
        # JIT compiling costs tens of ms on a query that runs in a few (measured 37 ms
        # on the REST job list): our queries are short, so it is off unless the URL says.
        options.setdefault("options", "-c jit=off")
        if "prepare_threshold" in options:
            options["prepare_threshold"] = _prepare_threshold(url, options["prepare_threshold"])
        return {
            # Django's, cheaper per call: a health check without a query, the hot queries
            # prepared (lava.server.postgresql)
            "ENGINE": "lava.server.postgresql",
            "NAME": name,
            "USER": unquote(parts.username or ""),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "",
            "PORT": str(parts.port or ""),
            "OPTIONS": options,
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
        }
    raise DatabaseURLError(
        f"database URL {url!r}: unsupported scheme {parts.scheme!r} "
        "(use sqlite:///PATH or postgresql://USER@HOST:PORT/NAME)"
    )


def _prepare_threshold(url: str, value: Any) -> int | None:
    """``?prepare_threshold=``: ``off`` for a pooler that cannot keep prepared statements
    (PgBouncer in transaction mode before 1.21), else after how many runs a statement of
    the server's prepared cursors is prepared (lava.server.postgresql)."""
    if str(value).lower() in ("off", "none", ""):
        return None
    try:
        return max(0, int(value))
    except ValueError:
        raise DatabaseURLError(
            f"database URL {url!r}: prepare_threshold must be a number or off, not {value!r}"
        ) from None
