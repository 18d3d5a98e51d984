"""``/api/v0.2/jobs/<id>/suites|tests/...``: a visible job's results, and their exports.

Suites and test cases are nested under their job, as in LAVA; a job the
caller may not see answers 404 here too, as a missing one.
"""

from __future__ import annotations

from typing import Any, ClassVar

import django_filters
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.request import Request

from ...results import exports
from ...results.models import TestCase, TestSuite
from ...scheduler.models import TestJob
from ...services import jobs as job_services
from ...services.names import choice, whole_number
from ..bounds import bounded
from .helpers import actor, export


def _digits(value: Any, what: str) -> int:
    number = whole_number(value)
    if number is None:
        raise NotFound(f"{what} '{value}' was not found.")
    return number


def visible_job(request: Request, pk: Any) -> TestJob:
    """The job ``pk`` if the caller may see it; 404, as for a missing one, otherwise."""
    return job_services.visible_job(actor(request), pk, related=False)


def page(request: Request, cases: Any) -> Any:
    """``?limit=&offset=`` of the CSV and YAML exports: all cases when absent."""
    try:
        offset = int(request.query_params.get("offset") or 0)
        limit = request.query_params.get("limit")
        size = int(limit) if limit not in (None, "") else None
    except ValueError:
        raise ValidationError({"detail": "limit and offset must be numbers"}) from None
    offset, size = bounded(offset, size)
    return cases[offset : offset + size] if size is not None else cases[offset:]


class SuiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = TestSuite
        fields = ("id", "job", "name")
        read_only_fields = fields


class TestCaseSerializer(serializers.Serializer):
    """A test case as LAVA's REST API shows it: the model's fields, result as text."""

    __test__ = False

    def to_representation(self, case: TestCase) -> dict[str, Any]:
        exported = exports.export_testcase(case)
        return {
            "id": case.id,
            "name": case.name,
            "units": case.units,
            "unit": case.units,
            "result": exported["result"],
            "measurement": exported["measurement"],
            "metadata": case.metadata,
            "suite": case.suite_id,
            "start_log_line": case.start_log_line,
            "end_log_line": case.end_log_line,
            "test_set": case.test_set_id,
            "logged": case.logged,
            "resource_uri": exported["url"],
        }


class SuiteFilter(django_filters.FilterSet):
    class Meta:
        model = TestSuite
        fields: ClassVar[dict[str, list[str]]] = {
            "id": ["exact", "lt", "gt"],
            "name": ["exact", "in", "contains", "icontains", "startswith", "endswith"],
        }


class TestCaseFilter(django_filters.FilterSet):
    """LAVA's test case filters; ``result`` takes a name (``fail``)."""

    __test__ = False

    result = django_filters.CharFilter(method="by_result")

    class Meta:
        model = TestCase
        fields: ClassVar[dict[str, list[str]]] = {
            "id": ["exact", "lt", "gt", "in"],
            "name": ["exact", "in", "contains", "icontains", "startswith", "endswith"],
            "start_log_line": ["exact", "lt", "lte", "gt", "gte"],
            "end_log_line": ["exact", "lt", "lte", "gt", "gte"],
            "logged": ["exact", "lt", "lte", "gt", "gte"],
            "measurement": ["exact", "lt", "lte", "gt", "gte"],
            "suite__name": ["exact", "in"],
        }

    def by_result(self, queryset: Any, name: str, value: str) -> Any:
        return queryset.filter(result=choice(TestCase.Result, value, "result"))


JOB_PK = OpenApiParameter("job_pk", OpenApiTypes.INT, OpenApiParameter.PATH)
SUITE_PK = OpenApiParameter("suite_pk", OpenApiTypes.INT, OpenApiParameter.PATH)
EXPORT_PAGE = [
    OpenApiParameter("limit", OpenApiTypes.INT, description="at most this many cases"),
    OpenApiParameter("offset", OpenApiTypes.INT, description="skip this many cases"),
]


@extend_schema(parameters=[JOB_PK])
class SuiteViewSet(viewsets.ReadOnlyModelViewSet):
    """``jobs/<id>/suites/``: the job's test suites; each one's cases as CSV or YAML."""

    serializer_class = SuiteSerializer
    filterset_class = SuiteFilter
    ordering_fields = ("id", "name")
    ordering = ("id",)

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):  # the schema generator: no database
            return TestSuite.objects.none()
        return TestSuite.objects.filter(job=visible_job(self.request, self.kwargs["job_pk"]))

    def get_object(self) -> TestSuite:
        suite = self.get_queryset().filter(pk=_digits(self.kwargs["pk"], "Suite")).first()
        if suite is None:
            raise NotFound(f"Suite '{self.kwargs['pk']}' was not found.")
        return suite

    @extend_schema(parameters=EXPORT_PAGE, responses={(200, "text/csv"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def csv(self, request: Request, job_pk: str, pk: str) -> HttpResponse:
        """The suite's test cases as LAVA's CSV export (``limit``/``offset`` page it)."""
        suite = self.get_object()
        cases = page(request, exports.job_cases(suite.job, suite.name))
        return export(exports.cases_csv(cases), "text/csv", f"suite_{suite.name}.csv")

    @extend_schema(parameters=EXPORT_PAGE, responses={(200, "text/plain"): OpenApiTypes.STR})
    @action(detail=True, methods=["get"])
    def yaml(self, request: Request, job_pk: str, pk: str) -> HttpResponse:
        """The suite's test cases as LAVA's YAML export (``limit``/``offset`` page it)."""
        suite = self.get_object()
        cases = page(request, exports.job_cases(suite.job, suite.name))
        return export(exports.cases_yaml(cases), "application/yaml", f"suite_{suite.name}.yaml")


@extend_schema(parameters=[JOB_PK])
class TestCaseViewSet(viewsets.ReadOnlyModelViewSet):
    """``jobs/<id>/tests/`` and ``jobs/<id>/suites/<suite>/tests/``: test cases, filtered."""

    __test__ = False

    serializer_class = TestCaseSerializer
    filterset_class = TestCaseFilter
    ordering_fields = ("id", "name", "logged", "result")
    ordering = ("id",)

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return TestCase.objects.none()
        job = visible_job(self.request, self.kwargs["job_pk"])
        cases = exports.job_cases(job)
        if "suite_pk" in self.kwargs:
            cases = cases.filter(suite_id=_digits(self.kwargs["suite_pk"], "Suite"))
        return cases

    def get_object(self) -> TestCase:
        case = self.get_queryset().filter(pk=_digits(self.kwargs["pk"], "Test case")).first()
        if case is None:
            raise NotFound(f"Test case '{self.kwargs['pk']}' was not found.")
        return case


@extend_schema(parameters=[JOB_PK, SUITE_PK])
class SuiteTestCaseViewSet(TestCaseViewSet):
    """``jobs/<id>/suites/<suite>/tests/``: the cases of one suite."""
