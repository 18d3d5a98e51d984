"""What the REST views share: body fields, text answers, the caller's Django permissions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import models
from django.http import HttpResponse
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from ...services import Actor
from ...services.names import choice

TRUE = ("1", "true", "yes", "on")


class Label(serializers.CharField):
    """A state or health column as its label (``Finished``), as ``get_state_display`` gives
    it: DRF read that bound method's signature for each field of each row, a third of a
    job list's serializing."""

    def __init__(self, choices: type[models.IntegerChoices], **kwargs: Any) -> None:
        self.labels = dict(choices.choices)
        super().__init__(read_only=True, **kwargs)

    def to_representation(self, value: Any) -> str:
        return str(self.labels.get(value, value))


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


def actor(request: Request) -> Actor:
    """The caller as the services know them."""
    return Actor(request.user, "REST")


def export(text: str | bytes, content_type: str, filename: str) -> HttpResponse:
    """Text as LAVA serves a file: a download named ``filename``."""
    response = HttpResponse(text, content_type=f"{content_type}; charset=utf-8")
    response["Content-Disposition"] = f"attachment; filename={filename}"
    return response


def health_value(enum: Any, name: Any) -> int:
    """A health by its name, any case (``GOOD``, ``Maintenance``); refused listing the names."""
    return choice(enum, name, "health")


def set_health(request: Request, enum: Any, update: Callable[..., Any], name: str) -> Response:
    """POST ``health`` and ``reason``: ``update(actor, name, health=, reason=)``, 202 when done."""
    health = health_value(enum, field(request, "health"))
    reason = field(request, "reason")
    why = reason if isinstance(reason, str) and reason else "set_health"
    update(actor(request), name, health=health, reason=why)
    return Response({"message": "OK"}, status=status.HTTP_202_ACCEPTED)
