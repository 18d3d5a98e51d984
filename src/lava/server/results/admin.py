from __future__ import annotations

from django.contrib import admin

from .models import TestCase, TestSet, TestSuite


@admin.register(TestSuite)
class TestSuiteAdmin(admin.ModelAdmin):
    list_display = ("id", "job", "name")
    search_fields = ("name",)
    raw_id_fields = ("job",)


@admin.register(TestSet)
class TestSetAdmin(admin.ModelAdmin):
    list_display = ("id", "suite", "name")
    raw_id_fields = ("suite",)


@admin.register(TestCase)
class TestCaseAdmin(admin.ModelAdmin):
    list_display = ("id", "suite", "name", "result", "measurement", "units", "logged")
    list_filter = ("result",)
    search_fields = ("name",)
    raw_id_fields = ("suite", "test_set")
