"""``scheduler.device_types.*``: the device types the caller may see."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from django.db.models import Count

from ....scheduler import dispatcher_config, permissions
from ....scheduler.models import DeviceType
from ....scheduler.states import HealthDenominator
from ..registry import Call, method

Fault = xmlrpc.client.Fault


def visible_device_type(call: Call, name: Any) -> DeviceType:
    found = permissions.visible_device_types(call.user).filter(name=str(name)).first()
    if found is None:
        raise Fault(404, f"Device-type '{name}' was not found.")
    return found


@method("scheduler.device_types.list", ["array", "bool"])
def list_device_types(call: Call, show_all: bool = False) -> list[dict[str, Any]]:
    """The device types the caller may see, with their device counts."""
    types = permissions.visible_device_types(call.user).annotate(count=Count("devices"))
    return [
        {
            "name": dt.name,
            "devices": dt.count,
            "installed": True,
            "template": dispatcher_config.device_type_template(dt.name) is not None,
        }
        for dt in types.order_by("name")
    ]


@method("scheduler.device_types.show", ["struct", "str"])
def show(call: Call, name: str) -> dict[str, Any]:
    """A device type's details: health-check frequency, aliases, devices."""
    dt = visible_device_type(call, name)
    devices = permissions.visible_devices(call.user).filter(device_type=dt).order_by("hostname")
    return {
        "name": dt.name,
        "description": dt.description,
        "display": dt.display,
        "health_disabled": dt.disable_health_check,
        "health_denominator": HealthDenominator(dt.health_denominator).label.lower(),
        "health_frequency": dt.health_frequency,
        "aliases": sorted(dt.aliases.values_list("name", flat=True)),
        "devices": list(devices.values_list("hostname", flat=True)),
        "default_template": dispatcher_config.device_type_template(dt.name) is None,
        "permissions": [],
    }
