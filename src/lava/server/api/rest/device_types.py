"""``/api/v0.2/devicetypes|aliases/``: device types the caller may see, template, health check."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from ...scheduler import permissions
from ...scheduler.admin_ops import AdminError
from ...scheduler.admin_ops import device_types as type_ops
from ...scheduler.models import Alias, DeviceType
from .. import labfiles
from .helpers import export, need_perm, text_field


@contextmanager
def file_errors() -> Iterator[None]:
    """A missing file is 404, refused content 400 naming the fault."""
    try:
        yield
    except labfiles.Missing as exc:
        raise NotFound(str(exc)) from None
    except labfiles.Refused as exc:
        raise ValidationError({"message": str(exc)}) from None


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
        device_type = self.get_object()
        with file_errors():
            if request.method == "GET":
                text = labfiles.read_template(device_type)
                return export(text, "text/plain", f"{device_type.name}.jinja2")
            need_perm(request, "change_devicetype")
            labfiles.replace_template(device_type, text_field(request, "template", "a template"))
        return Response({"message": "template updated"})

    @extend_schema(
        request=inline_serializer("HealthCheck", {"config": serializers.CharField()}),
        responses={(200, "application/yaml"): OpenApiTypes.STR, 200: UPDATED},
    )
    @action(detail=True, methods=["get", "post"])
    def health_check(self, request: Request, pk: str | None = None) -> Any:
        """GET the type's health-check job; POST ``config`` replaces it once it is a valid job."""
        device_type = self.get_object()
        with file_errors():
            if request.method == "GET":
                text = labfiles.read_health_check(device_type)
                return export(text, "application/yaml", f"{device_type.name}_health_check.yaml")
            need_perm(request, "change_devicetype")
            config = text_field(request, "config", "the health-check job definition")
            warnings = labfiles.replace_health_check(device_type, config)
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
        need_perm(request, "add_alias")
        name = text_field(request, "name", "an alias")
        device_type = text_field(request, "device_type", "the device type it names")
        if not permissions.visible_device_types(request.user).filter(name=device_type).exists():
            raise ValidationError({"device_type": f"Device-type '{device_type}' was not found."})
        try:
            alias = type_ops.add_alias(name, device_type)
        except AdminError as exc:
            raise ValidationError({"name": str(exc)}) from None
        return Response(AliasSerializer(alias).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: Any = None) -> Response:
        need_perm(request, "delete_alias")
        self.get_object().delete()
        return Response(status=status.HTTP_204_NO_CONTENT)
