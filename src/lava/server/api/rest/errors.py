"""The one place REST turns errors into answers: a service's refusal, or bad input the
database itself refuses, becomes a 4xx that says what is wrong, never a 500."""

from __future__ import annotations

from typing import Any

from django.db import DataError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from ...services import Missing, Refused, ServiceError


def status_of(refusal: ServiceError) -> int:
    """404 missing, 401 (sign in) or 403 refused, 400 for the rest."""
    if isinstance(refusal, Missing):
        return 404
    if isinstance(refusal, Refused):
        return 401 if refusal.login else 403
    return 400


# what LAVA's REST API says before a refused submission's reason
FAILED = {"create": "job submission failed: ", "resubmit": "job resubmission failed: "}


def handle(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's handler, plus the services' refusals and values the database cannot store.

    A refusal answers as LAVA's API does: ``{"message": ...}`` for a 400,
    ``{"detail": ...}`` for 401, 403 and 404.
    """
    if isinstance(exc, ServiceError):
        status = status_of(exc)
        if status != 400:
            answer = Response({"detail": str(exc)}, status=status)
        else:
            action = getattr(context.get("view"), "action", None)
            answer = Response({"message": FAILED.get(action or "", "") + str(exc)}, status=status)
        if answer.status_code == 401:
            answer["WWW-Authenticate"] = "Token"  # as DRF answers NotAuthenticated here
        return answer
    answer = exception_handler(exc, context)
    if answer is None and isinstance(exc, OverflowError | DataError):
        return Response(
            {"detail": f"A value in the request is out of range for the database: {exc}"},
            status=400,
        )
    return answer
