"""``/api/v0.2/``: LAVA's router."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from .jobs import JobViewSet
from .system import SystemViewSet

router = DefaultRouter()
router.register("jobs", JobViewSet, basename="jobs")
router.register("system", SystemViewSet, basename="system")

urlpatterns = [path("", include(router.urls))]
