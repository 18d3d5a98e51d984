"""Who may see what and submit where: LAVA's visibility rules, in one place.

A device type or device with no ``view`` rows is visible to everyone; with
some, only to members of those groups. ``submit`` works the same way, for
signed-in users. A group granted ``change`` also holds ``submit`` and ``view``,
and ``submit`` holds ``view`` (LAVA's order of permissions). A device is
visible only if its type is. Superusers see and submit everywhere.

Jobs: public ones are visible to all, personal ones to their submitter, group
ones to members of every group listed; a job on a device type or device the
user cannot see is hidden too. A submitter always sees their own jobs. A job's
secrets are read by its submitter and superusers only, whoever else sees the
job (``definitions`` masks them for the others).

``denied`` reads the rules off the permission rows; every queryset and
predicate here is built on it, so they always agree. ``sees_job`` restates
``visible_jobs`` for one row already read (a test keeps the two equal).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, User
from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet

from ..postgresql import prepared_cursor
from ..services.orm_rows import written_once
from .models import Device, DeviceType, GroupDevicePermission, GroupDeviceTypePermission, TestJob
from .states import DeviceHealth, Visibility

AnyUser: TypeAlias = User | AnonymousUser

VIEW, SUBMIT, CHANGE = "view", "submit", "change"
# the rows that grant a permission: the permission itself or a stronger one
GRANTED_BY = {VIEW: (VIEW, SUBMIT, CHANGE), SUBMIT: (SUBMIT, CHANGE), CHANGE: (CHANGE,)}
CHANGE_JOB_PERMISSION = "scheduler.change_testjob"


def is_superuser(user: AnyUser | None) -> bool:
    """An active superuser: sees and may submit to everything."""
    return bool(user is not None and user.is_active and user.is_superuser)


def _signed_in(user: AnyUser | None) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active)


@functools.cache
def _rows_sql() -> str:
    member = User.groups.through._meta.db_table
    parts = [
        f"SELECT '{kind}', p.{column}, p.permission, EXISTS(SELECT 1 FROM {member} m "
        f"WHERE m.user_id = %s AND m.group_id = p.group_id) FROM {model._meta.db_table} p"
        for kind, model, column in (
            ("type", GroupDeviceTypePermission, "devicetype_id"),
            ("device", GroupDevicePermission, "device_id"),
        )
    ]
    parts.append(
        f"SELECT 'group', CAST(group_id AS TEXT), '', 1 = 1 FROM {member} WHERE user_id = %s"
    )
    return " UNION ALL ".join(parts)


@dataclass(frozen=True)
class Access:
    """What the rules need to know of a user: the permission rows and their groups."""

    rows: tuple[tuple[str, str, str, bool], ...]  # (type|device, object, permission, member)
    groups: frozenset[int]


def access(user: AnyUser | None) -> Access:
    """The permission rows (with whether ``user`` is in each one's group) and the user's groups.

    One query over the small tables; plain SQL, as this runs on every API call
    and the ORM would take longer to write it than the database to answer
    (prepared once per connection on PostgreSQL).
    """
    user_id = user.pk if _signed_in(user) else -1
    with prepared_cursor(connection) as cursor:
        cursor.execute(_rows_sql(), [user_id, user_id, user_id])
        found = cursor.fetchall()
    return Access(
        tuple(
            (kind, obj, perm, bool(member)) for kind, obj, perm, member in found if kind != "group"
        ),
        frozenset(int(obj) for kind, obj, _, _ in found if kind == "group"),
    )


def _denied_in(rows: list[tuple[str, str, bool]], needed: tuple[str, ...]) -> set[str]:
    """Objects of ``rows`` (object, permission, member) on which the user lacks a needed right.

    A right is restricted on an object by any row naming it; it is then held
    through the rows that grant it (the right itself or a stronger one) to a
    group the user is in.
    """
    denied: set[str] = set()
    for perm in needed:
        restricted = {obj for obj, kind, _ in rows if kind == perm}
        granted = {obj for obj, kind, member in rows if member and kind in GRANTED_BY[perm]}
        denied |= restricted - granted
    return denied


@dataclass(frozen=True)
class Denied:
    """What a user lacks a right on: device types, and devices by their own rows.

    A device is denied too when its type is, which ``devices`` leaves out and
    the querysets below add.
    """

    types: frozenset[str]
    devices: frozenset[str]


def denied(perm: str, user: AnyUser | None, known: Access | None = None) -> Denied:
    """Where ``user`` lacks ``perm``: the one place the rules live (``submit`` needs ``view``).

    One tiny query (none when ``known`` is given); most labs restrict nothing,
    and then nothing is denied.
    """
    if is_superuser(user):
        return Denied(frozenset(), frozenset())
    needed = (VIEW,) if perm == VIEW else (VIEW, perm)
    rows = (known or access(user)).rows
    return Denied(
        frozenset(_denied_in([r[1:] for r in rows if r[0] == "type"], needed)),
        frozenset(_denied_in([r[1:] for r in rows if r[0] == "device"], needed)),
    )


def _types(queryset: QuerySet[DeviceType], no: Denied) -> QuerySet[DeviceType]:
    return queryset.exclude(pk__in=no.types) if no.types else queryset


def _devices(queryset: QuerySet[Device], no: Denied) -> QuerySet[Device]:
    if no.types:
        queryset = queryset.exclude(device_type__in=no.types)
    return queryset.exclude(pk__in=no.devices) if no.devices else queryset


def visible_device_types(user: AnyUser | None) -> QuerySet[DeviceType]:
    """Device types ``user`` may see."""
    return _types(DeviceType.objects.all(), denied(VIEW, user))


def submittable_device_types(user: AnyUser | None) -> QuerySet[DeviceType]:
    """Device types ``user`` may see and submit jobs to (anonymous visitors: none)."""
    if not (is_superuser(user) or _signed_in(user)):
        return DeviceType.objects.none()
    return _types(DeviceType.objects.all(), denied(SUBMIT, user))


def visible_devices(user: AnyUser | None) -> QuerySet[Device]:
    """Devices ``user`` may see (their type must be visible too); retired ones included."""
    return _devices(Device.objects.all(), denied(VIEW, user))


def submittable_devices(user: AnyUser | None, known: Access | None = None) -> QuerySet[Device]:
    """Devices, not retired, that ``user`` may see and submit jobs to (type and device);
    ``known``: the user's `access`, when the caller has read it already."""
    if not (is_superuser(user) or _signed_in(user)):
        return Device.objects.none()
    devices = Device.objects.exclude(health=DeviceHealth.RETIRED)
    return _devices(devices, denied(SUBMIT, user, known))


def can_submit_to_some_device(
    user: AnyUser | None,
    device_type: DeviceType,
    worker: str | None = None,
    known: Access | None = None,
) -> bool:
    """Whether `submittable_devices` holds a device of ``device_type`` (on the worker named
    ``worker``): what submission asks of every job that names no device.

    One statement written once (prepared on PostgreSQL): the ORM took 0.3 ms to build
    what the database answers in 0.07. Of the devices read, no more than those denied
    to ``user`` by their own rows can be refused, so reading one row more decides.
    """
    if not (is_superuser(user) or _signed_in(user)):
        return False
    no = denied(SUBMIT, user, known)
    if device_type.pk in no.types:
        return False
    params: list[object] = [device_type.pk, int(DeviceHealth.RETIRED)]
    if worker is not None:
        params.append(worker)
    with prepared_cursor(connection) as cursor:
        cursor.execute(
            _some_device_sql(connection, worker is not None), [*params, len(no.devices) + 1]
        )
        return any(hostname not in no.devices for (hostname,) in cursor.fetchall())


@written_once
def _some_device_sql(q: Callable[[str], str], vendor: str, on_worker: bool) -> str:
    """Up to ``%s`` devices of a type (``%s``) that are not in a health (``%s``, retired),
    on a worker (``%s``) when ``on_worker``."""
    meta = Device._meta

    def column(name: str) -> str:
        return q(meta.get_field(name).column)

    where = f"{column('device_type')} = %s AND {column('health')} <> %s"
    if on_worker:
        where += f" AND {column('worker_host')} = %s"
    return f"SELECT {q(meta.pk.column)} FROM {q(meta.db_table)} WHERE {where} LIMIT %s"


def visible_jobs(user: AnyUser | None) -> QuerySet[TestJob]:
    """Jobs ``user`` may see.

    The device types and devices hidden from ``user`` are looked up first and
    named in the job query, which stays a plain filter: PostgreSQL plans it in
    a fraction of a millisecond, and in a lab that hides nothing it has no
    device rules at all.
    """
    if is_superuser(user):
        return TestJob.objects.all()
    known = access(user)
    q = Q(visibility=Visibility.PUBLIC)
    if known.groups:  # an anonymous caller is in none
        # a group job needs the user in every group it lists (and to list one)
        listed = TestJob.viewing_groups.through.objects.filter(testjob=OuterRef("pk"))
        not_member = listed.exclude(group_id__in=known.groups)
        q |= Q(visibility=Visibility.GROUP) & Exists(listed) & ~Exists(not_member)
    no = denied(VIEW, user, known)
    if no.types:
        q &= ~Q(requested_device_type__in=no.types)
        q &= ~Q(actual_device__in=Device.objects.filter(device_type__in=no.types).values("pk"))
    if no.devices:
        q &= ~Q(actual_device__in=no.devices)
    if _signed_in(user):
        q |= Q(submitter=user)
    return TestJob.objects.filter(q)


def sees_job(
    user: AnyUser | None,
    job: TestJob,
    device_type: str | None,
    groups: Collection[int],
    known: Access | None = None,
) -> bool:
    """Whether ``user`` may see ``job``, a row just read with ``device_type`` (its device's
    type) and ``groups`` (the groups it lists): `visible_jobs`' rules on one row.

    Without a query for a superuser or the job's submitter; else the rules are read
    (one tiny query, none when ``known`` is given).
    """
    if can_read_secrets(user, job):  # a superuser, or the submitter: every job of theirs
        return True
    known = known or access(user)
    if job.visibility == Visibility.GROUP:
        # a group job needs the user in every group it lists (and to list one)
        if not (groups and known.groups.issuperset(groups)):
            return False
    elif job.visibility != Visibility.PUBLIC:
        return False
    no = denied(VIEW, user, known)
    if job.requested_device_type_id in no.types or device_type in no.types:
        return False
    return job.actual_device_id not in no.devices


def can_view_device_type(
    user: AnyUser | None, device_type: DeviceType, known: Access | None = None
) -> bool:
    """Whether ``user`` may see ``device_type``.

    With ``known`` (the user's `access`), for a device type just read from the
    database: decided from the rows, without a query.
    """
    if known is not None:
        return is_superuser(user) or device_type.pk not in denied(VIEW, user, known).types
    return is_superuser(user) or visible_device_types(user).filter(pk=device_type.pk).exists()


def can_submit_to_device_type(
    user: AnyUser | None, device_type: DeviceType, known: Access | None = None
) -> bool:
    """Whether ``user`` may see ``device_type`` and submit jobs to it (``known``: as for
    `can_view_device_type`)."""
    if known is not None:
        if is_superuser(user):
            return True
        return _signed_in(user) and device_type.pk not in denied(SUBMIT, user, known).types
    return is_superuser(user) or submittable_device_types(user).filter(pk=device_type.pk).exists()


def can_view_device(user: AnyUser | None, device: Device) -> bool:
    """Whether ``user`` may see ``device`` (and so its type)."""
    return is_superuser(user) or visible_devices(user).filter(pk=device.pk).exists()


def can_submit_to_device(user: AnyUser | None, device: Device) -> bool:
    """Whether ``user`` may submit jobs to ``device``; nobody may submit to a retired one."""
    return submittable_devices(user).filter(pk=device.pk).exists()


def can_read_secrets(user: AnyUser | None, job: TestJob) -> bool:
    """Whether ``user`` may read ``job``'s secrets: its submitter, or a superuser."""
    return is_superuser(user) or (_signed_in(user) and job.submitter_id == user.pk)


def can_view_job(user: AnyUser | None, job: TestJob) -> bool:
    """Whether ``user`` may see ``job``."""
    return can_read_secrets(user, job) or visible_jobs(user).filter(pk=job.pk).exists()


def can_change_job(user: AnyUser | None, job: TestJob) -> bool:
    """Whether ``user`` may cancel or resubmit ``job``: its submitter, or an admin."""
    if can_read_secrets(user, job):
        return True
    return bool(_signed_in(user) and user.is_staff and user.has_perm(CHANGE_JOB_PERMISSION))
