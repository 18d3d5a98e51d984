"""``/api/v0.2/devicetypes|aliases/``: device types the caller may see, template, health check."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ...scheduler import permissions
from ...scheduler.models import Alias, DeviceType
from ...services import device_types as type_ops
from ...services import labfiles
from .helpers import actor, export, text_field


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


UPDATED = inline_serializer(
    "FileUpdated",
    {"message": serializers.CharField(), "warnings": serializers.ListField(required=False)},
)


class DeviceTypeViewSet(viewsets.ReadOnlyModelViewSet):
    """Device types the caller may see; a hidden one answers 404, as a missing one."""

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

    @extend_schema(
        request=inline_serializer("Template", {"template": serializers.CharField()}),
        responses={(200, "text/plain"): OpenApiTypes.STR, 200: UPDATED},
    )
    @action(detail=True, methods=["get", "post"])
    def template(self, request: Request, pk: str | None = None) -> Any:
        """GET the type's Jinja2 template; POST ``template`` installs the instance's own."""
        name = self.get_object().name
        if request.method == "GET":
            text = labfiles.read_template(actor(request), name)
            return export(text, "text/plain", f"{name}.jinja2")
        template = text_field(request, "template", "a template")
        labfiles.replace_template(actor(request), name, template)
        return Response({"message": "template updated"})

    @extend_schema(
        request=inline_serializer("HealthCheck", {"config": serializers.CharField()}),
        responses={(200, "application/yaml"): OpenApiTypes.STR, 200: UPDATED},
    )
    @action(detail=True, methods=["get", "post"])
    def health_check(self, request: Request, pk: str | None = None) -> Any:
        """GET the type's health-check job; POST ``config`` replaces it once it is a valid job."""
        name = self.get_object().name
        if request.method == "GET":
            text = labfiles.read_health_check(actor(request), name)
            return export(text, "application/yaml", f"{name}_health_check.yaml")
        config = text_field(request, "config", "the health-check job definition")
        warnings = labfiles.replace_health_check(actor(request), name, config)
        return Response({"message": "health check updated", "warnings": warnings})


class AliasSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alias
        fields = ("name", "device_type")


class AliasViewSet(viewsets.ReadOnlyModelViewSet):
    """Aliases of the device types the caller may see; POST adds one, DELETE removes it."""

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

    @extend_schema(request=AliasSerializer, responses={201: AliasSerializer})
    def create(self, request: Request) -> Response:
        name = text_field(request, "name", "an alias")
        device_type = text_field(request, "device_type", "the device type it names")
        alias = type_ops.add_alias(actor(request), name, device_type)
        return Response(AliasSerializer(alias).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: Any = None) -> Response:
        type_ops.remove_alias(actor(request), self.get_object().name)
        return Response(status=status.HTTP_204_NO_CONTENT)
