"""Hand-written SQL, written once (`written_once`), and its rows converted as the ORM would
have converted them (`Converters`).

``token_query``, ``job_query`` and submission's device type lookup write their SQL
once instead of having the ORM build it per call; their rows still go through the
ORM's own value converters (SQLite's dates and booleans, say), so the objects made
from them are the ones the ORM would have made.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field, Model


class Converters:
    """The ORM's converters for a row of ``columns`` (a field and its table each), made once
    per database connection: converters belong to one, and Django keeps one per thread."""

    def __init__(self, model: type[Model], columns: Sequence[tuple[Field, str]]) -> None:
        self.model = model  # any model: it only gives a compiler
        self.columns = list(columns)
        self._made: weakref.WeakKeyDictionary[BaseDatabaseWrapper, tuple[Any, dict]] = (
            weakref.WeakKeyDictionary()
        )

    def row(self, connection: BaseDatabaseWrapper, values: Sequence[Any]) -> Sequence[Any]:
        """``values``, as read from ``connection``, converted."""
        made = self._made.get(connection)
        if made is None:
            compiler = self.model.objects.none().query.get_compiler(connection=connection)
            cols = [field.get_col(table) for field, table in self.columns]
            made = self._made[connection] = (compiler, compiler.get_converters(cols))
        compiler, converters = made
        return next(compiler.apply_converters([values], converters)) if converters else values


def written_once(write: Callable[..., str]) -> Callable[..., str]:
    """``write(quote_name, vendor, *args)`` made ``sql(connection, *args)``, which writes a
    statement once per database vendor and ``args`` and then keeps it."""
    made: dict[tuple[Any, ...], str] = {}

    @functools.wraps(write)
    def sql(connection: BaseDatabaseWrapper, *args: Any) -> str:
        key = (connection.vendor, *args)
        if key not in made:
            made[key] = write(connection.ops.quote_name, connection.vendor, *args)
        return made[key]

    return sql
