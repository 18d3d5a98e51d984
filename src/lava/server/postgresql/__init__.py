"""The server's PostgreSQL backend (``base``: Django's, cheaper per call), and `prepared_cursor`.

Nothing here imports psycopg: a SQLite lab's web processes never load it.
"""

from __future__ import annotations

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.backends.utils import CursorWrapper


def prepared_cursor(connection: BaseDatabaseWrapper) -> CursorWrapper:
    """A cursor for a statement run on every API call: prepared once per connection on
    PostgreSQL (``base.DatabaseWrapper.prepared_cursor``), Django's own cursor elsewhere."""
    prepared = getattr(connection, "prepared_cursor", None)
    return connection.cursor() if prepared is None else prepared()
