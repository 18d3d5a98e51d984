"""``/api/v0.2/jobs/``: list, filter, show, submit, cancel, resubmit, validate; logs and results."""

from __future__ import annotations

from typing import Any, ClassVar

import django_filters
from django.db.models import Prefetch
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import (
    ValidationError,
)
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from lava.common import yamlio
from lava.common.schema import JobSchemaError
from lava.common.schema.testdef import validate_testdef

from ...logs.store import log_store
from ...results import exports
from ...scheduler import permissions
from ...scheduler.definitions import shown, shown_definition
from ...scheduler.models import TestJob
from ...scheduler.queue_position import queue_reason
from ...scheduler.states import JobHealth, JobState
from ...services import ServiceError
from ...services import jobs as job_services
from ...services import notifications as notification_services
from ...services.names import choice
from .helpers import Label, actor, export, field, flag
from .results import EXPORT_PAGE, page, visible_job

# a batch cancel larger than this is refused: each job is a locked transaction
MAX_BATCH_CANCEL = 1000


def _by_label(enum: Any, value: str) -> int:
    return choice(enum, value, "value")


# The list reads a page's groups and tags in one query each, kept as plain lists: Django's
# own prefetch built a filtered queryset per job and relation, half the list's reading.
LISTED = {name: f"listed_{name}" for name in ("viewing_groups", "tags")}


def _ids(job: TestJob, relation: str) -> list[int]:
    """The ids of a job's viewing groups or tags: as prefetched for a list, else read."""
    found = getattr(job, LISTED[relation], None)
    return [row.pk for row in (getattr(job, relation).all() if found is None else found)]


class JobFilter(django_filters.FilterSet):
    """LAVA's job filters; ``state`` and ``health`` take names (``Finished``, ``Complete``)."""

    state = django_filters.CharFilter(method="by_state")
    state__in = django_filters.CharFilter(method="by_states")
    health = django_filters.CharFilter(method="by_health")
    health__in = django_filters.CharFilter(method="by_healths")
    requested_device_type = django_filters.CharFilter(field_name="requested_device_type_id")
    actual_device = django_filters.CharFilter(field_name="actual_device_id")
    submitter = django_filters.CharFilter(field_name="submitter__username")

    class Meta:
        model = TestJob
        fields: ClassVar[dict[str, list[str]]] = {
            "id": ["exact", "in", "lt", "gt"],
            "health_check": ["exact"],
            "priority": ["exact", "lt", "gt"],
            "submit_time": ["exact", "lt", "gt"],
            "start_time": ["exact", "lt", "gt", "isnull"],
            "end_time": ["exact", "lt", "gt", "isnull"],
            "description": ["exact", "contains", "icontains", "startswith"],
            "submitter__username": ["exact", "in"],
            "requested_device_type__name": ["exact", "in"],
            "actual_device__hostname": ["exact", "in"],
        }

    def by_state(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(state=_by_label(JobState, value))

    def by_states(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(state__in=[_by_label(JobState, v) for v in value.split(",")])

    def by_health(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(health=_by_label(JobHealth, value))

    def by_healths(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(health__in=[_by_label(JobHealth, v) for v in value.split(",")])


class JobSerializer(serializers.ModelSerializer):
    submitter = serializers.CharField(source="submitter.username", read_only=True)
    state = Label(JobState)
    health = Label(JobHealth)
    viewing_groups = serializers.SerializerMethodField()
    tags = serializers.SerializerMethodField()
    failure_tags = serializers.SerializerMethodField()

    class Meta:
        model = TestJob
        fields = (
            "id",
            "submitter",
            "viewing_groups",
            "description",
            "health_check",
            "requested_device_type",
            "tags",
            "actual_device",
            "submit_time",
            "start_time",
            "end_time",
            "state",
            "health",
            "priority",
            "definition",
            "original_definition",
            "multinode_definition",
            "failure_tags",
            "failure_comment",
            "metadata",
        )
        read_only_fields = fields

    def get_failure_tags(self, job: TestJob) -> list[Any]:
        return []

    def get_viewing_groups(self, job: TestJob) -> list[int]:
        return _ids(job, "viewing_groups")

    def get_tags(self, job: TestJob) -> list[int]:
        return _ids(job, "tags")

    def to_representation(self, job: TestJob) -> dict[str, Any]:
        """The fields, definitions and metadata as the caller may see them (secrets masked)."""
        data = super().to_representation(job)
        request = self.context.get("request")  # without one: as to an anonymous caller
        return data | shown(job, getattr(request, "user", None))


class JobDetailSerializer(JobSerializer):
    """One job (``GET jobs/ID/``): the list's fields, and why it waits when it is queued."""

    queue_reason = serializers.SerializerMethodField()

    class Meta(JobSerializer.Meta):
        fields = (*JobSerializer.Meta.fields, "queue_reason")
        read_only_fields = fields

    def get_queue_reason(self, job: TestJob) -> str | None:
        """For a Submitted job, why it is not running yet (``scheduler.queue_position``)."""
        return queue_reason(job)


DEFINITION = inline_serializer(
    "Definition",
    {"definition": serializers.CharField(), "strict": serializers.BooleanField(required=False)},
)
SUBMITTED = inline_serializer(
    "Submitted",
    {
        "message": serializers.CharField(),
        "job_ids": serializers.ListField(child=serializers.IntegerField()),
    },
)
MESSAGE = inline_serializer("Message", {"message": serializers.CharField()})
METADATA = inline_serializer(
    "Metadata",
    {"metadata": serializers.ListField(child=serializers.DictField(child=serializers.CharField()))},
)
JOB_IDS = inline_serializer(
    "JobIds", {"job_ids": serializers.ListField(child=serializers.IntegerField())}
)
BATCH_CANCELED = inline_serializer(
    "BatchCanceled",
    {
        "message": serializers.CharField(),
        "job_ids": serializers.ListField(child=serializers.IntegerField()),
        "invalid_job_ids": serializers.ListField(child=serializers.JSONField()),
    },
)


class JobViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Jobs the caller may see; a hidden job answers 404, as a missing one."""

    serializer_class = JobSerializer
    filterset_class = JobFilter
    ordering_fields = ("id", "submit_time", "start_time", "end_time", "priority", "state", "health")
    ordering = ("-id",)

    def get_serializer_class(self) -> type[JobSerializer]:
        return JobDetailSerializer if self.action == "retrieve" else JobSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema generator: no database
            return TestJob.objects.none()
        return (
            permissions.visible_jobs(self.request.user)
            .select_related("submitter")
            .prefetch_related(*(Prefetch(name, to_attr=attr) for name, attr in LISTED.items()))
        )

    @extend_schema(request=DEFINITION, responses={201: SUBMITTED})
    def create(self, request: Request) -> Response:
        """POST ``definition``: submit a job; 201 with its id."""
        actor(request).need_user()
        definition = field(request, "definition")
        if not isinstance(definition, str) or not definition.strip():
            raise ValidationError({"definition": "a job definition (YAML) is required"})
        job = job_services.submit(actor(request), definition)
        return Response(
            {"message": "job(s) successfully submitted", "job_ids": [job.id]},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def logs(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The log, lines ``start`` to ``end``, as YAML."""
        job = self.get_object()
        start = _int(request.query_params.get("start"), "start", 0)
        end = request.query_params.get("end")
        last = None if end in (None, "") else _int(end, "end", 0)
        data = log_store().read(job.id, start, last)
        return HttpResponse(data, content_type="application/yaml; charset=utf-8")

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def definition(self, request: Request, pk: str | None = None) -> HttpResponse:
        text = shown_definition(self.get_object(), request.user)
        return HttpResponse(text, content_type="application/yaml; charset=utf-8")

    @extend_schema(parameters=EXPORT_PAGE, responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def csv(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The job's test cases as LAVA's CSV export (``limit``/``offset`` page it)."""
        job = self.get_object()
        text = exports.cases_csv(page(request, exports.job_cases(job)))
        return export(text, "text/csv", f"job_{job.id}.csv")

    @extend_schema(parameters=EXPORT_PAGE, responses={(200, "text/plain"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def yaml(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The job's test cases as LAVA's YAML export (``limit``/``offset`` page it)."""
        job = self.get_object()
        text = exports.cases_yaml(page(request, exports.job_cases(job)))
        return export(text, "application/yaml", f"job_{job.id}.yaml")

    @extend_schema(
        parameters=[OpenApiParameter("classname_prefix", OpenApiTypes.STR)],
        responses={(200, "application/xml"): OpenApiTypes.STR},
    )
    @action(detail=True, methods=["get"])
    def junit(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The job's results as a JUnit XML report (``classname_prefix`` before each suite)."""
        job = self.get_object()
        prefix = request.query_params.get("classname_prefix", "")
        return export(exports.junit(job, prefix), "application/xml", f"job_{job.id}.xml")

    @extend_schema(responses={(200, "text/plain"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def tap13(self, request: Request, pk: str | None = None) -> HttpResponse:
        """The job's results as a TAP version 13 stream."""
        job = self.get_object()
        return export(exports.tap13(job), "application/yaml", f"job_{job.id}.tap")

    @extend_schema(responses=METADATA)
    @action(detail=True, methods=["get"])
    def metadata(self, request: Request, pk: str | None = None) -> Response:
        """The definition's metadata, as a list of single-key mappings."""
        metadata = shown(self.get_object(), request.user)["metadata"]
        return Response({"metadata": exports.job_metadata(metadata)})

    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    @action(detail=True, methods=["get"])
    def notifications(self, request: Request, pk: str | None = None) -> Response:
        """The job's notifications (callbacks, mail) and how their delivery went."""
        return Response({"results": notification_services.delivery_log(actor(request), pk)})

    @extend_schema(request=None, responses={200: MESSAGE})
    @action(detail=True, methods=["get", "post"])
    def cancel(self, request: Request, pk: str | None = None) -> Response:
        actor(request).need_user()
        job = job_services.cancel_job(actor(request), self.get_object())
        return Response({"message": f"Job {job.id} canceled"})

    @extend_schema(request=None, responses={201: SUBMITTED})
    @action(detail=True, methods=["post"])
    def resubmit(self, request: Request, pk: str | None = None) -> Response:
        actor(request).need_user()
        new = job_services.resubmit_job(actor(request), self.get_object())
        return Response(
            {"message": "job(s) successfully resubmitted", "job_ids": [new.id]},
            status=status.HTTP_201_CREATED,
        )

    @extend_schema(request=DEFINITION, responses={200: MESSAGE})
    @action(detail=False, methods=["post"], permission_classes=[AllowAny])
    def validate(self, request: Request) -> Response:
        """POST ``definition`` (and ``strict``): whether the full schema accepts it."""
        definition = field(request, "definition")
        if not isinstance(definition, str):
            raise ValidationError({"definition": "a job definition (YAML) is required"})
        problem = job_services.validate(definition, flag(field(request, "strict")))
        if problem is not None:
            return Response({"message": f"Job invalid: {problem}"})
        return Response({"message": "Job valid."})

    @extend_schema(request=JOB_IDS, responses={200: BATCH_CANCELED})
    @action(detail=False, methods=["post"], url_path="batch-cancel")
    def batch_cancel(self, request: Request) -> Response:
        """POST ``job_ids``: cancel each job the caller may; the others are listed as invalid."""
        actor(request).need_user()
        ids = field(request, "job_ids")
        if not isinstance(ids, list) or not ids:
            raise ValidationError({"job_ids": "a list of job ids is required"})
        if len(ids) > MAX_BATCH_CANCEL:
            raise ValidationError({"job_ids": f"at most {MAX_BATCH_CANCEL} jobs at once"})
        canceled, invalid = [], []
        for job_id in ids:
            try:
                job_services.cancel_job(actor(request), visible_job(request, job_id))
            except ServiceError:
                invalid.append(job_id)
            else:
                canceled.append(job_id)
        return Response(
            {
                "message": "Job cancel signal sent for job ids.",
                "job_ids": canceled,
                "invalid_job_ids": invalid,
            }
        )

    @extend_schema(request=DEFINITION, responses={200: MESSAGE})
    @action(detail=False, methods=["post"], permission_classes=[AllowAny])
    def validate_testdef(self, request: Request) -> Response:
        """POST ``definition``: whether it is a valid Lava-Test test definition."""
        definition = field(request, "definition")
        if not isinstance(definition, str) or not definition.strip():
            raise ValidationError({"definition": "a test definition (YAML) is required"})
        try:
            validate_testdef(yamlio.load(definition, "the test definition"))
        except yamlio.YAMLError as exc:
            return Response({"message": f"Test definition invalid: not valid YAML: {exc}"})
        except JobSchemaError as exc:
            return Response({"message": f"Test definition invalid: {exc}"})
        return Response({"message": "Test definition valid."})

    def get_object(self) -> TestJob:
        return visible_job(self.request, self.kwargs.get("pk", ""))


def _int(value: Any, name: str, least: int) -> int:
    try:
        number = int(value) if value not in (None, "") else least
    except ValueError:
        raise ValidationError({name: f"not a number: {value!r}"}) from None
    return max(least, number)
