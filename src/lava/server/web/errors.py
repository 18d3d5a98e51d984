"""The web pages' one translation of a service's refusal, and their security headers.

A view raises what the service raised; ``PageErrors`` turns it into an error
page: missing (or hidden: a stranger cannot tell the two apart) 404, refused
403 (or the sign-in page when signing in might help), invalid 400, conflict
409, limit 413. The message is the service's, unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.loader import render_to_string

from lava.server.services import Conflict, Invalid, Limit, Missing, Refused, ServiceError

STATUS = {Missing: 404, Refused: 403, Invalid: 400, Conflict: 409, Limit: 413}
TITLES = {404: "Not found", 403: "Permission denied", 400: "Bad request", 409: "Conflict"}
TITLES[413] = "Too large"
# No inline script or style attribute in any page: scripts are files under /static/.
POLICY = (
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
PACKAGE = __name__.rsplit(".", 1)[0]


def status_of(error: ServiceError) -> int:
    for kind, status in STATUS.items():
        if isinstance(error, kind):
            return status
    return 400


def error_page(request: HttpRequest, status: int, message: str) -> HttpResponse:
    """The site's error page with ``message``."""
    body = render_to_string(
        "web/error.html",
        {"status": status, "title": TITLES.get(status, "Error"), "message": message},
        request=request,
    )
    return HttpResponse(body, status=status)


def is_page(request: HttpRequest) -> bool:
    """Whether the request was routed to one of the web pages (not an API, not the admin)."""
    match = request.resolver_match
    return bool(match and getattr(match.func, "__module__", "").startswith(PACKAGE))


class PageErrors:
    """Middleware: service errors of the web pages as error pages; headers on every page."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if is_page(request):
            response.headers.setdefault("Content-Security-Policy", POLICY)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("Referrer-Policy", "same-origin")
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not (isinstance(exception, ServiceError) and is_page(request)):
            return None
        if isinstance(exception, Refused) and not request.user.is_authenticated:
            query = urlencode({"next": request.get_full_path()})
            return HttpResponseRedirect(f"{settings.LOGIN_URL}?{query}")
        return error_page(request, status_of(exception), str(exception))
