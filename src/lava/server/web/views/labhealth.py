"""The lab's health: every device's latest health check, and one device's health checks."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from lava.server.scheduler import permissions
from lava.server.scheduler.states import DeviceHealth

from ..access import actor
from . import labreads

LARGEST = 1000  # devices on the page: a lab's whole fleet, bounded


@require_GET
def lab_health(request: HttpRequest) -> HttpResponse:
    """Visible, not retired devices with their last health-check job (one join, no job scan)."""
    devices = (
        permissions.visible_devices(request.user)
        .exclude(health=DeviceHealth.RETIRED)
        .order_by("hostname")[:LARGEST]
    )
    rows = list(devices)
    # one read of the jobs, visible ones only: a health check the user may not see is
    # shown as none (its id and time stay hidden)
    ids = [d.last_health_report_job_id for d in rows if d.last_health_report_job_id]
    visible = permissions.visible_jobs(request.user).filter(pk__in=ids)
    jobs = {job.pk: job for job in visible.only("id", "sub_id", "state", "health", "end_time")}
    for row in rows:
        row.report = jobs.get(row.last_health_report_job_id)
    return render(request, "web/devices/labhealth.html", {"devices": rows})


@require_GET
def device_health_checks(request: HttpRequest, hostname: str) -> HttpResponse:
    """The device's newest health-check jobs."""
    who = actor(request)
    found = labreads.device(who, hostname)
    _, jobs = labreads.device_jobs(who, found.hostname, health_checks=True)
    context = {"device": found, "jobs": jobs, "recent": labreads.RECENT}
    return render(request, "web/devices/labhealth_device.html", context)


urlpatterns: list[URLPattern] = [
    path("scheduler/labhealth/", lab_health, name="labhealth"),
    path(
        "scheduler/labhealth/device/<str:hostname>",
        device_health_checks,
        name="labhealth_device",
    ),
]
