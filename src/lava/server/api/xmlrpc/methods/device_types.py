"""``scheduler.device_types.*``: every device-type method; changes through the services."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from django.db.models import Count

from ....scheduler import dispatcher_config, permissions
from ....scheduler.models import DeviceType
from ....scheduler.states import DeviceHealth, DeviceState, HealthDenominator
from ....services import device_types as type_services
from ....services import group_permissions, labfiles
from ....services.names import choice, get_device_type
from ..grants import register_group_permissions
from ..registry import Call, Text, method, text

Fault = xmlrpc.client.Fault


def visible_device_type(call: Call, name: Any) -> DeviceType:
    """The device type, if the caller may see it; missing (404) otherwise."""
    return get_device_type(str(name), actor=call.actor)


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


@method("scheduler.device_types.add", ["undef", "str", "str", "bool", "bool", "int", "str"])
def add_device_type(
    call: Call,
    name: str,
    description: str | None = None,
    display: bool = True,
    owners_only: bool = False,
    health_frequency: int = 24,
    health_denominator: str = "hours",
) -> None:
    """Add a device type; upload its template next (device_types.set_template)."""
    type_services.add_device_type(
        call.actor,
        str(name),
        health_frequency=int(health_frequency),
        health_denominator=choice(HealthDenominator, health_denominator, "health_denominator"),
        display=bool(display),
        require_template=False,
        description=text(description or ""),
        owners_only=bool(owners_only),
    )


@method(
    "scheduler.device_types.update",
    ["undef", "str", "str", "bool", "bool", "int", "str", "bool"],
)
def update_device_type(
    call: Call,
    name: str,
    description: str | None = None,
    display: bool | None = None,
    owners_only: bool | None = None,
    health_frequency: int | None = None,
    health_denominator: str | None = None,
    health_disabled: bool | None = None,
) -> None:
    """Change a device type's description, display, health-check frequency or whether
    checks run."""
    type_services.update_device_type(
        call.actor,
        str(name),
        health_frequency=None if health_frequency is None else int(health_frequency),
        health_denominator=None
        if health_denominator is None
        else choice(HealthDenominator, health_denominator, "health_denominator"),
        display=display,
        disable_health_check=health_disabled,
        description=None if description is None else text(description),
        owners_only=owners_only,
    )


@method("scheduler.device_types.get_template", ["str", "str"])
def get_template(call: Call, name: str) -> str:
    """The device type's Jinja2 template."""
    return labfiles.read_template(call.actor, str(name))


@method("scheduler.device_types.set_template", ["undef", "str", "str"])
def set_template(call: Call, name: str, template: Text) -> None:
    """Replace the device type's template (in the instance's dispatcher-config)."""
    labfiles.replace_template(call.actor, str(name), text(template))


@method("scheduler.device_types.get_health_check", ["str", "str"])
def get_health_check(call: Call, name: str) -> str:
    """The device type's health-check job definition."""
    return labfiles.read_health_check(call.actor, str(name))


@method("scheduler.device_types.set_health_check", ["undef", "str", "str"])
def set_health_check(call: Call, name: str, config: Text) -> None:
    """Replace the health check, once it passes the submission checks."""
    labfiles.replace_health_check(call.actor, str(name), text(config))


@method("scheduler.device_types.aliases.list", ["array", "str"])
def list_type_aliases(call: Call, name: str) -> list[str]:
    """The other names jobs may use for a device type."""
    return sorted(visible_device_type(call, name).aliases.values_list("name", flat=True))


@method("scheduler.device_types.aliases.add", ["undef", "str", "str"])
def add_type_alias(call: Call, name: str, alias: str) -> None:
    """Give a device type another name that jobs may use (scheduler.aliases.add)."""
    type_services.add_alias(call.actor, str(alias), str(name))


@method("scheduler.device_types.aliases.delete", ["undef", "str", "str"])
def delete_type_alias(call: Call, name: str, alias: str) -> None:
    """Take an alias off a device type (one of another type is not found)."""
    type_services.remove_alias(call.actor, str(alias), str(name))


@method("scheduler.device_types.devices", ["array", "str", "str"])
def type_devices(call: Call, name: str, health: str | None = None) -> list[dict[str, str]]:
    """The devices of a type the caller may see, optionally of one health (GOOD, BAD...)."""
    device_type = visible_device_type(call, name)
    devices = permissions.visible_devices(call.user).filter(device_type=device_type)
    if health:
        devices = devices.filter(health=choice(DeviceHealth, health, "health"))
    return [
        {
            "hostname": hostname,
            "health": DeviceHealth(health_value).label,
            "state": DeviceState(state).label,
        }
        for hostname, health_value, state in devices.order_by("hostname").values_list(
            "hostname", "health", "state"
        )
    ]


register_group_permissions("scheduler.device_types", "device_type", group_permissions.DEVICE_TYPE)
