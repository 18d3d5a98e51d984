"""The lab's small documents: /api/help/, /v1/healthz/, /v1/prometheus/, /robots.txt."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
