"""Who is asking, for the services: the signed-in user (or anonymous) over the web pages."""

from __future__ import annotations

from django.http import HttpRequest

from lava.server.services import Actor

VIA = "web"


def actor(request: HttpRequest) -> Actor:
    """The actor a page passes to the services: ``(by alice over web)`` in logged reasons."""
    return Actor(request.user, VIA)
