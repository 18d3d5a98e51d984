"""A job's page and its sub-resources and actions (/scheduler/job/<id>/...)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
