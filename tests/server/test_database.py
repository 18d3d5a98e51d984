from __future__ import annotations

from pathlib import Path

import pytest

from lava.server.database import DatabaseURLError, parse_database_url


def test_sqlite_absolute_path() -> None:
    db = parse_database_url("sqlite:////var/lib/lava/lava.sqlite3")
    assert db["ENGINE"] == "django.db.backends.sqlite3"
    assert db["NAME"] == "/var/lib/lava/lava.sqlite3"
    assert db["OPTIONS"]["transaction_mode"] == "IMMEDIATE"


def test_sqlite_relative_path_uses_the_base() -> None:
    db = parse_database_url("sqlite:///lava.sqlite3", base=Path("/srv/lab"))
    assert db["NAME"] == "/srv/lab/lava.sqlite3"


def test_postgresql_url() -> None:
    db = parse_database_url(
        "postgresql://lava:s%40cret@db.example.com:5433/lavaserver?sslmode=require"
    )
    assert db["ENGINE"] == "lava.server.postgresql"
    assert (db["USER"], db["PASSWORD"], db["HOST"], db["PORT"], db["NAME"]) == (
        "lava",
        "s@cret",
        "db.example.com",
        "5433",
        "lavaserver",
    )
    assert db["OPTIONS"] == {"sslmode": "require", "options": "-c jit=off"}


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root@localhost/lava", "unsupported scheme 'mysql'"),
        ("postgresql://postgres@localhost:5432/", "no database name"),
        ("sqlite://", "no SQLite file name"),
        ("sqlite:///", "no SQLite file name"),
        ("sqlite://host/lava.db", "SQLite takes no host"),
    ],
)
def test_bad_urls_say_what_is_wrong(url: str, message: str) -> None:
    with pytest.raises(DatabaseURLError, match=message):
        parse_database_url(url)


@pytest.mark.parametrize(("query", "threshold"), [("off", None), ("none", None), ("5", 5)])
def test_prepared_statements_can_be_turned_off_for_a_pooler(query, threshold) -> None:
    db = parse_database_url(f"postgresql://lava@db/lava?prepare_threshold={query}")
    assert db["OPTIONS"]["prepare_threshold"] == threshold
    assert "prepare_threshold" not in parse_database_url("postgresql://lava@db/lava")["OPTIONS"]


def test_a_bad_prepare_threshold_says_what_is_wrong() -> None:
    with pytest.raises(DatabaseURLError, match="prepare_threshold must be a number or off"):
        parse_database_url("postgresql://lava@db/lava?prepare_threshold=sometimes")
