"""Requests to the APIs that carry a NUL byte are refused up front (400).

PostgreSQL cannot store or even compare a string holding NUL, so such a
value would fail deep inside a query; no real client sends one.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import unquote_to_bytes

from django.http import HttpRequest, HttpResponse, JsonResponse

NUL_FORMS = (b"\x00", b"%00", b"\\u0000")


class RefuseNulMiddleware:
    """For ``/api/`` paths: a NUL in the path, the query or the body gets 400."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path.startswith("/api/") and self._has_nul(request):
            return JsonResponse({"detail": "NUL bytes are not allowed in a request"}, status=400)
        return self.get_response(request)

    @staticmethod
    def _has_nul(request: HttpRequest) -> bool:
        raw_query = request.META.get("QUERY_STRING", "").encode("latin-1", "replace")
        if b"\x00" in request.path.encode() or b"\x00" in unquote_to_bytes(raw_query):
            return True
        if request.method in ("POST", "PUT", "PATCH"):
            body = request.body  # read once; Django keeps it for the view
            return any(form in body for form in NUL_FORMS)
        return False
