"""A job's log for the viewer: pages of lines through the line index, and new lines live."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
