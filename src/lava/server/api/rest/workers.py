"""``/api/v0.2/workers/``: workers, their dispatcher configuration, env and health."""

from __future__ import annotations

from typing import Any, ClassVar

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from ...scheduler.models import Worker
from ...scheduler.states import WorkerHealth, WorkerState
from ...services import health_history, labfiles
from ...services import workers as worker_ops
from .devices import SET_HEALTH, HealthChangeSerializer, history_page
from .helpers import Label, actor, export, flag, set_health, text_field

UPDATED = inline_serializer("WorkerFileUpdated", {"message": serializers.CharField()})


class WorkerSerializer(serializers.ModelSerializer):
    state = Label(WorkerState)
    health = Label(WorkerHealth)

    class Meta:
        model = Worker
        fields = ("hostname", "description", "state", "health", "last_ping", "job_limit", "version")
        read_only_fields = fields


class WorkerViewSet(viewsets.ReadOnlyModelViewSet):
    """Workers (``?show_all=true`` lists retired ones too)."""

    serializer_class = WorkerSerializer
    lookup_value_regex = "[^/]+"
    filterset_fields: ClassVar[dict[str, list[str]]] = {"hostname": ["exact", "in", "contains"]}
    ordering_fields = ("hostname", "last_ping")
    ordering = ("hostname",)

    def get_queryset(self) -> Any:
        workers = Worker.objects.all()
        if not flag(self.request.query_params.get("show_all")) and self.action == "list":
            workers = workers.exclude(health=WorkerHealth.RETIRED)
        return workers

    def _file(self, request: Request, kind: str, key: str) -> Any:
        """GET the worker's file of this kind; POST ``key`` replaces it."""
        filename = labfiles.WORKER_FILES[kind]
        hostname = self.get_object().hostname
        if request.method == "GET":
            text = labfiles.read_worker_file(hostname, kind)
            return export(text, "application/yaml", filename)
        content = text_field(request, key, f"the {filename}")
        labfiles.replace_worker_file(actor(request), hostname, kind, content)
        return Response({"message": "content successfully updated"})

    @extend_schema(
        request=inline_serializer("Environment", {"env": serializers.CharField()}),
        responses={(200, "application/yaml"): OpenApiTypes.STR, 200: UPDATED},
    )
    @action(detail=True, methods=["get", "post"])
    def env(self, request: Request, pk: str | None = None) -> Any:
        """GET the worker's env.yaml; POST ``env`` replaces it (a YAML mapping)."""
        return self._file(request, "env", "env")

    @extend_schema(
        request=inline_serializer("EnvironmentDut", {"env": serializers.CharField()}),
        responses={(200, "application/yaml"): OpenApiTypes.STR, 200: UPDATED},
    )
    @action(detail=True, methods=["get", "post"], url_path="env-dut")
    def env_dut(self, request: Request, pk: str | None = None) -> Any:
        """GET the worker's env-dut.yaml; POST ``env`` replaces it (a YAML mapping)."""
        return self._file(request, "env-dut", "env")

    @extend_schema(
        request=inline_serializer("WorkerConfig", {"config": serializers.CharField()}),
        responses={(200, "application/yaml"): OpenApiTypes.STR, 200: UPDATED},
    )
    @action(detail=True, methods=["get", "post"])
    def config(self, request: Request, pk: str | None = None) -> Any:
        """GET the worker's dispatcher.yaml; POST ``config`` replaces it (a YAML mapping)."""
        return self._file(request, "config", "config")

    @extend_schema(responses=HealthChangeSerializer(many=True))
    @action(detail=True, methods=["get"], filter_backends=[])
    def history(self, request: Request, pk: str | None = None) -> Response:
        """The worker's health changes, newest first (its devices': ``devices/NAME/history/``)."""
        return history_page(self, health_history.worker_changes(actor(request), str(pk)))

    @extend_schema(request=SET_HEALTH, responses={202: UPDATED})
    @action(detail=True, methods=["post"])
    def set_health(self, request: Request, pk: str | None = None) -> Response:
        """POST ``health`` (ACTIVE, MAINTENANCE, RETIRED) and a ``reason``."""
        return set_health(
            request, WorkerHealth, worker_ops.update_worker, self.get_object().hostname
        )
