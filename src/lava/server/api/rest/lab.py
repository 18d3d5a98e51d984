"""``/api/v0.2/devices|devicetypes|workers|tags|aliases/``: the lab, as the caller may see it."""

from __future__ import annotations

from typing import Any, ClassVar

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from ...scheduler import permissions
from ...scheduler.models import Alias, Device, DeviceType, Tag, Worker
from ...scheduler.states import DeviceHealth, WorkerHealth
from .. import dictionaries
from .jobs import field


class DeviceSerializer(serializers.ModelSerializer):
    health = serializers.CharField(source="get_health_display", read_only=True)
    state = serializers.CharField(source="get_state_display", read_only=True)

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
            wanted = {label.upper(): value for value, label in DeviceHealth.choices}
            if health.upper() not in wanted:
                raise ValidationError({"health": f"unknown health {health!r}"})
            devices = devices.filter(health=wanted[health.upper()])
        return devices

    @extend_schema(
        request=inline_serializer("Dictionary", {"dictionary": serializers.CharField()}),
        responses={(200, "text/plain"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get", "post"])
    def dictionary(self, request: Request, pk: str | None = None) -> Any:
        """GET the dictionary (``?render=true&context=...`` renders it); POST replaces it."""
        device = self.get_object()
        if request.method == "POST":
            if not permissions.is_superuser(request.user):
                raise PermissionDenied("only superusers may change a device dictionary")
            text = field(request, "dictionary")
            if not isinstance(text, str):
                raise ValidationError({"dictionary": "the device dictionary (Jinja2) is required"})
            try:
                dictionaries.replace(device, text)
            except dictionaries.Refused as exc:
                raise ValidationError({"message": str(exc)}) from None
            return Response({"message": "device dictionary updated"})
        render = request.query_params.get("render", "").lower() in ("1", "true", "yes")
        try:
            text = dictionaries.read(device, render, request.query_params.get("context"))
        except dictionaries.Missing as exc:
            raise NotFound(str(exc)) from None
        except dictionaries.Refused as exc:
            raise ValidationError({"message": str(exc)}) from None
        return HttpResponse(text, content_type="text/plain; charset=utf-8")


class DeviceTypeSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeviceType
        fields = (
            "name",
            "description",
            "health_frequency",
            "disable_health_check",
            "health_denominator",
            "display",
        )
        read_only_fields = fields


class DeviceTypeViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = DeviceTypeSerializer
    lookup_value_regex = "[^/]+"
    filterset_fields: ClassVar[dict[str, list[str]]] = {
        "name": ["exact", "in", "contains"],
        "display": ["exact"],
    }
    ordering_fields = ("name",)
    ordering = ("name",)

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return DeviceType.objects.none()
        return permissions.visible_device_types(self.request.user)


class WorkerSerializer(serializers.ModelSerializer):
    state = serializers.CharField(source="get_state_display", read_only=True)
    health = serializers.CharField(source="get_health_display", read_only=True)

    class Meta:
        model = Worker
        fields = ("hostname", "description", "state", "health", "last_ping", "job_limit", "version")
        read_only_fields = fields


class WorkerViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = WorkerSerializer
    lookup_value_regex = "[^/]+"
    filterset_fields: ClassVar[dict[str, list[str]]] = {"hostname": ["exact", "in", "contains"]}
    ordering_fields = ("hostname", "last_ping")
    ordering = ("hostname",)

    def get_queryset(self) -> Any:
        workers = Worker.objects.all()
        if self.request.query_params.get("show_all", "").lower() not in ("1", "true", "yes"):
            workers = workers.exclude(health=WorkerHealth.RETIRED)
        return workers


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ("id", "name", "description")
        read_only_fields = fields


class TagViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = TagSerializer
    queryset = Tag.objects.all()
    filterset_fields: ClassVar[dict[str, list[str]]] = {"name": ["exact", "in", "contains"]}
    ordering_fields = ("name",)
    ordering = ("name",)


class AliasSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alias
        fields = ("name", "device_type")
        read_only_fields = fields


class AliasViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AliasSerializer
    lookup_value_regex = "[^/]+"
    filterset_fields: ClassVar[dict[str, list[str]]] = {
        "name": ["exact", "in"],
        "device_type": ["exact"],
    }
    ordering_fields = ("name",)
    ordering = ("name",)

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Alias.objects.none()
        visible = permissions.visible_device_types(self.request.user).values("pk")
        return Alias.objects.filter(device_type__in=visible)
