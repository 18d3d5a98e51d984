"""Names as people type them: what each kind of name may be, and the row a name finds.

Every name a service stores is checked here, whatever interface it came
through; a lookup that finds nothing raises ``Missing`` naming it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth.models import Group, User
from django.db.models import IntegerChoices, Model

from ..scheduler import permissions
from ..scheduler.models import Alias, Device, DeviceType, Tag, Worker
from ..scheduler.states import parse_choice
from .actors import Actor
from .errors import Invalid, Limit, Missing


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


def whole_number(text: object) -> int | None:
    """``text`` as an id or index: ASCII digits that fit a 64-bit integer, else None.

    ``str.isdigit`` alone accepts "¹", which ``int()`` then refuses.
    """
    value = str(text)
    if not (value.isascii() and value.isdigit()) or len(value) > 18:
        return None
    return int(value)


def check_name(kind: str, name: object) -> str:
    """``name`` if it can be a ``kind`` name (length and pattern); Invalid or Limit if not."""
    rule = NAMES[kind]
    if not isinstance(name, str) or not name:
        raise Invalid(f"a {kind} name is required")
    if len(name) > rule.longest:
        raise Limit(
            f"{kind} name {name[:40]!r}... is {len(name)} characters long: at most {rule.longest}"
        )
    if not rule.pattern.fullmatch(name):
        raise Invalid(f"{kind} name {name[:80]!r} is not valid: {rule.rule}")
    return name


def check_length(model: type[Model], field: str, value: str) -> str:
    """``value`` if it fits the model field; Limit naming the field otherwise."""
    longest = model._meta.get_field(field).max_length
    if longest is not None and len(value) > longest:
        raise Limit(f"{field} is {len(value)} characters long: at most {longest}")
    return value


def choice(enum: type[IntegerChoices], value: object, what: str) -> int:
    """A member of ``enum`` by its name or label in any case (``GOOD``, ``Maintenance``);
    Invalid naming ``what`` and the choices otherwise. Every interface parses choices here."""
    if isinstance(value, str):
        try:
            return parse_choice(enum, value)
        except ValueError:
            pass
    names = ", ".join(member.name for member in enum)
    raise Invalid(f"Invalid {what} {str(value)[:80]!r}: one of {names}")


def check_health(enum: type[IntegerChoices], value: int) -> int:
    """``value`` if it is one of ``enum``'s healths; Invalid naming them otherwise."""
    if value not in enum.values:
        names = ", ".join(label.upper() for _, label in enum.choices)
        raise Invalid(f"invalid health {value!r}: one of {names}")
    return value


def get_device(hostname: str, *, lock: bool = False, actor: Actor | None = None) -> Device:
    """The device; with ``actor``, only one they may see (a hidden one is Missing too)."""
    devices = Device.objects
    if actor is not None and not actor.at_console:
        devices = permissions.visible_devices(actor.user)
    if lock:  # of=self: PostgreSQL locks no row of the nullable (outer-joined) worker
        devices = devices.select_for_update(of=("self",))
    try:
        return devices.select_related("device_type", "worker_host").get(hostname=hostname)
    except Device.DoesNotExist:
        raise Missing(f"device {hostname!r} does not exist") from None


def get_device_type(name: str, *, actor: Actor | None = None, lock: bool = False) -> DeviceType:
    """The device type; with ``actor``, only one they may see (a hidden one is Missing too)."""
    types = DeviceType.objects
    if actor is not None and not actor.at_console:
        types = permissions.visible_device_types(actor.user)
    if lock:
        types = types.select_for_update()
    try:
        return types.get(name=name)
    except DeviceType.DoesNotExist:
        raise Missing(f"device type {name!r} does not exist") from None


def get_worker(hostname: str, *, lock: bool = False) -> Worker:
    workers = Worker.objects.select_for_update() if lock else Worker.objects
    try:
        return workers.get(hostname=hostname)
    except Worker.DoesNotExist:
        raise Missing(f"worker {hostname!r} does not exist") from None


def get_user(username: str) -> User:
    try:
        return User.objects.get(username=username)
    except User.DoesNotExist:
        raise Missing(f"user {username!r} does not exist") from None


def get_group(name: str) -> Group:
    try:
        return Group.objects.get(name=name)
    except Group.DoesNotExist:
        raise Missing(f"group {name!r} does not exist") from None


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
            raise Missing(f"tag {name!r} does not exist") from None
    return tags
