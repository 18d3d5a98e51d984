"""``scheduler.devices.*``: every device method; reads here, changes through the services.

Adding, changing and deleting devices, their dictionaries, tags and group
permissions is ``lava.server.services``' work: each method parses its
parameters and calls one service function with the caller as the actor.
"""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from ....scheduler import dispatcher_config, permissions
from ....scheduler.models import Device, TestJob
from ....scheduler.states import DeviceHealth, DeviceState, JobState
from ....services import devices as device_services
from ....services import dictionaries, group_permissions, health_history, tags
from ....services.names import choice, get_device
from ...bounds import bounded
from ..grants import register_group_permissions
from ..registry import Call, Text, method, text

Fault = xmlrpc.client.Fault
MAX_HISTORY = 100  # health changes one history call returns


def visible_device(call: Call, hostname: Any) -> Device:
    """The device, if the caller may see it; missing (404) otherwise, as one that does not
    exist."""
    return get_device(str(hostname), actor=call.actor)


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


def history_page(changes: Any, start: int, limit: int) -> list[dict[str, Any]]:
    """Rows ``start`` to ``start + limit`` of a health history (``limit`` at most 100)."""
    start, limit = bounded(int(start), min(int(limit), MAX_HISTORY))
    return [health_history.as_row(change) for change in changes[start : start + limit]]


@method("scheduler.devices.history", ["array", "str", "int", "int"])
def history(call: Call, hostname: str, start: int = 0, limit: int = 50) -> list[dict[str, Any]]:
    """The device's health changes, newest first (at most 100 a call, from ``start``).

    Each is a struct: ``time``, ``old`` and ``new`` health, ``reason``, ``user`` (who
    made it; ``lava-health`` for the lab's own) and ``message``, LAVA's
    "Good → Bad (reason)". A device you may not see answers 404, as a missing one.
    """
    changes = health_history.device_changes(call.actor, str(hostname))
    return history_page(changes, start, limit)


@method("scheduler.devices.get_dictionary", ["base64", "str", "bool", "str"])
def get_dictionary(
    call: Call, hostname: str, render: bool = False, context: str | None = None
) -> xmlrpc.client.Binary:
    """The device dictionary (Jinja2), or with render the device configuration it makes."""
    text = dictionaries.read(call.actor, str(hostname), bool(render), context)
    return xmlrpc.client.Binary(text.encode("utf-8"))


@method("scheduler.devices.set_dictionary", ["bool", "str", "str"])
def set_dictionary(call: Call, hostname: str, dictionary: Text) -> bool:
    """Replace the device dictionary (superusers); refused when it does not render."""
    device_services.set_dictionary(call.actor, str(hostname), text(dictionary))
    return True


@method("scheduler.devices.tags.list", ["array", "str"])
def list_tags(call: Call, hostname: str) -> list[str]:
    """The device's tags."""
    return sorted(visible_device(call, hostname).tags.values_list("name", flat=True))


@method("scheduler.devices.add", ["undef", "str", "str", "str", "str", "str", "bool", "str", "str"])
def add_device(
    call: Call,
    hostname: str,
    type_name: str,
    worker_hostname: str,
    user_name: str | None = None,
    group_name: str | None = None,
    public: bool = True,
    health: str | None = None,
    description: str | None = None,
) -> None:
    """Add a device of that type on that worker (Good health, or ``health``); not ``public``:
    only ``group_name`` may see it and submit to it."""
    device_services.add_device(
        call.actor,
        str(hostname),
        device_type=str(type_name),
        worker=str(worker_hostname),
        description=description or "",
        physical_user=user_name or None,
        physical_group=group_name or None,
        health=None if health in (None, "") else choice(DeviceHealth, health, "health"),
        public=bool(public),
    )


@method(
    "scheduler.devices.update",
    ["undef", "str", "str", "str", "str", "bool", "str", "str", "str", "str"],
)
def update_device(
    call: Call,
    hostname: str,
    worker_hostname: str | None = None,
    user_name: str | None = None,
    group_name: str | None = None,
    public: bool | None = None,
    health: str | None = None,
    description: str | None = None,
    device_type: str | None = None,
    reason: str | None = None,
) -> None:
    """Change a device's worker, health (e.g. MAINTENANCE), description, owners or whether it
    is public (false: only its group may see it)."""
    device_services.update_device(
        call.actor,
        str(hostname),
        health=None if health in (None, "") else choice(DeviceHealth, health, "health"),
        worker=worker_hostname or None,
        description=description,
        physical_user=user_name or None,
        physical_group=group_name or None,
        public=public,
        device_type=device_type or None,
        reason=reason or None,
    )


@method("scheduler.devices.delete", ["undef", "str"])
def delete_device(call: Call, hostname: str) -> None:
    """Delete an Idle device (its dictionary file stays, as a record)."""
    device_services.delete_device(call.actor, str(hostname))


@method("scheduler.devices.tags.add", ["undef", "str", "str"])
def add_device_tag(call: Call, hostname: str, name: str) -> None:
    """Tag a device (the tag is created when new)."""
    tags.tag_device(call.actor, str(hostname), [str(name)], create=True)


@method("scheduler.devices.tags.delete", ["undef", "str", "str"])
def delete_device_tag(call: Call, hostname: str, name: str) -> None:
    """Take a tag off a device."""
    tags.tag_device(call.actor, str(hostname), [str(name)], remove=True)


register_group_permissions("scheduler.devices", "device", group_permissions.DEVICE)
