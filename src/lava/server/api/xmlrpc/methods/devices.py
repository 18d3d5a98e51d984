"""``scheduler.devices.*``: the devices the caller may see, and their dictionaries (admins)."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from ....scheduler import dispatcher_config, permissions
from ....scheduler.models import Device, TestJob
from ....scheduler.states import DeviceHealth, DeviceState, JobState
from ... import dictionaries
from ..registry import Call, Text, method

Fault = xmlrpc.client.Fault


def visible_device(call: Call, hostname: Any) -> Device:
    """The device, if the caller may see it; 404 otherwise, as for one that does not exist."""
    device = (
        permissions.visible_devices(call.user)
        .select_related("worker_host")
        .filter(hostname=str(hostname))
        .first()
    )
    if device is None:
        raise Fault(404, f"Device '{hostname}' was not found.")
    return device


def current_jobs(hostnames: list[str]) -> dict[str, int]:
    busy = TestJob.objects.filter(actual_device__in=hostnames).exclude(state=JobState.FINISHED)
    return dict(busy.values_list("actual_device_id", "id"))


@method("scheduler.devices.list", ["array", "bool", "bool"])
def list_devices(call: Call, show_all: bool = False, offline_info: bool = False) -> list[dict]:
    """The devices the caller may see (Retired ones only with show_all)."""
    devices = permissions.visible_devices(call.user).order_by("hostname")
    if not show_all:
        devices = devices.exclude(health=DeviceHealth.RETIRED)
    rows = list(devices.values_list("hostname", "device_type_id", "health", "state"))
    jobs = current_jobs([row[0] for row in rows])
    return [
        {
            "hostname": hostname,
            "type": device_type,
            "health": DeviceHealth(health).label,
            "state": DeviceState(state).label,
            "current_job": jobs.get(hostname),
            "pipeline": True,
        }
        for hostname, device_type, health, state in rows
    ]


@method("scheduler.devices.show", ["struct", "str"])
def show(call: Call, hostname: str) -> dict[str, Any]:
    """A device's details."""
    device = visible_device(call, hostname)
    try:
        health_job = dispatcher_config.health_check_path(device.hostname) is not None
    except dispatcher_config.DeviceDictionaryError:
        health_job = False
    return {
        "hostname": device.hostname,
        "device_type": device.device_type_id,
        "health": DeviceHealth(device.health).label,
        "state": DeviceState(device.state).label,
        "health_job": health_job,
        "description": device.description,
        "pipeline": True,
        "has_device_dict": dispatcher_config.read_device_dictionary(device.hostname) is not None,
        "worker": device.worker_host_id,
        "current_job": current_jobs([device.hostname]).get(device.hostname),
        "tags": sorted(device.tags.values_list("name", flat=True)),
        "permissions": [
            {"name": p.group.name, "permission": p.permission}
            for p in device.permissions.select_related("group").order_by("group__name")
        ],
    }


@method("scheduler.devices.get_dictionary", ["base64", "str", "bool", "str"])
def get_dictionary(
    call: Call, hostname: str, render: bool = False, context: str | None = None
) -> xmlrpc.client.Binary:
    """The device dictionary (Jinja2), or with render the device configuration it makes."""
    device = visible_device(call, hostname)
    try:
        text = dictionaries.read(device, bool(render), context, call.user)
    except dictionaries.Missing as exc:
        raise Fault(404, str(exc)) from None
    except dictionaries.NeedsLogin as exc:
        raise Fault(401, str(exc)) from None
    except dictionaries.Refused as exc:
        raise Fault(400, str(exc)) from None
    return xmlrpc.client.Binary(text.encode("utf-8"))


@method("scheduler.devices.set_dictionary", ["bool", "str", "str"])
def set_dictionary(call: Call, hostname: str, dictionary: Text) -> bool:
    """Replace the device dictionary (superusers); refused when it does not render."""
    call.need_superuser()
    replace_dictionary(call, hostname, dictionary)
    return True


def replace_dictionary(call: Call, hostname: str, dictionary: Any) -> Device:
    """Store a visible device's new dictionary (text or Binary); fault 400 if it does not render."""
    device = visible_device(call, hostname)
    text = dictionary.data.decode("utf-8") if hasattr(dictionary, "data") else str(dictionary)
    try:
        dictionaries.replace(device, text)
    except dictionaries.Refused as exc:
        raise Fault(400, str(exc)) from None
    return device


@method("scheduler.devices.tags.list", ["array", "str"])
def list_tags(call: Call, hostname: str) -> list[str]:
    """The device's tags."""
    return sorted(visible_device(call, hostname).tags.values_list("name", flat=True))
