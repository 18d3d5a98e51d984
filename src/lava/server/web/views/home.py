"""The home page and the scheduler's overview (/, /scheduler/)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
