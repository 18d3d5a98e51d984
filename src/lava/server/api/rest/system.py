"""``/api/v0.2/system/``: version and whoami."""

from __future__ import annotations

from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

import lava


class SystemViewSet(viewsets.ViewSet):
    permission_classes = (AllowAny,)

    @action(detail=False, methods=["get"])
    def version(self, request: Request) -> Response:
        return Response({"version": lava.__version__})

    @action(detail=False, methods=["get"])
    def whoami(self, request: Request) -> Response:
        user = request.user
        return Response({"user": user.get_username() if user.is_authenticated else ""})
