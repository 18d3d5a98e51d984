"""Device tags, as ``manage device-tags`` creates, adds and removes them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import transaction

from ..models import Device, Tag
from . import AdminError, check_name, get_device, get_tags


def create_tag(name: str, description: str = "") -> Tag:
    check_name("tag", name)
    if Tag.objects.filter(name=name).exists():
        raise AdminError(f"tag {name!r} already exists")
    return Tag.objects.create(name=name, description=description)


def tag_device(hostname: str, names: Sequence[str], *, remove: bool = False) -> Device:
    """Add existing tags to a device, or remove tags it carries."""
    with transaction.atomic():
        device = get_device(hostname, lock=True)
        tags = get_tags(names)
        if remove:
            has = set(device.tags.values_list("pk", flat=True))
            for tag in tags:
                if tag.pk not in has:
                    raise AdminError(f"device {hostname!r} does not have tag {tag.name!r}")
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
