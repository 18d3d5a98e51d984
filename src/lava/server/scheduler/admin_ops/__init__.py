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
from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.db.models import Model

from ..models import Alias, Device, DeviceType, Tag, Worker


class AdminError(ValueError):
    """An admin operation was refused; nothing was written."""


@dataclass(frozen=True)
class NameRule:
    """What a kind of name may be: the model field that stores it, and a safe pattern."""

    model: type[Model]
    field: str
    pattern: re.Pattern[str]
    rule: str

    @property
    def longest(self) -> int:
        return int(self.model._meta.get_field(self.field).max_length)


# Device types and tags name files too (TYPE.jinja2): no leading '-' or '_'.
SLUG = re.compile(r"[a-zA-Z0-9][-a-zA-Z0-9_]*")
# Device and worker names become file names (devices/HOST.jinja2, dispatcher.d/WORKER/).
HOSTNAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
# What people call groups and themselves: no control characters, slashes or quotes.
PERSON = re.compile(r"[^\W_][\w .@+-]*")
USERNAME = re.compile(r"[\w.@+-]+")  # Django's own username rule
SLUG_RULE = "use letters, digits, '_' and '-', starting with a letter or digit"
HOST_RULE = "use letters, digits, '.', '_' and '-', starting with a letter or digit"

# Every name an admin operation stores, checked here whatever interface asks: SQLite
# does not enforce a field's max_length, and one 300-character device-type name once
# broke device_types.list for everyone.
NAMES = {
    "device type": NameRule(DeviceType, "name", SLUG, SLUG_RULE),
    "tag": NameRule(Tag, "name", SLUG, SLUG_RULE),
    "device": NameRule(Device, "hostname", HOSTNAME, HOST_RULE),
    "worker": NameRule(Worker, "hostname", HOSTNAME, HOST_RULE),
    "alias": NameRule(Alias, "name", HOSTNAME, HOST_RULE),
    "group": NameRule(Group, "name", PERSON, "use letters, digits, spaces and . @ + - _"),
    "user": NameRule(User, "username", USERNAME, "use letters, digits and @ . + - _"),
}


def check_name(kind: str, name: object) -> str:
    """``name`` if it can be a ``kind`` name (length and pattern); AdminError saying why not."""
    rule = NAMES[kind]
    if not isinstance(name, str) or not name:
        raise AdminError(f"a {kind} name is required")
    if len(name) > rule.longest:
        raise AdminError(
            f"{kind} name {name[:40]!r}... is {len(name)} characters long: at most {rule.longest}"
        )
    if not rule.pattern.fullmatch(name):
        raise AdminError(f"{kind} name {name[:80]!r} is not valid: {rule.rule}")
    return name


def check_length(model: type[Model], field: str, value: str) -> str:
    """``value`` if it fits the model field; AdminError naming the field otherwise."""
    longest = model._meta.get_field(field).max_length
    if longest is not None and len(value) > longest:
        raise AdminError(f"{field} is {len(value)} characters long: at most {longest}")
    return value


def actor() -> str:
    """Who runs the command, for the reasons logged with state changes."""
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry for the uid (containers): still log something
        return f"uid {os.getuid()}"


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
        check_name("tag", name)
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
