"""The query every API call signs its caller in with, written once instead of per call.

The ORM took ~1.5 ms of Python to build ``AuthToken.objects.select_related("user")
.filter(...).first()`` on each call; the database answers in ~0.15 ms. The SQL
here is the same join and filter, built once per process (and prepared once per
connection on PostgreSQL: ``lava.server.postgresql``); each row goes through
the ORM's own value converters, so the token and user are the objects the ORM
would have made (SQLite's dates and booleans included).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.db import connections
from django.db.models import Field

from ..postgresql import prepared_cursor
from ..scheduler.models import AuthToken
from .orm_rows import Converters, written_once

USER_FIELD = AuthToken._meta.get_field("user")
TOKEN_FIELDS: list[Field] = list(AuthToken._meta.concrete_fields)
USER_FIELDS: list[Field] = list(User._meta.concrete_fields)
CONVERTERS = Converters(
    AuthToken,
    [(f, AuthToken._meta.db_table) for f in TOKEN_FIELDS]
    + [(f, User._meta.db_table) for f in USER_FIELDS],
)


@written_once
def _sql(q: Callable[[str], str], vendor: str, by_username: bool) -> str:
    """The lookup: an active user's token by secret (and user name)."""
    columns = [f"t.{q(f.column)}" for f in TOKEN_FIELDS] + [f"u.{q(f.column)}" for f in USER_FIELDS]
    sql = (
        f"SELECT {', '.join(columns)} FROM {q(AuthToken._meta.db_table)} t "
        f"INNER JOIN {q(User._meta.db_table)} u ON u.{q(User._meta.pk.column)} = "
        f"t.{q(USER_FIELD.column)} "
        f"WHERE t.{q('secret')} = %s AND u.{q('is_active')} = %s"
    )
    return sql + (f" AND u.{q('username')} = %s" if by_username else "")


def find_token(secret: str, username: str | None, using: str = "default") -> AuthToken | None:
    """The active user's token with this secret (and user name), its ``user`` loaded; or None."""
    connection = connections[using]
    params: list[Any] = [secret, True] + ([username] if username is not None else [])
    sql = _sql(connection, username is not None)
    with prepared_cursor(connection) as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    row = CONVERTERS.row(connection, row)
    split = len(TOKEN_FIELDS)
    token = AuthToken.from_db(using, None, row[:split])
    token.user = User.from_db(using, None, row[split:])
    return token
