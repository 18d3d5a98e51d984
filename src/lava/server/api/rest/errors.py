"""Bad input the database itself refuses becomes a 400 that says so, never a 500."""

from __future__ import annotations

from typing import Any

from django.db import DataError
from rest_framework.response import Response
from rest_framework.views import exception_handler


def handle(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus numbers and strings the database cannot store or compare."""
    answer = exception_handler(exc, context)
    if answer is None and isinstance(exc, OverflowError | DataError):
        return Response(
            {"detail": f"A value in the request is out of range for the database: {exc}"},
            status=400,
        )
    return answer
