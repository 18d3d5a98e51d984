"""Visibility and submit rights: querysets and predicates, checked against each other."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission, User
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lava.server.scheduler import permissions
from lava.server.scheduler.models import (
    Device,
    DeviceType,
    GroupDevicePermission,
    GroupDeviceTypePermission,
    TestJob,
    Worker,
)
from lava.server.scheduler.states import DeviceHealth, Visibility
from lava.server.services.job_query import find_shown_job
from tests.support.permission_world import (
    DEVICE_ROWS,
    HOSTS,
    TYPE_ROWS,
    permission_rows,
    viewer_and_job,
)


def restrict_type(name: str, group: str, permission: str) -> None:
    GroupDeviceTypePermission.objects.create(
        devicetype_id=name, group=Group.objects.get_or_create(name=group)[0], permission=permission
    )


def restrict_device(hostname: str, group: str, permission: str) -> None:
    GroupDevicePermission.objects.create(
        device_id=hostname, group=Group.objects.get_or_create(name=group)[0], permission=permission
    )


def who(users: dict[str, User], name: str) -> User | AnonymousUser:
    return AnonymousUser() if name == "anonymous" else users[name]


EVERYONE = ("anonymous", "stranger", "owner", "admin")


@pytest.fixture
def secret(lab, users) -> DeviceType:
    """A device type only group ``lab`` may see, with one device."""
    device_type = DeviceType.objects.create(name="secret")
    restrict_type("secret", "lab", "view")
    lab.device("secret-01", device_type=device_type)
    return device_type


def visible_types(user) -> set[str]:
    return set(permissions.visible_device_types(user).values_list("name", flat=True))


def visible_hosts(user) -> set[str]:
    return set(permissions.visible_devices(user).values_list("hostname", flat=True))


@pytest.mark.parametrize(
    ("name", "types", "hosts"),
    [
        ("anonymous", {"qemu"}, {"qemu-01", "qemu-02"}),
        ("stranger", {"qemu"}, {"qemu-01", "qemu-02"}),
        ("owner", {"qemu", "secret"}, {"qemu-01", "qemu-02", "secret-01"}),
        ("admin", {"qemu", "secret"}, {"qemu-01", "qemu-02", "secret-01"}),
    ],
)
def test_view_rows_hide_a_device_type_and_its_devices(users, secret, name, types, hosts) -> None:
    user = who(users, name)
    assert visible_types(user) == types
    assert visible_hosts(user) == hosts
    for device_type in DeviceType.objects.all():
        assert permissions.can_view_device_type(user, device_type) == (device_type.name in types)
    for device in Device.objects.all():
        assert permissions.can_view_device(user, device) == (device.hostname in hosts)


def test_a_device_of_a_hidden_type_stays_hidden_whatever_its_own_rows(users, secret) -> None:
    stranger = users["stranger"]
    stranger.groups.add(Group.objects.create(name="night-shift"))
    restrict_device("secret-01", "night-shift", "view")
    assert "secret-01" not in visible_hosts(stranger)


def test_view_rows_on_a_device_hide_only_that_device(lab, users) -> None:
    restrict_device("qemu-02", "lab", "view")
    assert visible_hosts(users["stranger"]) == {"qemu-01"}
    assert visible_hosts(AnonymousUser()) == {"qemu-01"}
    assert visible_hosts(users["owner"]) == {"qemu-01", "qemu-02"}


@pytest.mark.parametrize(
    ("granted", "view", "submit"),
    [("view", True, False), ("submit", True, True), ("change", True, True)],
)
def test_stronger_permissions_hold_the_weaker_ones(lab, users, granted, view, submit) -> None:
    # view and submit both restricted to group lab; the owner's group holds only `granted`
    restrict_type("qemu", "other", "view")
    restrict_type("qemu", "other", "submit")
    restrict_type("qemu", "lab", granted)
    owner = users["owner"]
    assert permissions.can_view_device_type(owner, lab.device_type) is view
    assert permissions.can_submit_to_device_type(owner, lab.device_type) is submit


def test_submit_rows_restrict_submission_not_sight(lab, users) -> None:
    restrict_type("qemu", "lab", "submit")
    qemu = lab.device_type
    assert permissions.can_view_device_type(users["stranger"], qemu)
    assert not permissions.can_submit_to_device_type(users["stranger"], qemu)
    assert permissions.can_submit_to_device_type(users["owner"], qemu)
    assert permissions.can_submit_to_device_type(users["admin"], qemu)
    device = Device.objects.get(hostname="qemu-01")
    assert not permissions.can_submit_to_device(users["stranger"], device)
    assert permissions.can_submit_to_device(users["owner"], device)


def test_device_submit_rows(lab, users) -> None:
    restrict_device("qemu-02", "lab", "submit")
    for name, hosts in (("stranger", {"qemu-01"}), ("owner", {"qemu-01", "qemu-02"})):
        submittable = permissions.submittable_devices(users[name])
        assert set(submittable.values_list("hostname", flat=True)) == hosts


def test_anonymous_users_submit_nowhere(lab) -> None:
    anonymous = AnonymousUser()
    assert not permissions.can_submit_to_device_type(anonymous, lab.device_type)
    assert not permissions.submittable_devices(anonymous).exists()
    assert not permissions.can_submit_to_some_device(anonymous, lab.device_type)


def test_some_device_to_submit_to(lab, users) -> None:
    """Devices denied one by one, retired, or on another worker: while one is left, yes."""
    qemu, stranger = lab.device_type, users["stranger"]
    other = Worker.objects.create(hostname="worker-02")
    assert permissions.can_submit_to_some_device(stranger, qemu)
    assert permissions.can_submit_to_some_device(stranger, qemu, "worker-01")
    assert not permissions.can_submit_to_some_device(stranger, qemu, "worker-02")
    lab.device("qemu-03", worker=other)
    assert permissions.can_submit_to_some_device(stranger, qemu, "worker-02")
    restrict_device("qemu-03", "lab", "submit")
    assert not permissions.can_submit_to_some_device(stranger, qemu, "worker-02")
    assert permissions.can_submit_to_some_device(users["owner"], qemu, "worker-02")
    restrict_device("qemu-01", "lab", "view")
    assert permissions.can_submit_to_some_device(stranger, qemu)  # qemu-02 is left
    Device.objects.filter(hostname="qemu-02").update(health=DeviceHealth.RETIRED)
    assert not permissions.can_submit_to_some_device(stranger, qemu)  # two denied, one retired
    assert permissions.can_submit_to_some_device(users["owner"], qemu)
    assert permissions.can_submit_to_some_device(users["admin"], qemu, "worker-02")
    restrict_type("qemu", "lab", "submit")
    assert not permissions.can_submit_to_some_device(stranger, qemu, "worker-01")


def test_nobody_submits_to_a_retired_device(lab, users) -> None:
    device = Device.objects.get(hostname="qemu-01")
    device.health = DeviceHealth.RETIRED
    device.save()
    for name in ("stranger", "owner", "admin"):
        assert not permissions.can_submit_to_device(users[name], device)
        assert permissions.can_view_device(users[name], device)


def test_inactive_users_lose_their_groups(lab, users, secret) -> None:
    owner = users["owner"]
    owner.is_active = False
    owner.save()
    assert visible_types(owner) == {"qemu"}


# jobs


def make_job(user: User, device_type: DeviceType, visibility: int, *groups: str) -> TestJob:
    job = TestJob.objects.create(
        submitter=user,
        definition="job_name: t\n",
        requested_device_type=device_type,
        visibility=visibility,
        is_public=visibility == Visibility.PUBLIC,
    )
    job.viewing_groups.set([Group.objects.get_or_create(name=g)[0] for g in groups])
    return job


@pytest.fixture
def jobs(lab, users, secret) -> dict[str, TestJob]:
    owner, admin, qemu = users["owner"], users["admin"], lab.device_type
    Group.objects.create(name="other")
    return {
        "public": make_job(admin, qemu, Visibility.PUBLIC),
        "personal": make_job(owner, qemu, Visibility.PERSONAL),
        "admin-personal": make_job(admin, qemu, Visibility.PERSONAL),
        "group-lab": make_job(admin, qemu, Visibility.GROUP, "lab"),
        "group-lab-other": make_job(admin, qemu, Visibility.GROUP, "lab", "other"),
        "public-secret": make_job(admin, secret, Visibility.PUBLIC),
        "group-secret": make_job(admin, secret, Visibility.GROUP, "lab"),
    }


def sees_job(user: User | AnonymousUser, job_id: int) -> bool:
    """`permissions.sees_job` on the row ``scheduler.jobs.show`` reads."""
    found = find_shown_job(job_id)
    assert found is not None
    return permissions.sees_job(user, found.job, found.device_type, found.groups)


JOB_TABLE = {
    "anonymous": {"public"},
    "stranger": {"public"},
    "owner": {"public", "personal", "group-lab", "public-secret", "group-secret"},
    "admin": {
        "public",
        "personal",
        "admin-personal",
        "group-lab",
        "group-lab-other",
        "public-secret",
        "group-secret",
    },
}


@pytest.mark.parametrize("name", EVERYONE)
def test_job_visibility_table(users, jobs, name) -> None:
    user = who(users, name)
    ids = set(permissions.visible_jobs(user).values_list("id", flat=True))
    assert {label for label, job in jobs.items() if job.id in ids} == JOB_TABLE[name]
    for label, job in jobs.items():
        assert permissions.can_view_job(user, job) == (label in JOB_TABLE[name]), label
        assert sees_job(user, job.id) == (label in JOB_TABLE[name]), label


def test_a_group_job_needs_every_group(users, jobs) -> None:
    owner = users["owner"]
    owner.groups.add(Group.objects.get(name="other"))
    assert permissions.can_view_job(owner, jobs["group-lab-other"])


def test_a_job_on_a_hidden_device_is_hidden(lab, users, jobs) -> None:
    restrict_device("qemu-02", "lab", "view")
    job = jobs["public"]
    job.actual_device_id = "qemu-02"
    job.save()
    assert not permissions.can_view_job(users["stranger"], job)
    assert permissions.can_view_job(users["owner"], job)
    assert not sees_job(users["stranger"], job.id) and sees_job(users["owner"], job.id)


def test_submitters_always_see_their_own_jobs(lab, users, secret) -> None:
    stranger = users["stranger"]
    job = make_job(stranger, secret, Visibility.PUBLIC)
    assert permissions.can_view_job(stranger, job)
    assert permissions.visible_jobs(stranger).filter(pk=job.pk).exists()


@pytest.mark.parametrize("name", EVERYONE)
def test_visible_querysets_are_one_query(
    users, jobs, secret, name, django_assert_max_num_queries
) -> None:
    """Building one reads the rules (one tiny query); running it is one query."""
    user = who(users, name)
    for build in (
        permissions.visible_jobs,
        permissions.visible_devices,
        permissions.visible_device_types,
        permissions.submittable_devices,
    ):
        with django_assert_max_num_queries(1):
            queryset = build(user)
        with django_assert_max_num_queries(1):
            list(queryset)


def test_the_rules_are_read_in_one_query(users, secret, django_assert_num_queries) -> None:
    with django_assert_num_queries(1):
        no = permissions.denied(permissions.VIEW, users["stranger"])
    assert (no.types, no.devices) == ({"secret"}, set())
    with django_assert_num_queries(1):
        no = permissions.denied(permissions.VIEW, users["owner"])
    assert (no.types, no.devices) == (set(), set())


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    type_rows=TYPE_ROWS,
    device_rows=DEVICE_ROWS,
    member_of=st.sets(st.sampled_from([0, 1])),
    signed_in=st.booleans(),
)
def test_rights_follow_lavas_rules(
    django_db_setup, django_db_blocker, type_rows, device_rows, member_of, signed_in
) -> None:
    """Against the rules read plainly: a right restricted by rows is held only through them."""

    def holds(rows: set, obj: str, perm: str) -> bool:
        restricted = any(o == obj and kind == perm for o, _, kind in rows)
        granted = any(
            o == obj and group in member_of and kind in permissions.GRANTED_BY[perm]
            for o, group, kind in rows
        )
        return not restricted or (signed_in and granted)

    def type_ok(name: str, perm: str) -> bool:
        return holds(type_rows, name, "view") and holds(type_rows, name, perm)

    def device_ok(host: str, perm: str) -> bool:
        own = holds(device_rows, host, "view") and holds(device_rows, host, perm)
        return type_ok(host.split("-")[0], perm) and own

    with django_db_blocker.unblock(), transaction.atomic():
        groups = permission_rows(type_rows, device_rows)
        user: User | AnonymousUser = AnonymousUser()
        if signed_in:
            user = User.objects.create_user("someone")
            user.groups.set([groups[n] for n in member_of])
        assert visible_types(user) == {t for t in ("a", "b") if type_ok(t, "view")}
        assert visible_hosts(user) == {d for d in ("a-1", "a-2", "b-1") if device_ok(d, "view")}
        submit_types = set(permissions.submittable_device_types(user).values_list("pk", flat=True))
        assert submit_types == {t for t in ("a", "b") if signed_in and type_ok(t, "submit")}
        submit_hosts = set(permissions.submittable_devices(user).values_list("pk", flat=True))
        assert submit_hosts == {
            d for d in ("a-1", "a-2", "b-1") if signed_in and device_ok(d, "submit")
        }
        for device_type in DeviceType.objects.all():
            some = any(host.split("-")[0] == device_type.pk for host in submit_hosts)
            assert permissions.can_submit_to_some_device(user, device_type) is some
        transaction.set_rollback(True)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    type_rows=TYPE_ROWS,
    device_rows=DEVICE_ROWS,
    member_of=st.sets(st.sampled_from([0, 1])),
    viewer=st.sampled_from(["anonymous", "someone", "submitter", "superuser", "inactive"]),
    visibility=st.sampled_from(list(Visibility)),
    job_groups=st.sets(st.sampled_from([0, 1])),
    requested=st.sampled_from([None, "a", "b"]),
    device=st.sampled_from([None, *HOSTS]),
)
def test_one_job_is_seen_as_the_queryset_says(
    django_db_setup,
    django_db_blocker,
    type_rows,
    device_rows,
    member_of,
    viewer,
    visibility,
    job_groups,
    requested,
    device,
) -> None:
    """`sees_job` on one row read equals `visible_jobs`, whatever the rows, groups and job."""
    with django_db_blocker.unblock(), transaction.atomic():
        groups = permission_rows(type_rows, device_rows)
        user, job = viewer_and_job(
            groups, viewer, member_of, visibility, job_groups, requested, device
        )
        expected = permissions.visible_jobs(user).filter(pk=job.pk).exists()
        assert sees_job(user, job.id) == expected
        transaction.set_rollback(True)


def test_who_may_change_a_job(lab, users) -> None:
    job = make_job(users["owner"], lab.device_type, Visibility.PUBLIC)
    staff = User.objects.create_user("staff", is_staff=True)
    clerk = User.objects.create_user("clerk", is_staff=True)
    clerk.user_permissions.add(Permission.objects.get(codename="change_testjob"))
    table = {
        "owner": True,
        "admin": True,
        "stranger": False,
        "staff": False,
        "clerk": True,
    }
    everybody = {**users, "staff": staff, "clerk": User.objects.get(username="clerk")}
    for name, expected in table.items():
        assert permissions.can_change_job(everybody[name], job) is expected, name
    assert not permissions.can_change_job(AnonymousUser(), job)
