"""Group permissions on devices and device types: who may see, submit to, change them.

LAVA names them ``view_device``, ``submit_to_device``, ``change_device`` (and
``..._devicetype``); they are stored as view, submit, change, and both
spellings are read here. Granting or withdrawing one needs the Django
permission to change the device (or device type).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Model

from ..scheduler.models import GroupDevicePermission, GroupDeviceTypePermission
from ..scheduler.permissions import CHANGE, SUBMIT, VIEW
from .actors import Actor
from .errors import Invalid
from .names import get_device, get_device_type, get_group

STORED = (VIEW, SUBMIT, CHANGE)


@dataclass(frozen=True)
class Target:
    """What a group permission is on: its model suffix and rows."""

    model: str  # device or devicetype: LAVA's permission suffix and the Django codename's
    rows: type[Model]
    field: str  # the rows' foreign key to the target


DEVICE = Target("device", GroupDevicePermission, "device")
DEVICE_TYPE = Target("devicetype", GroupDeviceTypePermission, "devicetype")


def lava_name(stored: str, target: Target) -> str:
    """``submit`` on a device is LAVA's ``submit_to_device``."""
    return f"{'submit_to' if stored == SUBMIT else stored}_{target.model}"


def stored_name(permission: object, target: Target) -> str:
    """The stored name of ``view``/``view_device`` and the like; Invalid listing them."""
    for stored in STORED:
        if str(permission) in (stored, lava_name(stored, target)):
            return stored
    names = ", ".join(lava_name(stored, target) for stored in STORED)
    raise Invalid(f"Invalid permission {str(permission)[:80]!r}: one of {names}")


def _object(actor: Actor, target: Target, name: str) -> Model:
    if target is DEVICE:
        return get_device(name, actor=actor)
    return get_device_type(name, actor=actor)


def _row(actor: Actor, target: Target, name: str, group: str, permission: str) -> dict:
    """The fields of one permission row, once the actor may change the target."""
    actor.require(f"change_{target.model}")
    return {
        target.field: _object(actor, target, name),
        "group": get_group(group),
        "permission": stored_name(permission, target),
    }


def grant(actor: Actor, target: Target, name: str, group: str, permission: str) -> Model:
    """Give ``group`` a permission on the device or type ``name`` (it is then restricted);
    the permission's row."""
    return target.rows.objects.get_or_create(**_row(actor, target, name, group, permission))[0]


def revoke(actor: Actor, target: Target, name: str, group: str, permission: str) -> None:
    """Take a group's permission on the device or type ``name`` away (none held: no change)."""
    target.rows.objects.filter(**_row(actor, target, name, group, permission)).delete()


def listing(actor: Actor, target: Target, name: str) -> list[dict[str, str]]:
    """The group permissions on the device or type ``name``, in LAVA's spelling."""
    actor.require(f"change_{target.model}")
    rows = target.rows.objects.filter(**{target.field: _object(actor, target, name)})
    rows = rows.select_related("group").order_by("group__name", "permission")
    return [{"name": lava_name(p.permission, target), "group": p.group.name} for p in rows]
