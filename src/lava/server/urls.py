"""The server's URL map: the admin, the APIs, the workers' API and the web pages."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLResolver, path
from django.urls.resolvers import RoutePattern

import lava
from lava.server.api.xmlrpc.view import rpc2


def healthz(request: HttpRequest) -> HttpResponse:
    """A cheap liveness answer for proxies, the demo and monitoring."""
    return JsonResponse({"status": "ok", "version": lava.__version__})


def later(route: str, module: str, app_name: str | None = None) -> URLResolver:
    """``path(route, include(module))``, the module imported by the first request under
    ``route`` (or the first ``reverse``) instead of by the first request of all.

    A restarted web answers the workers and XML-RPC without importing the REST
    API's and the pages' code first: 0.1 s less before its first answer. The
    admin's URLs load the apps' admin modules with them (`lava.server.adminapp`).
    """
    pattern = RoutePattern(route, is_endpoint=False)
    return URLResolver(pattern, module, app_name=app_name, namespace=app_name)


urlpatterns = [
    later("admin/", "lava.server.adminurls", app_name="admin"),
    path("healthz", healthz),
    later("scheduler/internal/v1/", "lava.server.scheduler.internal.urls"),
    later("api/v0.2/", "lava.server.api.rest.urls"),
    path("RPC2", rpc2),
    path("RPC2/", rpc2),
    # the web pages, at LAVA's URLs (lava.server.web)
    later("", "lava.server.web.urls", app_name="web"),
]
