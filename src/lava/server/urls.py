"""The server's URL map: the admin, the APIs, the workers' API and the web pages."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path

import lava
from lava.server.api.xmlrpc.view import rpc2
from lava.server.ratelimits import limit_sign_in


def healthz(request: HttpRequest) -> HttpResponse:
    """A cheap liveness answer for proxies, the demo and monitoring."""
    return JsonResponse({"status": "ok", "version": lava.__version__})


urlpatterns = [
    # before admin.site.urls: the same login view, its attempts rate-limited
    path("admin/login/", limit_sign_in(admin.site.login)),
    path("admin/", admin.site.urls),
    path("healthz", healthz),
    path("scheduler/internal/v1/", include("lava.server.scheduler.internal.urls")),
    path("api/v0.2/", include("lava.server.api.rest.urls")),
    path("RPC2", rpc2),
    path("RPC2/", rpc2),
    # the web pages, at LAVA's URLs (lava.server.web)
    path("", include("lava.server.web.urls")),
]
