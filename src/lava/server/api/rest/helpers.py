"""What the REST views share: body fields, text answers, the caller's Django permissions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpResponse
from rest_framework import status
from rest_framework.exceptions import NotAuthenticated, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from ...scheduler.admin_ops import AdminError

TRUE = ("1", "true", "yes", "on")


def field(request: Request, name: str) -> Any:
    """A field of the request's body; None when the body is not a mapping (a JSON list, say)."""
    data = request.data
    return data.get(name) if hasattr(data, "get") else None


def text_field(request: Request, name: str, what: str) -> str:
    """A non-empty text field of the body, or 400 naming it and what it should hold."""
    value = field(request, name)
    if not isinstance(value, str) or not value.strip():
        raise ValidationError({name: f"{what} is required"})
    return value


def flag(value: Any) -> bool:
    """A query or form flag: ``1``, ``true``, ``yes`` or ``on``."""
    return str(value or "").lower() in TRUE


def need_perm(request: Request, codename: str) -> None:
    """401 for an anonymous caller, 403 without ``scheduler.<codename>`` (superusers hold all)."""
    user = request.user
    if not user.is_authenticated:
        raise NotAuthenticated("Authentication with a token required for this")
    if not user.has_perm(f"scheduler.{codename}"):
        raise PermissionDenied(f"Permission denied: {codename} is needed for this.")


def export(text: str | bytes, content_type: str, filename: str) -> HttpResponse:
    """Text as LAVA serves a file: a download named ``filename``."""
    response = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f"attachment; filename={filename}"
    return response


def by_label(enum: Any, value: Any, what: str, key: str = "", upper: bool = False) -> int:
    """A choice of ``enum`` by its label in any case (``Finished``, ``GOOD``), or 400.

    The refusal, under ``key`` (default ``what``), lists the labels, in upper
    case with ``upper`` as LAVA spells healths.
    """
    found = None
    if isinstance(value, str):
        found = {label.lower(): member for member, label in enum.choices}.get(value.lower())
    if found is None:
        names = ", ".join(label.upper() if upper else label for _, label in enum.choices)
        raise ValidationError({key or what: f"Invalid {what} {value!r}: one of {names}"})
    return found


def health_value(enum: Any, name: Any) -> int:
    """A health by its name, any case (``GOOD``, ``Maintenance``), or 400 listing the names."""
    return by_label(enum, name, "health", upper=True)


def set_health(request: Request, enum: Any, update: Callable[..., Any], name: str) -> Response:
    """POST ``health`` and ``reason``: ``update(name, health=, reason=)``, 202 when done."""
    health = health_value(enum, field(request, "health"))
    reason = field(request, "reason")
    why = reason if isinstance(reason, str) and reason else "set_health"
    try:
        update(name, health=health, reason=f"{why} (by {request.user.get_username()} over REST)")
    except AdminError as exc:
        raise ValidationError({"message": str(exc)}) from None
    return Response({"message": "OK"}, status=status.HTTP_202_ACCEPTED)
