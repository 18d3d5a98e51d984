"""``/api/v0.2/``: LAVA's router."""

from __future__ import annotations

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.routers import DefaultRouter, SimpleRouter

from . import schema  # noqa: F401 (registers the token scheme)
from .device_types import AliasViewSet, DeviceTypeViewSet
from .devices import DeviceViewSet
from .jobs import JobViewSet
from .results import SuiteTestCaseViewSet, SuiteViewSet, TestCaseViewSet
from .system import SystemViewSet
from .tags import TagViewSet
from .tokens import TokenView
from .workers import WorkerViewSet

router = DefaultRouter()
router.register("jobs", JobViewSet, basename="jobs")
router.register("system", SystemViewSet, basename="system")
router.register("devices", DeviceViewSet, basename="devices")
router.register("devicetypes", DeviceTypeViewSet, basename="devicetypes")
router.register("workers", WorkerViewSet, basename="workers")
router.register("tags", TagViewSet, basename="tags")
router.register("aliases", AliasViewSet, basename="aliases")

# a job's results, nested under it as in LAVA: jobs/<id>/suites/<suite>/tests/<case>/
JOB = r"jobs/(?P<job_pk>[^/.]+)"
nested = SimpleRouter()
nested.register(f"{JOB}/suites", SuiteViewSet, basename="jobs-suite")
nested.register(f"{JOB}/tests", TestCaseViewSet, basename="jobs-tests")
nested.register(
    rf"{JOB}/suites/(?P<suite_pk>[^/.]+)/tests", SuiteTestCaseViewSet, basename="suites-test"
)

urlpatterns = [
    # the OpenAPI 3 description of this API, at a stable URL (YAML; ?format=json for JSON)
    path("schema/", SpectacularAPIView.as_view(api_version="v0.2"), name="rest-schema"),
    path("token/", TokenView.as_view(), name="rest-token"),
    path("", include(router.urls)),
    path("", include(nested.urls)),
]
