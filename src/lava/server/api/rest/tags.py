"""``/api/v0.2/tags/``: device tags; those holding the matching permission add and delete them."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from ...scheduler.models import Tag
from ...services import tags as tag_ops
from .helpers import actor, field, text_field


class TagSerializer(serializers.ModelSerializer):
    class Meta:
        model = Tag
        fields = ("id", "name", "description")
        read_only_fields = ("id",)


class TagViewSet(viewsets.ReadOnlyModelViewSet):
    """Tags; POST ``name`` (and ``description``) adds one, DELETE removes it from everything."""

    serializer_class = TagSerializer
    queryset = Tag.objects.all()
    filterset_fields: ClassVar[dict[str, list[str]]] = {"name": ["exact", "in", "contains"]}
    ordering_fields = ("name",)
    ordering = ("name",)

    @extend_schema(request=TagSerializer, responses={201: TagSerializer})
    def create(self, request: Request) -> Response:
        name = text_field(request, "name", "a tag name")
        description = field(request, "description")
        text = description if isinstance(description, str) else ""
        tag = tag_ops.create_tag(actor(request), name, text)
        return Response(TagSerializer(tag).data, status=status.HTTP_201_CREATED)

    def destroy(self, request: Request, pk: Any = None) -> Response:
        tag_ops.delete_tag(actor(request), self.get_object().name)
        return Response(status=status.HTTP_204_NO_CONTENT)
