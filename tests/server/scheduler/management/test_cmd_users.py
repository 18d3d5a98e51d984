"""``lava-server manage users``: add, update, details, list."""

from __future__ import annotations

import json
from io import StringIO

import pytest
import yaml
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError


def manage(*args: str) -> str:
    out = StringIO()
    call_command("users", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as exc:
        call_command("users", *args, stdout=StringIO(), stderr=StringIO())
    return str(exc.value)


def test_add_prints_a_generated_password(db) -> None:
    out = manage("add", "alice", "--email", "alice@example.com", "--staff")
    user = User.objects.get(username="alice")
    assert user.check_password(out.strip()) and len(out.strip()) >= 12
    assert (user.email, user.is_staff, user.is_superuser) == ("alice@example.com", True, False)


def test_add_with_a_password(db, tmp_path, monkeypatch) -> None:
    assert manage("add", "bob", "--passwd", "s3cret", "--superuser") == ""
    assert User.objects.get(username="bob").check_password("s3cret")
    secret = tmp_path / "pw"
    secret.write_text("from a file\nsecond line\n")
    manage("add", "carol", "--passwd-file", str(secret))
    assert User.objects.get(username="carol").check_password("from a file")
    monkeypatch.setattr("sys.stdin", StringIO("from stdin\n"))
    manage("add", "dave", "--passwd-file", "-")
    assert User.objects.get(username="dave").check_password("from stdin")


def test_add_refused(db, tmp_path) -> None:
    manage("add", "alice")
    assert refused("add", "alice") == "user 'alice' already exists"
    assert refused("add", "a b").startswith("user name 'a b' is not valid")
    assert refused("add", "erin", "--email", "nope") == "'nope' is not an email address"
    empty = tmp_path / "empty"
    empty.write_text("\n")
    assert refused("add", "erin", "--passwd-file", str(empty)) == (
        f"password file {empty}: the first line is empty"
    )
    assert "not allowed with argument" in refused("add", "erin", "--passwd", "x",
                                                  "--passwd-file", str(empty))  # fmt: skip
    assert not User.objects.filter(username="erin").exists()


def test_update(users, tmp_path) -> None:
    manage("update", "owner", "--email", "new@example.com", "--passwd", "changed", "--staff",
           "--superuser", "--not-active")  # fmt: skip
    owner = User.objects.get(username="owner")
    assert owner.email == "new@example.com" and owner.check_password("changed")
    assert (owner.is_staff, owner.is_superuser, owner.is_active) == (True, True, False)
    manage("update", "owner", "--not-staff", "--not-superuser", "--active")
    owner.refresh_from_db()
    assert (owner.is_staff, owner.is_superuser, owner.is_active) == (False, False, True)
    assert refused("update", "nobody", "--staff") == "user 'nobody' does not exist"


def test_details(users) -> None:
    assert "username     : owner" in manage("details", "owner")
    data = json.loads(manage("details", "owner", "--format", "json"))
    assert data["groups"] == ["lab"] and data["is_superuser"] is False
    assert data["email"] == "owner@example.com" and data["tokens"] == 0
    assert refused("details", "nobody") == "user 'nobody' does not exist"


def test_list(users) -> None:
    User.objects.filter(username="stranger").update(is_active=False)
    header, _rule, *lines = manage("list").splitlines()
    assert header.split() == ["username", "fullname", "email", "active", "staff", "superuser"]
    assert [line.split()[0] for line in lines] == ["admin", "owner"]
    rows = yaml.safe_load(manage("list", "--all", "--format", "yaml"))
    assert [(r["username"], r["active"]) for r in rows] == [
        ("admin", True),
        ("owner", True),
        ("stranger", False),
    ]
    assert manage("list", "--csv").splitlines()[1] == "admin,,admin@example.com,True,True,True"
