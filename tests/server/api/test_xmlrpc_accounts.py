"""``auth.users.*`` and ``auth.groups.*``: what lavacli's users and groups commands call."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Group, Permission, User
from rpc_helpers import refused, rpc

from lava.server.scheduler.models import TestJob


def test_users(client, tokens) -> None:
    admin = tokens["admin"]
    rpc(client, "auth.users.add", "ann", "Ann", "Smith", "ann@example.com", auth=admin)
    ann = User.objects.get(username="ann")
    assert (ann.get_full_name(), ann.email, ann.is_active) == ("Ann Smith", "ann@example.com", True)
    assert not ann.has_usable_password()  # she signs in with a token
    listed = rpc(client, "auth.users.list", auth=admin)
    assert [u["username"] for u in listed] == ["admin", "ann", "owner", "stranger"]
    rpc(client, "auth.users.update", "ann", None, "Jones", None, None, True, auth=admin)
    shown = rpc(client, "auth.users.show", "ann", auth=admin)
    assert (shown["last_name"], shown["is_staff"], shown["groups"]) == ("Jones", True, [])
    assert refused(client, "auth.users.add", "ann", auth=admin) == 400  # already exists
    assert refused(client, "auth.users.add", "bad name!", auth=admin) == 400
    assert refused(client, "auth.users.show", "ghost", auth=admin) == 404
    assert refused(client, "auth.users.list", auth=tokens["owner"]) == 403
    assert refused(client, "auth.users.list") == 401
    rpc(client, "auth.users.delete", "ann", auth=admin)
    assert not User.objects.filter(username="ann").exists()


def test_a_user_with_jobs_is_kept(client, tokens, users) -> None:
    TestJob.objects.create(submitter=users["stranger"], definition="x")
    assert refused(client, "auth.users.delete", "stranger", auth=tokens["admin"]) == 400
    assert TestJob.objects.filter(submitter=users["stranger"]).count() == 1
    rpc(client, "auth.users.update", "stranger", None, None, None, False, auth=tokens["admin"])
    assert not User.objects.get(username="stranger").is_active


def test_only_a_superuser_makes_superusers(client, tokens, users) -> None:
    staff = users["owner"]
    for codename in ("add_user", "change_user"):
        staff.user_permissions.add(Permission.objects.get(codename=codename))
    owner = tokens["owner"]
    assert (
        refused(client, "auth.users.add", "boss", None, None, None, True, False, True, auth=owner)
        == 403
    )
    rpc(client, "auth.users.add", "clerk", auth=owner)
    args = ("stranger", None, None, None, None, None, True)
    assert refused(client, "auth.users.update", *args, auth=owner) == 403
    assert not User.objects.get(username="stranger").is_superuser


def test_groups_and_permissions(client, tokens, users) -> None:
    admin = tokens["admin"]
    rpc(client, "auth.groups.add", "ops", auth=admin)
    assert refused(client, "auth.groups.add", "ops", auth=admin) == 400
    assert rpc(client, "auth.groups.list", auth=admin) == ["lab", "ops"]
    rpc(client, "auth.users.groups.add", "stranger", "ops", auth=admin)
    assert rpc(client, "auth.users.groups.list", "stranger", auth=admin) == ["ops"]
    # LAVA's app label is accepted for ours
    rpc(
        client,
        "auth.groups.perms.add",
        "ops",
        "lava_scheduler_app",
        "device",
        "change_device",
        auth=admin,
    )
    assert users["stranger"].has_perm("scheduler.change_device")
    assert rpc(client, "auth.groups.perms.list", "ops", auth=admin) == [
        {"app": "scheduler", "model": "device", "codename": "change_device"}
    ]
    shown = rpc(client, "auth.groups.show", "ops", auth=admin)
    assert (shown["users"], shown["permissions"]) == (
        ["stranger"],
        ["scheduler.device.change_device"],
    )
    change_worker = ("scheduler", "worker", "change_worker")
    rpc(client, "auth.users.perms.add", "owner", *change_worker, auth=admin)
    assert rpc(client, "auth.users.perms.list", "owner", auth=admin) == [
        {"app": "scheduler", "model": "worker", "codename": "change_worker"}
    ]
    rpc(
        client,
        "auth.users.perms.delete",
        "owner",
        "scheduler",
        "worker",
        "change_worker",
        auth=admin,
    )
    assert rpc(client, "auth.users.perms.list", "owner", auth=admin) == []
    bad = ("ops", "scheduler", "device", "fly_device")
    assert refused(client, "auth.groups.perms.add", *bad, auth=admin) == 404
    rpc(
        client,
        "auth.groups.perms.delete",
        "ops",
        "scheduler",
        "device",
        "change_device",
        auth=admin,
    )
    rpc(client, "auth.users.groups.delete", "stranger", "ops", auth=admin)
    rpc(client, "auth.groups.delete", "ops", auth=admin)
    assert not Group.objects.filter(name="ops").exists()
    assert refused(client, "auth.groups.show", "ops", auth=admin) == 404


def test_a_user_with_change_user_cannot_touch_a_superuser(client, tokens, users) -> None:
    users["owner"].user_permissions.add(Permission.objects.get(codename="change_user"))
    owner = tokens["owner"]
    assert refused(client, "auth.users.update", "admin", None, None, "me@example.com",
                   auth=owner) == 403  # fmt: skip
    assert refused(client, "auth.users.delete", "admin", auth=owner) == 403
    admin = User.objects.get(username="admin")
    assert (admin.email, admin.is_active) == ("admin@example.com", True)


def test_every_change_needs_its_right(client, tokens, users) -> None:
    stranger = tokens["stranger"]
    calls = [
        ("auth.users.add", "ann"),
        ("auth.users.update", "owner", "Ann"),
        ("auth.users.delete", "owner"),
        ("auth.users.groups.add", "stranger", "lab"),
        ("auth.users.groups.delete", "owner", "lab"),
        ("auth.groups.add", "ops"),
        ("auth.groups.delete", "lab"),
        ("auth.users.perms.add", "stranger", "scheduler", "device", "change_device"),
        ("auth.groups.perms.add", "lab", "scheduler", "device", "change_device"),
    ]
    for name, *args in calls:
        assert refused(client, name, *args, auth=stranger) == 403, name
        assert refused(client, name, *args) == 401, name
    assert not users["stranger"].groups.exists() and users["owner"].groups.count() == 1
    assert not Group.objects.filter(name="ops").exists()
    assert not User.objects.filter(username="ann").exists()
    assert User.objects.get(username="owner").first_name == ""
    assert not Permission.objects.filter(user__isnull=False).exists()
    assert not Permission.objects.filter(group__isnull=False).exists()


def test_a_user_with_jobs_is_refused_with_why(client, tokens, users) -> None:
    from xmlrpc.client import Fault

    TestJob.objects.create(submitter=users["owner"], definition="x")
    with pytest.raises(Fault) as fault:
        rpc(client, "auth.users.delete", "owner", auth=tokens["admin"])
    assert fault.value.faultCode == 400
    assert "'owner' submitted jobs" in fault.value.faultString
    assert "deactivate instead" in fault.value.faultString
