"""Device tags: create and delete them, put them on devices and take them off."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from ..scheduler.models import Device, Tag
from .actors import Actor
from .errors import Conflict, Missing
from .names import check_length, check_name, get_device, get_tags


def create_tag(actor: Actor, name: str, description: str = "") -> Tag:
    """A new tag (``scheduler.add_tag``)."""
    actor.require("add_tag")
    check_name("tag", name)
    check_length(Tag, "description", description)
    if Tag.objects.filter(name=name).exists():
        raise Conflict(f"tag {name!r} already exists")
    return Tag.objects.create(name=name, description=description)


def describe_tag(actor: Actor, name: str, description: str) -> Tag:
    """Change what a tag says it means (``scheduler.change_tag``)."""
    actor.require("change_tag")
    check_length(Tag, "description", description)
    with transaction.atomic():
        tag = Tag.objects.select_for_update().filter(name=name).first()
        if tag is None:
            raise Missing(f"tag {name!r} does not exist")
        tag.description = description
        tag.save(update_fields=["description"])
    return tag


def delete_tag(actor: Actor, name: str) -> None:
    """Delete a tag (``scheduler.delete_tag``): devices and jobs lose it."""
    actor.require("delete_tag")
    deleted, _ = Tag.objects.filter(name=name).delete()
    if not deleted:
        raise Missing(f"tag {name!r} does not exist")


def tag_device(
    actor: Actor,
    hostname: str,
    names: Sequence[str],
    *,
    remove: bool = False,
    create: bool = False,
) -> Device:
    """Add tags to a device (``create``: new ones are made too, as LAVA's
    ``scheduler.devices.tags.add`` does), or remove tags it carries.

    Needs ``scheduler.change_device`` on a device the actor may see.
    """
    actor.require("change_device")
    with transaction.atomic():
        device = get_device(hostname, lock=True, actor=actor)
        tags = get_tags(names, create=create and not remove)
        if remove:
            has = set(device.tags.values_list("pk", flat=True))
            for tag in tags:
                if tag.pk not in has:
                    raise Missing(f"device {hostname!r} does not have tag {tag.name!r}")
            device.tags.remove(*tags)
        else:
            device.tags.add(*tags)
    return device


def tag_rows(hostname: str | None = None) -> list[dict[str, Any]]:
    """All tags with their device counts, or the tags of one device."""
    tags = get_device(hostname).tags.all() if hostname else Tag.objects.all()
    return [
        {"name": t.name, "description": t.description, "devices": t.devices.count()}
        for t in tags.order_by("name")
    ]
