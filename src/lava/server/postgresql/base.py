"""Django's PostgreSQL backend, made cheaper for the queries every API call runs.

Two costs of a kept connection, measured on a busy 2-core lab:

* With ``CONN_HEALTH_CHECKS`` Django sends ``SELECT 1`` before the first query
  of every request. A server that ends a connection (a restart,
  ``pg_terminate_backend``, an idle timeout) says so on the socket first, an
  error message or the close itself: a socket with nothing to read is still
  open, so the query is only sent when there is something, and a dead
  connection is then closed and replaced before the request uses it, as before.
* The hand-written queries of every call (a token, the permission rows, the job
  ``scheduler.jobs.show`` reads) cost PostgreSQL more to parse and plan than to
  run: ~0.5 ms of its CPU for the job, ~0.2 ms for the others, against ~0.1 ms
  prepared. ``prepared_cursor`` binds on the server, and such statements are
  prepared once per connection. The ORM's cursors bind on the client, which
  never prepares, so nothing else changes; behind a pooler that cannot keep
  prepared statements, ``?prepare_threshold=off`` in the database URL turns
  this off (``lava.server.database``).
"""

from __future__ import annotations

import contextlib
import select
from typing import Any

import psycopg
from django.db.backends.postgresql import base, operations
from django.db.backends.postgresql.psycopg_any import register_tzloader
from django.db.backends.utils import CursorWrapper
from django.utils.asyncio import async_unsafe
from psycopg import pq

# a connection that is neither open and idle nor silent gets Django's own check
READY = (pq.ConnStatus.OK, pq.TransactionStatus.IDLE)
# prepared at their first run: only `prepared_cursor`'s statements are ever prepared
PREPARE_THRESHOLD = 0


def silent(connection: Any) -> bool:
    """Whether a psycopg connection is open, idle, and has had nothing from the server."""
    try:
        pgconn = connection.pgconn
        if (pgconn.status, pgconn.transaction_status) != READY:
            return False
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
    except (psycopg.Error, OSError, ValueError):  # closed, no socket: the real check decides
        return False
    return not poller.poll(0)


class DatabaseOperations(operations.DatabaseOperations):
    """Django's; a prepared statement is logged (DEBUG, the tests' query counts) with its
    parameters as any other, where psycopg keeps no text of it."""

    def last_executed_query(self, cursor: Any, sql: str, params: Any) -> str | None:
        found = super().last_executed_query(cursor, sql, params)
        if found is None and sql is not None:
            with contextlib.suppress(psycopg.DataError):
                return self.compose_sql(sql, params)
        return found


class DatabaseWrapper(base.DatabaseWrapper):
    """Django's PostgreSQL connection; ``SELECT 1`` only when the server has spoken since,
    and cursors whose statements are prepared."""

    ops_class = DatabaseOperations

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        if "prepare_threshold" not in self.settings_dict["OPTIONS"]:
            params["prepare_threshold"] = PREPARE_THRESHOLD
        return params

    def close_if_health_check_failed(self) -> None:
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and silent(self.connection)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()

    @async_unsafe
    def prepared_cursor(self) -> CursorWrapper:
        """A cursor whose statements PostgreSQL parses and plans once per connection (their
        parameters bound on the server); otherwise Django's cursor, wrapped as its own."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        with self.wrap_database_errors:
            cursor = base.ServerBindingCursor(self.connection)
            # as Django's cursors: its time zone, unless the connection has it already
            loader = self.connection.adapters.get_loader(base.TIMESTAMPTZ_OID, pq.Format.TEXT)
            if self.timezone != loader.timezone:
                register_tzloader(self.timezone, cursor)
            return self._prepare_cursor(cursor)
