"""PostgreSQL databases for live labs under test: created empty, dropped first if they exist."""

from __future__ import annotations

import os


def fresh_postgresql(server: str, name: str) -> str:
    """Drop and create the database ``name`` on ``server`` (postgresql://USER@HOST); its URL."""
    import psycopg
    from psycopg import sql

    with psycopg.connect(f"{server}/postgres", autocommit=True, connect_timeout=5) as conn:
        database = sql.Identifier(name)
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(database))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(database))
    return f"{server}/{name}"


def database_for_tests(name: str) -> dict[str, str]:
    """A live lab's settings for the test run: PostgreSQL ``name`` when the server tests run
    on PostgreSQL (``LAVA_TEST_DATABASE_URL``), else nothing (SQLite)."""
    url = os.environ.get("LAVA_TEST_DATABASE_URL", "")
    if not url.startswith("postgresql://"):
        return {}
    return {"DATABASE_URL": fresh_postgresql(url.rsplit("/", 1)[0], name)}
