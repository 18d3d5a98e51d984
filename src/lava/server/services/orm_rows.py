"""A row read with hand-written SQL, converted as the ORM would have converted it.

``token_query`` and ``job_query`` write their SQL once instead of having the ORM
build it per call; their rows still go through the ORM's own value converters
(SQLite's dates and booleans, say), so the objects made from them are the ones
the ORM would have made.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
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
