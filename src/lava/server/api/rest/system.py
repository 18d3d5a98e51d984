"""``/api/v0.2/system/``: version, whoami and master_config."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

import lava
from lava.server.events.clients import master_config


class SystemViewSet(viewsets.ViewSet):
    permission_classes = (AllowAny,)

    @extend_schema(responses=inline_serializer("Version", {"version": serializers.CharField()}))
    @action(detail=False, methods=["get"])
    def version(self, request: Request) -> Response:
        return Response({"version": lava.__version__})

    @extend_schema(responses=inline_serializer("WhoAmI", {"user": serializers.CharField()}))
    @action(detail=False, methods=["get"])
    def whoami(self, request: Request) -> Response:
        user = request.user
        return Response({"user": user.get_username() if user.is_authenticated else ""})

    @extend_schema(
        responses=inline_serializer(
            "MasterConfig",
            {
                "EVENT_TOPIC": serializers.CharField(),
                "EVENT_SOCKET": serializers.CharField(),
                "EVENT_NOTIFICATION": serializers.BooleanField(),
                "LOG_SIZE_LIMIT": serializers.IntegerField(),
            },
        )
    )
    @action(detail=False, methods=["get"])
    def master_config(self, request: Request) -> Response:
        return Response(master_config())
