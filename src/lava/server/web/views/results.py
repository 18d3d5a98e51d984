"""Results (/results/...): jobs, suites, test cases, exports and charts."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
