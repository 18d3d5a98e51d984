"""A small world of permission rows for the visibility property tests.

Two groups (g0, g1), device types ``a`` and ``b``, devices ``a-1``, ``a-2``
and ``b-1``, the group rows a test draws, then a viewer and a job of theirs.
Made inside the caller's transaction, which rolls it back.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, Group, User
from hypothesis import strategies as st

from lava.server.scheduler.models import (
    Device,
    DeviceType,
    GroupDevicePermission,
    GroupDeviceTypePermission,
    TestJob,
)

HOSTS = ("a-1", "a-2", "b-1")
TYPES = ("a", "b")
RIGHTS = st.sampled_from(["view", "submit", "change"])
TYPE_ROWS = st.sets(st.tuples(st.sampled_from(TYPES), st.sampled_from([0, 1]), RIGHTS))
DEVICE_ROWS = st.sets(st.tuples(st.sampled_from(HOSTS), st.sampled_from([0, 1]), RIGHTS))


def permission_rows(
    type_rows: Iterable[tuple[str, int, str]], device_rows: Iterable[tuple[str, int, str]]
) -> list[Group]:
    """The types, devices, groups and the rows (name or host, group number, right)."""
    groups = [Group.objects.create(name=f"g{n}") for n in range(2)]
    for name in TYPES:
        DeviceType.objects.create(name=name)
    for host in HOSTS:
        Device.objects.create(hostname=host, device_type_id=host.split("-")[0])
    for name, group, kind in type_rows:
        GroupDeviceTypePermission.objects.create(
            devicetype_id=name, group=groups[group], permission=kind
        )
    for host, group, kind in device_rows:
        GroupDevicePermission.objects.create(device_id=host, group=groups[group], permission=kind)
    return groups


def viewer_and_job(
    groups: list[Group],
    viewer: str,
    member_of: Iterable[int],
    visibility: int,
    job_groups: Iterable[int],
    requested: str | None,
    device: str | None,
) -> tuple[User | AnonymousUser, TestJob]:
    """``viewer`` ("anonymous", "submitter", "superuser", "inactive" or any other name), in
    the groups ``member_of``; a job of user "submitter" with this visibility and groups."""
    submitter = User.objects.create_user("submitter")
    user: User | AnonymousUser = AnonymousUser()
    if viewer == "submitter":
        user = submitter
    elif viewer != "anonymous":
        user = User.objects.create_user(
            viewer, is_superuser=viewer == "superuser", is_active=viewer != "inactive"
        )
    if viewer != "anonymous":
        user.groups.set([groups[n] for n in member_of])
    job = TestJob.objects.create(
        submitter=submitter,
        definition="job_name: t\n",
        requested_device_type_id=requested,
        actual_device_id=device,
        visibility=visibility,
    )
    job.viewing_groups.set([groups[n] for n in job_groups])
    return user, job
