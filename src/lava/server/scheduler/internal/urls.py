"""``/scheduler/internal/v1/``: the worker API's paths, as LAVA names them."""

from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("workers/<str:hostname>/", views.worker),
    path("jobs/<str:job_id>/", views.job),
    path("jobs/<str:job_id>/logs/", views.logs),
]
