"""The server's PostgreSQL backend: a health check without a query while the server is silent,
a dead connection still replaced, and only the prepared cursor's statements prepared."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from lava.server.postgresql import prepared_cursor

on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's backend: LAVA_TEST_DATABASE_URL"
)


def test_the_prepared_cursor_is_djangos_own_elsewhere(db) -> None:
    with prepared_cursor(connection) as cursor:
        cursor.execute("SELECT %s + 1", [1])
        assert cursor.fetchone()[0] == 2


def _wrapper(options: dict[str, Any] | None = None) -> Any:
    """A connection of its own to the test database, in autocommit as a web request's."""
    settings = connections[DEFAULT_DB_ALIAS].settings_dict
    if options is None:
        wrapper = connections.create_connection(DEFAULT_DB_ALIAS)
    else:
        changed = {**settings, "OPTIONS": {**settings["OPTIONS"], **options}}
        wrapper = type(connections[DEFAULT_DB_ALIAS])(changed, "other")
    wrapper.ensure_connection()
    return wrapper


@pytest.fixture
def own(db) -> Iterator[Any]:
    wrapper = _wrapper()
    yield wrapper
    wrapper.close()


def _prepared(wrapper: Any) -> list[str]:
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        return [row[0] for row in cursor.fetchall()]


@on_postgresql
def test_a_silent_connection_is_kept_without_a_query(own, monkeypatch) -> None:
    own.close_if_unusable_or_obsolete()  # a request begins: its check is due
    monkeypatch.setattr(own, "is_usable", lambda: pytest.fail("SELECT 1 sent"))
    own.close_if_health_check_failed()
    assert own.connection is not None and own.health_check_done


@on_postgresql
def test_a_connection_the_server_ended_is_replaced(own) -> None:
    from lava.server.postgresql.base import silent

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [own.connection.info.backend_pid])
    deadline = time.monotonic() + 10
    while silent(own.connection):  # the server's farewell is on its way
        assert time.monotonic() < deadline, "the ended connection never said so"
        time.sleep(0.01)
    own.close_if_unusable_or_obsolete()
    own.close_if_health_check_failed()
    assert own.connection is None
    with own.cursor() as cursor:  # a new one, for the request
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


@on_postgresql
def test_only_the_prepared_cursors_statements_are_prepared(own) -> None:
    with own.cursor() as cursor:
        cursor.execute("SELECT %s + 2", [1])
    with prepared_cursor(own) as cursor:
        cursor.execute("SELECT %s + 3", [1])
        assert cursor.fetchone()[0] == 4
    assert [text for text in _prepared(own) if "SELECT" in text] == ["SELECT $1 + 3"]


@on_postgresql
def test_prepare_threshold_off_prepares_nothing(db) -> None:
    wrapper = _wrapper({"prepare_threshold": None})
    try:
        with prepared_cursor(wrapper) as cursor:
            cursor.execute("SELECT %s + 3", [1])
        assert _prepared(wrapper) == []
    finally:
        wrapper.close()
