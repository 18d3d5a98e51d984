"""The full job schema: the top level, then each action by the schema its kind selects.

This is LAVA's full (``lava_common.schemas``) validation. The server's looser
submission check belongs in a sibling module using the same pieces.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from voluptuous import ALLOW_EXTRA, PREVENT_EXTRA, Invalid, MultipleInvalid, Schema

from .dispatch import factory, select
from .errors import JobSchemaError, format_path
from .job import job


def extra_mode(strict: bool) -> int:
    return PREVENT_EXTRA if strict else ALLOW_EXTRA


@lru_cache(maxsize=16)
def job_schema(strict: bool, extra_context: tuple[str, ...] = ()) -> Schema:
    return Schema(job(extra_context), extra=extra_mode(strict))


@lru_cache(maxsize=256)
def action_schema(kind: str, key: str, strict: bool) -> Schema:
    return Schema(factory(kind, key)(), extra=extra_mode(strict))


def first_error(exc: Invalid) -> Invalid:
    if isinstance(exc, MultipleInvalid) and exc.errors:
        return exc.errors[0]
    return exc


def schema_error(exc: Invalid, prefix: list[Any] | None = None) -> JobSchemaError:
    error = first_error(exc)
    return JobSchemaError(error.msg, format_path([*(prefix or []), *error.path]))


def validate(data: Any, strict: bool = True, extra_context_variables: tuple[str, ...] = ()) -> None:
    """Raise ``JobSchemaError`` naming the first problem found in ``data``."""
    try:
        job_schema(strict, tuple(extra_context_variables))(data)
    except Invalid as exc:
        raise schema_error(exc) from None
    for index, action in enumerate(data["actions"]):
        try:
            chosen = select(index, action)
        except Invalid as exc:
            raise schema_error(exc) from None
        try:
            action_schema(chosen.kind, chosen.key, strict)(action[chosen.kind])
        except Invalid as exc:
            raise schema_error(exc, ["actions", index, chosen.kind, chosen.label]) from None
