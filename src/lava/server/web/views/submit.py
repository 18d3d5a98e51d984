"""Submitting a job from the browser (/scheduler/jobsubmit), validated as it is typed."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
