"""Make sure the PostgreSQL database of a URL exists: ``python tools/postgres.py URL``.

Exit 0 when the server answers and the database exists (created if needed),
1 with the reason when the server cannot be reached. Used by ``make test``
(the PostgreSQL run of the server tests) and the benchmarks.
"""

from __future__ import annotations

import sys
from urllib.parse import unquote, urlsplit

import psycopg
from psycopg import sql


def ensure_database(url: str) -> str:
    """Create the database named in ``url`` unless it exists; return its name."""
    parts = urlsplit(url)
    name = unquote(parts.path.lstrip("/"))
    admin = parts._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python tools/postgres.py postgresql://USER@HOST:PORT/NAME", file=sys.stderr)
        return 2
    try:
        name = ensure_database(argv[0])
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"PostgreSQL unreachable at {argv[0]}: {reason}", file=sys.stderr)
        return 1
    print(f"==> PostgreSQL database {name!r} ready")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
