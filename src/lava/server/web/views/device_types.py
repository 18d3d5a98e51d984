"""Device types: the overview table, a type's page, its template and its health history."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import URLPattern, path
from django.views.decorators.http import require_GET

from lava.server.scheduler import permissions
from lava.server.scheduler.models import DeviceType
from lava.server.scheduler.states import HealthDenominator
from lava.server.services import labfiles

from ..access import actor
from . import labreads


def health_frequency(device_type: DeviceType) -> str:
    """How often the type's devices run a health check, in LAVA's words."""
    if device_type.disable_health_check:
        return "disabled"
    unit = HealthDenominator(device_type.health_denominator).label.lower()
    return f"every {device_type.health_frequency} {unit}"


@require_GET
def device_types(request: HttpRequest) -> HttpResponse:
    """Every type the user may see: its devices by state and health, its queue."""
    rows = labreads.type_summary(actor(request))
    for row in rows:
        row["frequency"] = health_frequency(row["type"])
    return render(request, "web/devices/device_types.html", {"rows": rows})


@require_GET
def device_type(request: HttpRequest, name: str) -> HttpResponse:
    """A type: details, its devices, its newest jobs."""
    who = actor(request)
    found = labreads.device_type(who, name)
    devices = permissions.visible_devices(request.user).filter(device_type=found)
    rows, next_key = labreads.device_rows(devices)
    context = {
        "device_type": found,
        "aliases": sorted(found.aliases.values_list("name", flat=True)),
        "frequency": health_frequency(found),
        "rows": rows,
        "more_devices": bool(next_key),
        "jobs": labreads.recent_type_jobs(who, found.name),
        "recent": labreads.RECENT,
    }
    return render(request, "web/devices/device_type.html", context)


@require_GET
def device_type_yaml(request: HttpRequest, name: str) -> HttpResponse:
    """The type's Jinja2 template, as LAVA serves it (``<name>_template.yaml``)."""
    who = actor(request)
    found = labreads.device_type(who, name)
    text = labfiles.read_template(who, found.name)
    response = HttpResponse(text, content_type="text/plain; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{found.name}_template.yaml"'
    return response


@require_GET
def device_type_health_history(request: HttpRequest, name: str) -> HttpResponse:
    """The newest health changes of the type's devices the user may see."""
    who = actor(request)
    found = labreads.device_type(who, name)
    devices = permissions.visible_devices(request.user).filter(device_type=found)
    hostnames = devices.values_list("hostname", flat=True)[: labreads.PAGE * 10]
    changes = labreads.history("device", hostnames, limit=labreads.HISTORY * 2)
    context = {"device_type": found, "changes": changes}
    return render(request, "web/devices/dthealthhistory.html", context)


urlpatterns: list[URLPattern] = [
    path("scheduler/device_types", device_types, name="device_types"),
    path("scheduler/device_type/<str:name>", device_type, name="device_type"),
    path("scheduler/devicetypeyaml/<str:name>", device_type_yaml, name="devicetypeyaml"),
    path(
        "scheduler/dthealthhistory/device_type/<str:name>",
        device_type_health_history,
        name="dthealthhistory",
    ),
]
