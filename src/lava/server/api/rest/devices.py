"""``/api/v0.2/devices/``: devices the caller may see, their dictionary, health, validation."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from ...scheduler import permissions
from ...scheduler.models import Device
from ...scheduler.states import DeviceHealth, DeviceState
from ...services import devices as device_ops
from ...services import dictionaries, health_history
from ...services.errors import Invalid
from .helpers import Label, actor, field, flag, health_value, set_health
from .parsers import PlainTextParser

MESSAGE = inline_serializer("DeviceMessage", {"message": serializers.CharField()})
SET_HEALTH = inline_serializer(
    "SetHealth",
    {"health": serializers.CharField(), "reason": serializers.CharField(required=False)},
)


class HealthChangeSerializer(serializers.Serializer):
    """One health change (``services.health_history.as_row``)."""

    time = serializers.DateTimeField()
    old = serializers.CharField()
    new = serializers.CharField()
    reason = serializers.CharField()
    user = serializers.CharField()
    message = serializers.CharField()


def history_page(view: viewsets.GenericViewSet, changes: Any) -> Response:
    """A page of health changes, as every list is paged (``limit``, ``offset``)."""
    page = view.paginate_queryset(changes) or []
    rows = [health_history.as_row(change) for change in page]
    return view.get_paginated_response(HealthChangeSerializer(rows, many=True).data)


class DeviceSerializer(serializers.ModelSerializer):
    health = Label(DeviceHealth)
    state = Label(DeviceState)

    class Meta:
        model = Device
        fields = (
            "hostname",
            "device_type",
            "device_version",
            "physical_owner",
            "physical_group",
            "description",
            "tags",
            "state",
            "health",
            "last_health_report_job",
            "worker_host",
            "is_synced",
        )
        read_only_fields = fields


class DeviceViewSet(viewsets.ReadOnlyModelViewSet):
    """Devices the caller may see; a hidden one answers 404, as a missing one."""

    serializer_class = DeviceSerializer
    lookup_value_regex = "[^/]+"
    filterset_fields: ClassVar[dict[str, list[str]]] = {
        "hostname": ["exact", "in", "contains", "startswith"],
        "device_type": ["exact", "in"],
        "worker_host": ["exact", "in"],
        "tags": ["exact"],
    }
    ordering_fields = ("hostname", "device_type", "state", "health")
    ordering = ("hostname",)

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema generator: no database
            return Device.objects.none()
        devices = permissions.visible_devices(self.request.user).prefetch_related("tags")
        health = self.request.query_params.get("health")
        if health:
            devices = devices.filter(health=health_value(DeviceHealth, health))
        return devices

    @extend_schema(
        request=inline_serializer("Dictionary", {"dictionary": serializers.CharField()}),
        responses={(200, "text/plain"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get", "post"])
    def dictionary(self, request: Request, pk: str | None = None) -> Any:
        """GET the dictionary (``?render=true&context=...`` renders it); POST replaces it."""
        hostname = self.get_object().hostname
        if request.method == "POST":
            text = field(request, "dictionary")
            if not isinstance(text, str):
                raise ValidationError({"dictionary": "the device dictionary (Jinja2) is required"})
            device_ops.set_dictionary(actor(request), hostname, text)
            return Response({"message": "device dictionary updated"})
        render = flag(request.query_params.get("render"))
        context = request.query_params.get("context")
        text = dictionaries.read(actor(request), hostname, render, context)
        return HttpResponse(text, content_type="text/plain; charset=utf-8")

    @extend_schema(responses=HealthChangeSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request: Request, pk: str | None = None) -> Response:
        """The device's health changes, newest first: who changed it, from what, to what, why."""
        return history_page(self, health_history.device_changes(actor(request), str(pk)))

    @extend_schema(request=SET_HEALTH, responses={202: MESSAGE})
    @action(detail=True, methods=["post"])
    def set_health(self, request: Request, pk: str | None = None) -> Response:
        """POST ``health`` (GOOD, UNKNOWN, LOOPING, BAD, MAINTENANCE, RETIRED) and a ``reason``."""
        return set_health(
            request, DeviceHealth, device_ops.update_device, self.get_object().hostname
        )

    @extend_schema(
        request={"text/plain": OpenApiTypes.STR},
        responses={200: MESSAGE},
    )
    @action(
        detail=False,
        methods=["post"],
        parser_classes=(PlainTextParser, *api_settings.DEFAULT_PARSER_CLASSES),
    )
    def validate(self, request: Request) -> Response:
        """POST a dictionary (the body as text, or a ``dictionary`` field): does it render?"""
        text = request.data if isinstance(request.data, str) else field(request, "dictionary")
        if not isinstance(text, str) or not text.strip():
            raise ValidationError({"device": "Device dictionary is required."})
        try:
            device_ops.check_dictionary(actor(request), text)
        except Invalid as exc:  # LAVA answers 200 with the verdict, not an error
            return Response({"message": f"Device dictionary invalid: {exc}"})
        return Response({"message": "Device dictionary valid."})
