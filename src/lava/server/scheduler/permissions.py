"""Who may see what and submit where: LAVA's visibility rules, in one place.

A device type or device with no ``view`` rows is visible to everyone; with
some, only to members of those groups. ``submit`` works the same way, for
signed-in users. A group granted ``change`` also holds ``submit`` and ``view``,
and ``submit`` holds ``view`` (LAVA's order of permissions). A device is
visible only if its type is. Superusers see and submit everywhere.

Jobs: public ones are visible to all, personal ones to their submitter, group
ones to members of every group listed; a job on a device type or device the
user cannot see is hidden too. A submitter always sees their own jobs.

Querysets are one SQL query each (``visible_jobs`` first asks, in one or two
tiny queries, whether the lab restricts any device); predicates use them, so
both always agree.
"""

from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Exists, Model, OuterRef, Q, QuerySet

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


def _allowed(rows: type[Model], field: str, perm: str, user: AnyUser | None, ref: str = "pk") -> Q:
    """Objects (``ref`` in the outer query) on which ``user`` holds ``perm`` through ``rows``."""
    own = rows.objects.filter(**{field: OuterRef(ref)})
    unrestricted = ~Exists(own.filter(permission=perm))
    if not _signed_in(user):
        # anonymous visitors may look at what nobody restricted, never submit
        return unrestricted if perm == VIEW else Q(pk__in=[])
    granted = Exists(own.filter(permission__in=GRANTED_BY[perm], group__user=user))
    return unrestricted | granted


def _device_type_q(perm: str, user: AnyUser | None, ref: str = "pk") -> Q:
    q = _allowed(GroupDeviceTypePermission, "devicetype", VIEW, user, ref)
    if perm != VIEW:
        q &= _allowed(GroupDeviceTypePermission, "devicetype", perm, user, ref)
    return q


def _device_q(perm: str, user: AnyUser | None) -> Q:
    q = _device_type_q(perm, user, ref="device_type") & _allowed(
        GroupDevicePermission, "device", VIEW, user
    )
    if perm != VIEW:
        q &= _allowed(GroupDevicePermission, "device", perm, user)
    return q


def visible_device_types(user: AnyUser | None) -> QuerySet[DeviceType]:
    """Device types ``user`` may see."""
    if is_superuser(user):
        return DeviceType.objects.all()
    return DeviceType.objects.filter(_device_type_q(VIEW, user))


def submittable_device_types(user: AnyUser | None) -> QuerySet[DeviceType]:
    """Device types ``user`` may see and submit jobs to."""
    if is_superuser(user):
        return DeviceType.objects.all()
    return DeviceType.objects.filter(_device_type_q(SUBMIT, user))


def visible_devices(user: AnyUser | None) -> QuerySet[Device]:
    """Devices ``user`` may see (their type must be visible too); retired ones included."""
    if is_superuser(user):
        return Device.objects.all()
    return Device.objects.filter(_device_q(VIEW, user))


def submittable_devices(user: AnyUser | None) -> QuerySet[Device]:
    """Devices, not retired, that ``user`` may see and submit jobs to (type and device)."""
    devices = Device.objects.exclude(health=DeviceHealth.RETIRED)
    if is_superuser(user):
        return devices
    return devices.filter(_device_q(SUBMIT, user))


def _view_restrictions_exist() -> bool:
    """Whether any device type or device is hidden from anyone (many labs hide nothing)."""
    return (
        GroupDeviceTypePermission.objects.filter(permission=VIEW).exists()
        or GroupDevicePermission.objects.filter(permission=VIEW).exists()
    )


def visible_jobs(user: AnyUser | None) -> QuerySet[TestJob]:
    """Jobs ``user`` may see.

    Without any ``view`` restriction in the lab, the device rules are left out
    of the query: the same answer, and much cheaper on a big job table.
    """
    if is_superuser(user):
        return TestJob.objects.all()
    listed = TestJob.viewing_groups.through.objects.filter(testjob=OuterRef("pk"))
    if _signed_in(user):
        not_member = listed.exclude(group__in=user.groups.all())
        group_ok = Q(visibility=Visibility.GROUP) & Exists(listed) & ~Exists(not_member)
        audience = Q(visibility=Visibility.PUBLIC) | group_ok
    else:
        audience = Q(visibility=Visibility.PUBLIC)
    q = audience
    if _view_restrictions_exist():
        device_type_ok = Q(requested_device_type__isnull=True) | Q(
            requested_device_type__in=visible_device_types(user).values("pk")
        )
        device_ok = Q(actual_device__isnull=True) | Q(
            actual_device__in=visible_devices(user).values("pk")
        )
        q &= device_type_ok & device_ok
    if _signed_in(user):
        q |= Q(submitter=user)
    return TestJob.objects.filter(q)


def can_view_device_type(user: AnyUser | None, device_type: DeviceType) -> bool:
    """Whether ``user`` may see ``device_type``."""
    return is_superuser(user) or visible_device_types(user).filter(pk=device_type.pk).exists()


def can_submit_to_device_type(user: AnyUser | None, device_type: DeviceType) -> bool:
    """Whether ``user`` may see ``device_type`` and submit jobs to it."""
    return is_superuser(user) or submittable_device_types(user).filter(pk=device_type.pk).exists()


def can_view_device(user: AnyUser | None, device: Device) -> bool:
    """Whether ``user`` may see ``device`` (and so its type)."""
    return is_superuser(user) or visible_devices(user).filter(pk=device.pk).exists()


def can_submit_to_device(user: AnyUser | None, device: Device) -> bool:
    """Whether ``user`` may submit jobs to ``device``; nobody may submit to a retired one."""
    return submittable_devices(user).filter(pk=device.pk).exists()


def can_view_job(user: AnyUser | None, job: TestJob) -> bool:
    """Whether ``user`` may see ``job``."""
    if is_superuser(user) or (_signed_in(user) and job.submitter_id == user.pk):
        return True
    return visible_jobs(user).filter(pk=job.pk).exists()


def can_change_job(user: AnyUser | None, job: TestJob) -> bool:
    """Whether ``user`` may cancel or resubmit ``job``: its submitter, or an admin."""
    if not _signed_in(user):
        return False
    if job.submitter_id == user.pk or is_superuser(user):
        return True
    return bool(user.is_staff and user.has_perm(CHANGE_JOB_PERMISSION))
