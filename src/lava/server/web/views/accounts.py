"""Signing in and out (/accounts/...) and API tokens (/api/tokens/)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
