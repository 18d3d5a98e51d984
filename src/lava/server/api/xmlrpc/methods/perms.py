"""Group permissions on devices and device types, and the device lists of a type, over XML-RPC.

LAVA names the permissions ``view_device``, ``submit_to_device``,
``change_device`` (and ``..._devicetype``); they are stored as view, submit,
change. Both spellings are accepted.
"""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from django.contrib.auth.models import Group

from ....scheduler import permissions
from ....scheduler.models import GroupDevicePermission, GroupDeviceTypePermission
from ....scheduler.states import DeviceHealth, DeviceState
from ..registry import Call, method
from .device_types import visible_device_type
from .devices import visible_device

Fault = xmlrpc.client.Fault
STORED = ("view", "submit", "change")


def _stored(permission: Any, model: str) -> str:
    name = str(permission)
    for stored in STORED:
        lava = f"{'submit_to' if stored == 'submit' else stored}_{model}"
        if name in (stored, lava):
            return stored
    raise Fault(
        400, f"Invalid permission '{permission}': view_{model}, submit_to_{model} or change_{model}"
    )


def _lava(stored: str, model: str) -> str:
    return f"{'submit_to' if stored == 'submit' else stored}_{model}"


def _group(name: Any) -> Group:
    group = Group.objects.filter(name=str(name)).first()
    if group is None:
        raise Fault(404, f"Group '{name}' was not found.")
    return group


@method("scheduler.devices.perms_add", ["undef", "str", "str", "str"])
def device_perms_add(call: Call, hostname: str, group: str, permission: str) -> None:
    """Give a group a permission on a device (the device is then restricted to such groups)."""
    call.need_perm("change_device")
    device = visible_device(call, hostname)
    GroupDevicePermission.objects.get_or_create(
        device=device, group=_group(group), permission=_stored(permission, "device")
    )


@method("scheduler.devices.perms_delete", ["undef", "str", "str", "str"])
def device_perms_delete(call: Call, hostname: str, group: str, permission: str) -> None:
    """Take a group's permission on a device away."""
    call.need_perm("change_device")
    device = visible_device(call, hostname)
    GroupDevicePermission.objects.filter(
        device=device, group=_group(group), permission=_stored(permission, "device")
    ).delete()


@method("scheduler.devices.perms_list", ["array", "str"])
def device_perms_list(call: Call, hostname: str) -> list[dict[str, str]]:
    """The group permissions on a device."""
    call.need_perm("change_device")
    device = visible_device(call, hostname)
    rows = device.permissions.select_related("group").order_by("group__name", "permission")
    return [{"name": _lava(p.permission, "device"), "group": p.group.name} for p in rows]


@method("scheduler.device_types.perms_add", ["undef", "str", "str", "str"])
def type_perms_add(call: Call, name: str, group: str, permission: str) -> None:
    """Give a group a permission on a device type."""
    call.need_perm("change_devicetype")
    device_type = visible_device_type(call, name)
    GroupDeviceTypePermission.objects.get_or_create(
        devicetype=device_type, group=_group(group), permission=_stored(permission, "devicetype")
    )


@method("scheduler.device_types.perms_delete", ["undef", "str", "str", "str"])
def type_perms_delete(call: Call, name: str, group: str, permission: str) -> None:
    """Take a group's permission on a device type away."""
    call.need_perm("change_devicetype")
    device_type = visible_device_type(call, name)
    GroupDeviceTypePermission.objects.filter(
        devicetype=device_type, group=_group(group), permission=_stored(permission, "devicetype")
    ).delete()


@method("scheduler.device_types.perms_list", ["array", "str"])
def type_perms_list(call: Call, name: str) -> list[dict[str, str]]:
    """The group permissions on a device type."""
    call.need_perm("change_devicetype")
    device_type = visible_device_type(call, name)
    rows = device_type.permissions.select_related("group").order_by("group__name", "permission")
    return [{"name": _lava(p.permission, "devicetype"), "group": p.group.name} for p in rows]


@method("scheduler.device_types.devices", ["array", "str", "str"])
def type_devices(call: Call, name: str, health: str | None = None) -> list[dict[str, str]]:
    """The devices of a type the caller may see, optionally of one health (GOOD, BAD...)."""
    device_type = visible_device_type(call, name)
    devices = permissions.visible_devices(call.user).filter(device_type=device_type)
    if health:
        wanted = {label.upper(): value for value, label in DeviceHealth.choices}
        if str(health).upper() not in wanted:
            raise Fault(400, f"Invalid health '{health}'")
        devices = devices.filter(health=wanted[str(health).upper()])
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
