"""Devices: LAVA's device lists, a device's page, dictionary and health change.

The device-type and lab-health pages live in their own modules; their URLs
are joined here, as ``web/urls.py`` takes one list per area.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST

from lava.server.scheduler.models import Device
from lava.server.scheduler.states import DeviceHealth
from lava.server.services import (
    Actor,
    Missing,
    Refused,
    ServiceError,
    device_commands,
    dictionaries,
)
from lava.server.services import devices as device_ops

from ..access import actor
from . import device_types, labhealth, labreads
from .healthform import health_and_reason

CHANGE_DEVICE = "scheduler.change_device"


def _list(request: HttpRequest, which: str, title: str, devices: QuerySet[Device]) -> HttpResponse:
    after = request.GET.get("after", "")
    if len(after) > labreads.LONGEST_NAME or "\x00" in after:
        after = ""
    rows, next_key = labreads.device_rows(devices, after)
    context = {"title": title, "which": which, "rows": rows, "next": next_key, "after": after}
    return render(request, "web/devices/devices.html", context)


def device_list(which: str) -> Callable[[HttpRequest], HttpResponse]:
    """The view of one of LAVA's device lists (all, active, online, passing, maintenance)."""

    @require_GET
    def view(request: HttpRequest) -> HttpResponse:
        devices = labreads.device_list(actor(request), which)
        return _list(request, which, labreads.DEVICE_LISTS[which][0], devices)

    view.__name__ = f"devices_{which}"
    return view


@require_GET
def my_devices(request: HttpRequest) -> HttpResponse:
    """Devices the user physically owns (or their groups do)."""
    if not request.user.is_authenticated:
        raise Refused("sign in to see the devices you own", login=True)
    return _list(request, "mine", "My devices", labreads.my_devices(actor(request)))


@require_GET
def device(request: HttpRequest, hostname: str) -> HttpResponse:
    """A device: details, power and console, current job, recent jobs, health history and the
    health form."""
    who = actor(request)
    found = labreads.device(who, hostname)
    changes = labreads.history("device", [found.hostname], limit=labreads.RECENT)
    current, jobs = labreads.device_jobs(who, found.hostname)
    context = {
        "device": found,
        "health": DeviceHealth(found.health).label,
        "reason": changes[0].reason if changes else "",
        "tags": sorted(t.name for t in found.tags.all()),
        "current": current,
        "jobs": jobs,
        "changes": changes,
        "can_change": request.user.is_authenticated and request.user.has_perm(CHANGE_DEVICE),
        "healths": DeviceHealth.choices,
        "recent": labreads.RECENT,
        "power": _power_and_console(who, found.hostname),
    }
    return render(request, "web/devices/device.html", context)


def _power_and_console(who: Actor, hostname: str) -> device_commands.PowerAndConsole | None:
    """The device's commands; None for someone who may not read its dictionary."""
    try:
        return device_commands.power_and_console(who, hostname)
    except (Missing, Refused):
        return None


@require_POST
def device_health(request: HttpRequest, hostname: str) -> HttpResponse:
    """POST ``health`` and ``reason``: the change is signed "(by NAME over web)"."""
    who = actor(request)
    found = labreads.device(who, hostname)  # hidden: Missing, before any other answer
    who.require("change_device")  # refused before the form is read: nothing to learn
    health, reason = health_and_reason(request, DeviceHealth)
    device_ops.update_device(who, found.hostname, health=health, reason=reason or "web page")
    label = DeviceHealth(health).label
    messages.success(request, f"{found.hostname}: health set to {label}.")
    return HttpResponseRedirect(reverse("web:device", args=[found.hostname]))


@require_GET
def device_dictionary(request: HttpRequest, hostname: str) -> HttpResponse:
    """The device dictionary, and the configuration it renders to (or why it does not)."""
    who = actor(request)
    found = labreads.device(who, hostname)
    text = dictionaries.read(who, found.hostname)
    try:
        rendered, problem = dictionaries.read(who, found.hostname, render=True), ""
    except ServiceError as exc:
        rendered, problem = "", str(exc)
    context = {"device": found, "text": text, "rendered": rendered, "problem": problem}
    return render(request, "web/devices/devicedict.html", context)


@require_GET
def device_dictionary_plain(request: HttpRequest, hostname: str) -> HttpResponse:
    """The device dictionary as plain text (Jinja2)."""
    who = actor(request)
    found = labreads.device(who, hostname)
    text = dictionaries.read(who, found.hostname)
    return HttpResponse(text, content_type="text/plain; charset=utf-8")


urlpatterns: list[URLPattern] = [
    *device_types.urlpatterns,
    *labhealth.urlpatterns,
    path("scheduler/alldevices", device_list("all"), name="alldevices"),
    path("scheduler/alldevices/active", device_list("active"), name="activedevices"),
    path("scheduler/online", device_list("online"), name="onlinedevices"),
    path("scheduler/passinghealthchecks", device_list("passing"), name="passingdevices"),
    path("scheduler/maintenance", device_list("maintenance"), name="maintenancedevices"),
    path("scheduler/mydevices", my_devices, name="mydevices"),
    path("scheduler/device/<str:hostname>", device, name="device"),
    path("scheduler/device/<str:hostname>/health", device_health, name="device_health"),
    path("scheduler/device/<str:hostname>/devicedict", device_dictionary, name="devicedict"),
    path(
        "scheduler/device/<str:hostname>/devicedict/plain",
        device_dictionary_plain,
        name="devicedict_plain",
    ),
]
