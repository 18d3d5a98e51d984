"""Device types, devices and the lab's health (/scheduler/device_types, device/..., labhealth)."""

from __future__ import annotations

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
