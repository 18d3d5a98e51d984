"""``scheduler.tags.*`` and ``scheduler.aliases.*``: names devices and jobs share; changes
through the services."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from ....scheduler import permissions
from ....scheduler.models import Alias, Tag
from ....services import device_types as type_services
from ....services import tags as tag_services
from ..registry import Call, method

Fault = xmlrpc.client.Fault


@method("scheduler.tags.list", ["array"])
def list_tags(call: Call) -> list[dict[str, Any]]:
    """Every tag, with its description."""
    return [
        {"name": name, "description": description or None}
        for name, description in Tag.objects.order_by("name").values_list("name", "description")
    ]


@method("scheduler.tags.show", ["struct", "str"])
def show_tag(call: Call, name: str) -> dict[str, Any]:
    """A tag and the devices the caller may see that carry it."""
    tag = Tag.objects.filter(name=str(name)).first()
    if tag is None:
        raise Fault(404, f"Tag '{name}' was not found.")
    devices = permissions.visible_devices(call.user).filter(tags=tag).order_by("hostname")
    return {
        "name": tag.name,
        "description": tag.description or None,
        "devices": list(devices.values_list("hostname", flat=True)),
    }


@method("scheduler.aliases.list", ["array"])
def list_aliases(call: Call) -> list[str]:
    """The aliases of the device types the caller may see."""
    visible = permissions.visible_device_types(call.user).values("pk")
    aliases = Alias.objects.filter(device_type__in=visible).order_by("name")
    return list(aliases.values_list("name", flat=True))


@method("scheduler.aliases.show", ["struct", "str"])
def show_alias(call: Call, name: str) -> dict[str, Any]:
    """An alias and the device type it stands for."""
    visible = permissions.visible_device_types(call.user).values("pk")
    alias = Alias.objects.filter(name=str(name), device_type__in=visible).first()
    if alias is None:
        raise Fault(404, f"Alias '{name}' was not found.")
    return {"name": alias.name, "device_type": alias.device_type_id}


@method("scheduler.tags.add", ["undef", "str", "str"])
def add_tag(call: Call, name: str, description: str | None = None) -> None:
    """Create a tag."""
    tag_services.create_tag(call.actor, str(name), description or "")


@method("scheduler.tags.delete", ["undef", "str"])
def delete_tag(call: Call, name: str) -> None:
    """Delete a tag (devices and jobs lose it)."""
    tag_services.delete_tag(call.actor, str(name))


@method("scheduler.aliases.add", ["undef", "str", "str"])
def add_alias(call: Call, name: str, device_type_name: str) -> None:
    """Give a device type another name that jobs may use."""
    type_services.add_alias(call.actor, str(name), str(device_type_name))


@method("scheduler.aliases.delete", ["undef", "str"])
def delete_alias(call: Call, name: str) -> None:
    """Remove an alias."""
    type_services.remove_alias(call.actor, str(name))
