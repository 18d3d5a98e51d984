"""The job lists (/scheduler/alljobs, queue, running, myjobs, ...): filters, sorting, pages."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
