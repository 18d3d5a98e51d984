"""Group permissions on devices and device types, and the device lists of a type, over XML-RPC.

LAVA names the permissions ``view_device``, ``submit_to_device``,
``change_device`` (and ``..._devicetype``); they are stored as view, submit,
change. Both spellings are accepted.
"""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import Group
from django.db.models import Model

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


@dataclass(frozen=True)
class Target:
    """What the perms_* methods of one namespace act on."""

    namespace: str  # scheduler.devices
    model: str  # device: LAVA's permission suffix and the Django codename's
    system: str  # device: the suffix of system.assign_perm_* and system.revoke_perm_*
    rows: type[Model]  # the permission rows
    field: str  # their foreign key to the target
    find: Callable[[Call, Any], Model]  # the target, if the caller may see it


def _register(target: Target) -> None:
    def add(call: Call, name: str, group: str, permission: str) -> None:
        call.need_perm(f"change_{target.model}")
        target.rows.objects.get_or_create(
            **{target.field: target.find(call, name)},
            group=_group(group),
            permission=_stored(permission, target.model),
        )

    def delete(call: Call, name: str, group: str, permission: str) -> None:
        call.need_perm(f"change_{target.model}")
        target.rows.objects.filter(
            **{target.field: target.find(call, name)},
            group=_group(group),
            permission=_stored(permission, target.model),
        ).delete()

    def listing(call: Call, name: str) -> list[dict[str, str]]:
        call.need_perm(f"change_{target.model}")
        rows = target.rows.objects.filter(**{target.field: target.find(call, name)})
        rows = rows.select_related("group").order_by("group__name", "permission")
        return [{"name": _lava(p.permission, target.model), "group": p.group.name} for p in rows]

    add.__doc__ = f"Give a group a permission on a {target.model} (it is then restricted)."
    delete.__doc__ = f"Take a group's permission on a {target.model} away."
    listing.__doc__ = f"The group permissions on a {target.model}."
    method(f"{target.namespace}.perms_add", ["undef", "str", "str", "str"])(add)
    method(f"{target.namespace}.perms_delete", ["undef", "str", "str", "str"])(delete)
    method(f"{target.namespace}.perms_list", ["array", "str"])(listing)

    # LAVA's older spelling of add and delete, arguments in another order
    def assign(call: Call, permission: str, name: str, group: str) -> None:
        add(call, name, group, permission)

    def revoke(call: Call, permission: str, name: str, group: str) -> None:
        delete(call, name, group, permission)

    assign.__doc__ = f"Grant a group a permission (e.g. view_{target.model}) on a {target.model}."
    revoke.__doc__ = f"Revoke a group's permission on a {target.model}."
    method(f"system.assign_perm_{target.system}", ["undef", "str", "str", "str"])(assign)
    method(f"system.revoke_perm_{target.system}", ["undef", "str", "str", "str"])(revoke)


_register(
    Target("scheduler.devices", "device", "device", GroupDevicePermission, "device", visible_device)
)
_register(
    Target(
        "scheduler.device_types",
        "devicetype",
        "device_type",
        GroupDeviceTypePermission,
        "devicetype",
        visible_device_type,
    )
)


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
