"""The admin operations behind ``lava-server manage``: one module per resource.

Functions take names as an admin types them, check everything before they
write, and raise ``AdminError`` with a message naming what is wrong; the
management commands only parse arguments and print.
"""

from __future__ import annotations

import getpass
import os
import re
from collections.abc import Iterable

from django.contrib.auth.models import Group, User
from django.core.exceptions import ValidationError
from django.core.validators import validate_slug

from ..models import Device, DeviceType, Tag, Worker

# Device and worker names become file names (devices/HOST.jinja2, dispatcher.d/WORKER/).
HOSTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


class AdminError(ValueError):
    """An admin operation was refused; nothing was written."""


def actor() -> str:
    """Who runs the command, for the reasons logged with state changes."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry for the uid (containers): still log something
        return f"uid {os.getuid()}"


def check_hostname(kind: str, name: str) -> None:
    """Refuse a device or worker name that cannot be used as a file name."""
    if not HOSTNAME.fullmatch(name) or len(name) > 200:
        raise AdminError(
            f"{kind} name {name!r} is not valid: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit (at most 200 characters)"
        )


def check_slug(kind: str, name: str) -> None:
    """Refuse a device type or tag name that is not a slug (as LAVA's models require)."""
    try:
        validate_slug(name)
    except ValidationError:
        raise AdminError(
            f"{kind} name {name!r} is not valid: use letters, digits, '_' and '-'"
        ) from None


def get_device(hostname: str, *, lock: bool = False) -> Device:
    # of=self: PostgreSQL locks no row of the nullable (outer-joined) worker
    devices = Device.objects.select_for_update(of=("self",)) if lock else Device.objects
    try:
        return devices.select_related("device_type", "worker_host").get(hostname=hostname)
    except Device.DoesNotExist:
        raise AdminError(f"device {hostname!r} does not exist") from None


def get_device_type(name: str) -> DeviceType:
    try:
        return DeviceType.objects.get(name=name)
    except DeviceType.DoesNotExist:
        raise AdminError(f"device type {name!r} does not exist") from None


def get_worker(hostname: str, *, lock: bool = False) -> Worker:
    workers = Worker.objects.select_for_update() if lock else Worker.objects
    try:
        return workers.get(hostname=hostname)
    except Worker.DoesNotExist:
        raise AdminError(f"worker {hostname!r} does not exist") from None


def get_user(username: str) -> User:
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise AdminError(f"user {username!r} does not exist") from None


def get_group(name: str) -> Group:
    try:
        return Group.objects.get(name=name)
    except Group.DoesNotExist:
        raise AdminError(f"group {name!r} does not exist") from None


def get_tags(names: Iterable[str], *, create: bool = False) -> list[Tag]:
    """The tags named; with ``create``, missing ones are made (as ``devices add`` does)."""
    wanted = list(dict.fromkeys(names))
    for name in wanted:
        check_slug("tag", name)
    tags = []
    for name in wanted:
        if create:
            tags.append(Tag.objects.get_or_create(name=name)[0])
            continue
        try:
            tags.append(Tag.objects.get(name=name))
        except Tag.DoesNotExist:
            raise AdminError(f"tag {name!r} does not exist") from None
    return tags
