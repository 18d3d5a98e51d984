"""The lab's small documents: /api/help/, /v1/healthz/, /v1/prometheus/, /robots.txt."""

from __future__ import annotations

import functools
import inspect
from typing import Any

from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from lava.server.api.xmlrpc import methods as _methods  # noqa: F401 (fills the registry)
from lava.server.api.xmlrpc.auth import basic_caller
from lava.server.api.xmlrpc.registry import METHODS

from .. import metrics

# Crawlers fetching every job, log and result page once cost a lab real load (LAVA ships
# the same list): the dynamic pages are off limits, the home page and static files are not.
ROBOTS = """User-agent: *
Disallow: /scheduler/
Disallow: /results/
Disallow: /api/
Disallow: /accounts/
Disallow: /RPC2
Disallow: /v1/
"""


@functools.lru_cache(maxsize=1)
def _method_help() -> list[dict[str, Any]]:
    """Every XML-RPC method by namespace, with its call signature and help (the registry is
    fixed once the server has started: computed once)."""
    first_name: dict[Any, str] = {}
    sections: dict[str, list[dict[str, Any]]] = {}
    for name in sorted(METHODS, key=lambda each: (each.count("."), each)):
        first_name.setdefault(METHODS[name].function, name)
    for name in sorted(METHODS):
        method = METHODS[name]
        params = [
            p.name if p.default is inspect.Parameter.empty else f"{p.name}={p.default!r}"
            for p in method.params
        ]
        returns = method.signature[0] if method.signature else "undef"
        canonical = first_name[method.function]
        sections.setdefault(name.rpartition(".")[0] or name, []).append(
            {
                "name": name,
                "call": f"{name}({', '.join(params)})",
                "returns": returns,
                "help": method.help,
                "alias_of": canonical if canonical != name else None,
            }
        )
    return [{"name": key, "methods": value} for key, value in sorted(sections.items())]


@require_GET
def api_help(request: HttpRequest) -> HttpResponse:
    """The XML-RPC methods and their help, and where the REST API is."""
    sections = _method_help()
    count = sum(len(section["methods"]) for section in sections)
    host = request.build_absolute_uri("/RPC2").replace("://", "://USER:TOKEN@", 1)
    context = {"sections": sections, "count": count, "rpc_url": host}
    return render(request, "web/api_help.html", context)


def _database_answers() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        return False
    return True


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """LAVA's liveness answer: good, or 500 when the database does not answer."""
    if _database_answers():
        return JsonResponse({"health": "good"})
    return JsonResponse({"health": "bad", "error": "database connection lost"}, status=500)


@require_GET
def prometheus(request: HttpRequest) -> HttpResponse:
    """The lab's devices, queue and workers as Prometheus metrics (LAVA's names); Basic
    ``USER:TOKEN`` shows the device types that user may see."""
    user = basic_caller(request, "LAVA metrics")
    if isinstance(user, HttpResponse):
        return user
    return HttpResponse(metrics.exposition(user), content_type=metrics.CONTENT_TYPE)


@require_GET
def robots(request: HttpRequest) -> HttpResponse:
    return HttpResponse(ROBOTS, content_type="text/plain; charset=utf-8")


urlpatterns: list[URLPattern] = [
    path("api/help/", api_help, name="api_help"),
    path("v1/healthz/", healthz, name="healthz"),
    path("v1/prometheus/", prometheus, name="prometheus"),
    path("robots.txt", robots, name="robots"),
]
