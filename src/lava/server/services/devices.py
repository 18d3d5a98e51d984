"""Devices and their dictionaries: add, copy, change, delete, restrict to groups.

A device dictionary is checked before it is stored: it must extend the
device's type (or one of its aliases) and render, with the instance's
templates, into a YAML mapping. Database rows are written first, inside a
transaction; the dictionary file is written last, so a refusal leaves neither.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import transaction

from lava.common.device import DeviceDictionaryError, device_type_of, load_device

from ..scheduler import dispatcher_config, transitions
from ..scheduler.models import Device, DeviceType, GroupDevicePermission, TestJob
from ..scheduler.permissions import SUBMIT, VIEW
from ..scheduler.states import DeviceHealth, DeviceState, JobState
from .actors import Actor
from .errors import Conflict, Invalid, ServiceError
from .names import (
    check_health,
    check_length,
    check_name,
    get_device,
    get_device_type,
    get_group,
    get_tags,
    get_user,
    get_worker,
)


def validate_dictionary(text: str, hostname: str, device_type: DeviceType | None) -> dict[str, Any]:
    """The device configuration ``text`` renders to for ``hostname``; Invalid if it does not.

    It must extend the template of ``device_type`` or one of its aliases; with
    None (a dictionary of no device yet) any template it finds.
    """
    what = f"device dictionary for {hostname!r}"
    if not text.strip():
        raise Invalid(f"{what} is empty")
    try:
        # without a '{' there is no extends (and lava.common would take the text for a path)
        extends = device_type_of(text) if "{" in text else None
        if extends is None:
            example = device_type.name if device_type is not None else "TYPE"
            raise Invalid(
                f"{what} does not extend a device-type template "
                f"(start it with {{% extends '{example}.jinja2' %}})"
            )
        if device_type is not None:
            names = [device_type.name, *device_type.aliases.values_list("name", flat=True)]
            if extends not in names:
                raise Invalid(
                    f"{what} extends '{extends}.jinja2', but the device type is "
                    f"{device_type.name!r} (allowed: "
                    + ", ".join(f"'{n}.jinja2'" for n in names)
                    + ")"
                )
        return load_device(
            text,
            hostname=hostname,
            device_type=device_type.name if device_type is not None else extends,
            dirs=[settings.LAVA.devices_dir, *dispatcher_config.search_dirs()],
        )
    except DeviceDictionaryError as exc:
        raise Invalid(f"{what} does not render: {exc}") from None


def check_dictionary(actor: Actor, text: str) -> None:
    """Whether a dictionary of no device yet renders (``scheduler.change_device``)."""
    actor.require("change_device")
    validate_dictionary(text, "device", None)


def device_problems(device: Device) -> list[str]:
    """What stops ``device`` from rendering its configuration; empty when it renders."""
    text = dispatcher_config.read_device_dictionary(device.hostname)
    if text is None:
        path = dispatcher_config.device_dictionary_path(device.hostname)
        return [f"no device dictionary ({path})"]
    try:
        validate_dictionary(text, device.hostname, device.device_type)
    except ServiceError as exc:
        return [str(exc)]
    return []


def _people(physical_user: str | None, physical_group: str | None) -> tuple[Any, Any]:
    user = get_user(physical_user) if physical_user else None
    group = get_group(physical_group) if physical_group else None
    return user, group


def _restrict(device: Device, group: Group | None) -> None:
    """Only ``group`` may see and submit to ``device``; None: everyone may."""
    device.permissions.filter(permission__in=(VIEW, SUBMIT)).delete()
    if group is not None:
        for permission in (VIEW, SUBMIT):
            GroupDevicePermission.objects.create(group=group, device=device, permission=permission)


def _owners(group: str | None, public: bool, physical: Group | None) -> Group | None:
    """The group a device is restricted to: ``group``; else, when not ``public``, its
    physical group; None: everyone may see it."""
    if group:
        return get_group(group)
    if public:
        return None
    if physical is None:
        raise Invalid("a device that is not public needs a group to be restricted to")
    return physical


def _physical(device: Device, user: User | None, group: Group | None) -> None:
    if user is not None:
        device.physical_owner, device.physical_group = user, None
    elif group is not None:
        device.physical_owner, device.physical_group = None, group


def add_device(
    actor: Actor,
    hostname: str,
    *,
    device_type: str,
    worker: str,
    description: str = "",
    online: bool = True,
    tags: Sequence[str] = (),
    physical_user: str | None = None,
    physical_group: str | None = None,
    group: str | None = None,
    dictionary: str | None = None,
    health: int | None = None,
    public: bool = True,
) -> Device:
    """Create a device (``health``; else Good, or Maintenance when not ``online``) and store
    its dictionary. Only ``group`` may see it and submit to it, when given; not ``public``
    means the same for the physical group. Every refusal comes before anything is written."""
    actor.require("add_device")
    check_name("device", hostname)
    check_length(Device, "description", description)
    if health is None:
        health = DeviceHealth.GOOD if online else DeviceHealth.MAINTENANCE
    check_health(DeviceHealth, health)
    if Device.objects.filter(hostname=hostname).exists():
        raise Conflict(f"device {hostname!r} already exists")
    dt = get_device_type(device_type)
    host = get_worker(worker)
    user, physical = _people(physical_user, physical_group)
    owners = _owners(group, public, physical)
    if dictionary is not None:
        validate_dictionary(dictionary, hostname, dt)
    with transaction.atomic():
        device = Device(
            hostname=hostname,
            device_type=dt,
            worker_host=host,
            description=description,
            state=DeviceState.IDLE,
            health=health,
        )
        _physical(device, user, physical)
        device.save(force_insert=True)
        device.tags.set(get_tags(tags, create=True))
        _restrict(device, owners)
        if dictionary is not None:
            dispatcher_config.write_device_dictionary(hostname, dictionary)
    return device


def update_device(
    actor: Actor,
    hostname: str,
    *,
    health: int | None = None,
    worker: str | None = None,
    description: str | None = None,
    tags: Sequence[str] | None = None,
    physical_user: str | None = None,
    physical_group: str | None = None,
    group: str | None = None,
    public: bool | None = None,
    dictionary: str | None = None,
    reason: str | None = None,
    device_type: str | None = None,
) -> Device:
    """Change what is given; health goes through the transitions module with ``reason``,
    signed by the actor. ``group`` restricts the device to that group; ``public`` True lifts
    a restriction, False restricts it to its physical group."""
    actor.require("change_device")
    if device_type is not None:
        raise Invalid("changing a device's type is not supported: add a new device")
    if health is not None:
        check_health(DeviceHealth, health)
    if description is not None:
        check_length(Device, "description", description)
    host = get_worker(worker) if worker is not None else None
    user, physical = _people(physical_user, physical_group)
    with transaction.atomic():
        device = get_device(hostname, lock=True, actor=actor)
        physical_now = physical or device.physical_group
        owners = _owners(group, True if public is None else public, physical_now)
        if dictionary is not None:
            validate_dictionary(dictionary, hostname, device.device_type)
        new_tags = get_tags(tags, create=True) if tags is not None else None
        if health is not None:
            transitions.set_device_health(device, health, actor.signed(reason or "devices update"))
        if host is not None:
            device.worker_host = host
        if description is not None:
            device.description = description
        _physical(device, user, physical)
        device.save()
        if new_tags is not None:
            device.tags.set(new_tags)
        if owners is not None or public:
            _restrict(device, owners)
        if dictionary is not None:
            dispatcher_config.write_device_dictionary(hostname, dictionary)
    return device


def copy_device(
    actor: Actor,
    source: str,
    target: str,
    *,
    worker: str,
    online: bool = True,
    with_tags: bool = False,
) -> Device:
    """A new device like ``source`` (type, description, owners, restrictions, tags)."""
    actor.require("add_device")
    original = get_device(source, actor=actor)
    check_name("device", target)
    if Device.objects.filter(hostname=target).exists():
        raise Conflict(f"device {target!r} already exists")
    if dispatcher_config.read_device_dictionary(source) is None:
        raise Conflict(f"device {source!r} has no device dictionary to copy from")
    if online and dispatcher_config.read_device_dictionary(target) is None:
        path = dispatcher_config.device_dictionary_path(target)
        raise Conflict(
            f"refusing to add {target!r} with health Good: it has no device dictionary "
            f"({path}); write it first, or copy with --offline"
        )
    host = get_worker(worker)
    with transaction.atomic():
        device = Device.objects.create(
            hostname=target,
            device_type=original.device_type,
            worker_host=host,
            description=original.description,
            physical_owner=original.physical_owner,
            physical_group=original.physical_group,
            state=DeviceState.IDLE,
            health=DeviceHealth.GOOD if online else DeviceHealth.MAINTENANCE,
        )
        for row in original.permissions.all():
            GroupDevicePermission.objects.create(
                group_id=row.group_id, device=device, permission=row.permission
            )
        if with_tags:
            device.tags.set(original.tags.all())
    return device


def delete_device(actor: Actor, hostname: str) -> None:
    """Delete an Idle device (``scheduler.delete_device``); its dictionary file stays, as a
    record of what it was."""
    actor.require("delete_device")
    with transaction.atomic():
        device = get_device(hostname, lock=True, actor=actor)
        if device.state != DeviceState.IDLE:
            raise Conflict(
                f"device {hostname!r} is {DeviceState(device.state).label}: wait or fail its job"
            )
        device.delete()


def set_dictionary(actor: Actor, hostname: str, text: str) -> None:
    """Store a new dictionary once it renders for the device's type (superusers only:
    a dictionary names the commands the worker runs)."""
    actor.require_superuser("change a device dictionary")
    device = get_device(hostname, actor=actor)
    validate_dictionary(text, hostname, device.device_type)
    dispatcher_config.write_device_dictionary(hostname, text)


def device_rows(
    state: int | None = None, health: int | None = None, show_all: bool = False
) -> list[dict[str, Any]]:
    """``devices list``: Retired devices only with ``show_all`` or ``health=RETIRED``."""
    devices = Device.objects.select_related("worker_host").prefetch_related("tags")
    if state is not None:
        devices = devices.filter(state=state)
    if health is not None:
        devices = devices.filter(health=health)
    elif not show_all:
        devices = devices.exclude(health=DeviceHealth.RETIRED)
    return [
        {
            "hostname": d.hostname,
            "device-type": d.device_type_id,
            "state": DeviceState(d.state).label,
            "health": DeviceHealth(d.health).label,
            "worker": d.worker_host_id,
            "tags": [t.name for t in d.tags.all()],
        }
        for d in devices.order_by("hostname")
    ]


def _has_health_check(hostname: str) -> bool:
    try:
        return dispatcher_config.health_check_path(hostname) is not None
    except DeviceDictionaryError:  # an unreadable dictionary extends nothing
        return False


def device_details(hostname: str) -> dict[str, Any]:
    """``devices details``: LAVA's fields and a few more."""
    device = get_device(hostname)
    current = (
        TestJob.objects.filter(actual_device=device)
        .exclude(state=JobState.FINISHED)
        .values_list("id", flat=True)
        .first()
    )
    physical = device.physical_owner or device.physical_group
    groups = sorted(
        {p.group.name for p in device.permissions.select_related("group") if p.permission == VIEW}
    )
    return {
        "hostname": device.hostname,
        "device-type": device.device_type_id,
        "state": DeviceState(device.state).label,
        "health": DeviceHealth(device.health).label,
        "health job": _has_health_check(hostname),
        "description": device.description,
        "physical": str(physical) if physical else "",
        "restricted to": groups,
        "tags": [t.name for t in device.tags.all()],
        "device-dict": dispatcher_config.read_device_dictionary(hostname) is not None,
        "worker": device.worker_host_id,
        "current_job": current,
    }
