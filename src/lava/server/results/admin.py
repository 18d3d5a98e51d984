"""Admin pages of results: staff see the results of the jobs they may see, no others.

Results are derived from the job's log as it is stored; they are read here, never
edited or deleted one by one (a job's results go with it: ``manage jobs rm``).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from lava.server.scheduler import permissions
from lava.server.scheduler.admin_actions import ReadOnlyAdmin

from .models import TestCase, TestSet, TestSuite


def _of_visible_jobs(request: HttpRequest, rows: Any, job: str) -> Any:
    return rows.filter(**{f"{job}__in": permissions.visible_jobs(request.user).values("pk")})


@admin.register(TestSuite)
class TestSuiteAdmin(ReadOnlyAdmin):
    list_display = ("id", "job", "name")
    search_fields = ("name",)
    raw_id_fields = ("job",)

    def get_queryset(self, request: HttpRequest) -> Any:
        return _of_visible_jobs(request, super().get_queryset(request), "job")


@admin.register(TestSet)
class TestSetAdmin(ReadOnlyAdmin):
    list_display = ("id", "suite", "name")
    raw_id_fields = ("suite",)

    def get_queryset(self, request: HttpRequest) -> Any:
        return _of_visible_jobs(request, super().get_queryset(request), "suite__job")


@admin.register(TestCase)
class TestCaseAdmin(ReadOnlyAdmin):
    list_display = ("id", "suite", "name", "result", "measurement", "units", "logged")
    list_filter = ("result",)
    search_fields = ("name",)
    raw_id_fields = ("suite", "test_set")

    def get_queryset(self, request: HttpRequest) -> Any:
        return _of_visible_jobs(request, super().get_queryset(request), "suite__job")
