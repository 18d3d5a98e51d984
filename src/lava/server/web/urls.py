"""The web pages' URL map: LAVA's paths, each area's ``urlpatterns`` in its own module."""

from __future__ import annotations

from .views import accounts, devices, home, job, joblists, logs, misc, results, submit, workers

app_name = "web"

urlpatterns = [
    *home.urlpatterns,
    *joblists.urlpatterns,
    *job.urlpatterns,
    *logs.urlpatterns,
    *devices.urlpatterns,
    *workers.urlpatterns,
    *results.urlpatterns,
    *accounts.urlpatterns,
    *submit.urlpatterns,
    *misc.urlpatterns,
]
