"""``lava-server manage groups``: add, update, list."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import CommandError


def manage(*args: str) -> str:
    out = StringIO()
    call_command("groups", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as exc:
        call_command("groups", *args, stdout=StringIO(), stderr=StringIO())
    return str(exc.value)


def test_add_and_update(users) -> None:
    manage("add", "testers", "--username", "stranger", "--submitting")
    group = Group.objects.get(name="testers")
    assert list(group.user_set.values_list("username", flat=True)) == ["stranger"]
    assert list(group.permissions.values_list("codename", flat=True)) == ["change_testjob"]
    # a staff member of the group now holds the right the job services look for
    stranger = User.objects.get(username="stranger")
    stranger.is_staff = True
    stranger.save()
    assert User.objects.get(username="stranger").has_perm("scheduler.change_testjob")
    manage("update", "testers", "--username", "owner", "--remove-username", "stranger",
           "--not-submitting")  # fmt: skip
    assert list(group.user_set.values_list("username", flat=True)) == ["owner"]
    assert not group.permissions.exists()


def test_refused(users) -> None:
    assert refused("add", "lab") == "group 'lab' already exists"
    assert refused("add", "new", "--username", "nobody") == "user 'nobody' does not exist"
    assert not Group.objects.filter(name="new").exists()
    assert refused("update", "nosuch", "--username", "owner") == "group 'nosuch' does not exist"
    assert refused("update", "lab", "--remove-username", "stranger") == (
        "user 'stranger' is not in group 'lab'"
    )


def test_list(users) -> None:
    manage("add", "empty")
    rows = json.loads(manage("list", "--format", "json"))
    assert rows == [
        {"name": "empty", "users": [], "permissions": []},
        {"name": "lab", "users": ["owner"], "permissions": []},
    ]
    header, _rule, *lines = manage("list").splitlines()
    assert header.split() == ["name", "users", "permissions"]
    assert lines[1].split() == ["lab", "owner"]
