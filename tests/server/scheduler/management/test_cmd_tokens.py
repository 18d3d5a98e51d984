"""``lava-server manage tokens``: add, list, rm."""

from __future__ import annotations

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from lava.server.scheduler.models import AuthToken


def manage(*args: str) -> str:
    out = StringIO()
    call_command("tokens", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(*args: str) -> str:
    with pytest.raises(CommandError) as exc:
        call_command("tokens", *args, stdout=StringIO(), stderr=StringIO())
    return str(exc.value)


def test_add_prints_the_secret(users) -> None:
    secret = manage("add", "--user", "owner", "--description", "ci").strip()
    token = AuthToken.objects.get(secret=secret)
    assert (token.user.username, token.description) == ("owner", "ci")
    assert len(secret) == 128
    assert manage("add", "-u", "owner", "--secret", "imported-secret") == "imported-secret\n"


def test_add_refused(users) -> None:
    manage("add", "--user", "owner", "--secret", "taken")
    assert refused("add", "--user", "admin", "--secret", "taken") == (
        "that token secret is already in use"
    )
    assert refused("add", "--user", "admin", "--secret", "has space").startswith(
        "a token secret is 1 to 128 printable characters"
    )
    assert refused("add", "--user", "nobody") == "user 'nobody' does not exist"
    assert AuthToken.objects.count() == 1


def test_list(users) -> None:
    manage("add", "--user", "owner", "--secret", "one", "--description", "first")
    manage("add", "--user", "owner", "--secret", "two")
    manage("add", "--user", "admin", "--secret", "three")
    rows = json.loads(manage("list", "--user", "owner", "--format", "json"))
    assert [(r["secret"], r["description"], r["last_used_on"]) for r in rows] == [
        ("one", "first", None),
        ("two", "", None),
    ]
    csv = manage("list", "-u", "owner", "--csv").splitlines()
    assert csv[0] == "id,secret,description,created_on,last_used_on"
    assert csv[1].split(",")[1:3] == ["one", "first"]
    assert refused("list", "--user", "nobody") == "user 'nobody' does not exist"


def test_rm_one(users) -> None:
    manage("add", "--user", "owner", "--secret", "gone")
    assert manage("rm", "--token", "gone") == "Token removed\n"
    assert not AuthToken.objects.exists()
    assert refused("rm", "--token", "gone") == "no token has that secret"


def test_rm_unused(users) -> None:
    now = timezone.now()
    for secret in ("fresh", "used-lately", "used-long-ago", "never-used-old", "admin-old"):
        user = "admin" if secret.startswith("admin") else "owner"
        manage("add", "--user", user, "--secret", secret)
    AuthToken.objects.filter(secret="used-lately").update(
        created_on=now - timedelta(days=400), last_used_on=now - timedelta(days=1)
    )
    AuthToken.objects.filter(secret="used-long-ago").update(
        created_on=now - timedelta(days=400), last_used_on=now - timedelta(days=100)
    )
    AuthToken.objects.filter(secret__in=["never-used-old", "admin-old"]).update(
        created_on=now - timedelta(days=100)
    )
    out = manage("rm", "--days", "30", "--user", "owner", "--dry-run")
    assert out.endswith("Would remove 2 tokens\n")
    assert AuthToken.objects.count() == 5
    assert refused("rm", "-n", "30", "--user", "owner") == (
        "refusing to remove 2 tokens without confirmation: pass --yes"
    )
    assert manage("rm", "-n", "30", "-u", "owner", "--yes").endswith("Removed 2 tokens\n")
    left = set(AuthToken.objects.values_list("secret", flat=True))
    assert left == {"fresh", "used-lately", "admin-old"}
    assert manage("rm", "-n", "30", "--yes").endswith("Removed 1 tokens\n")
    assert manage("rm", "-n", "30") == "No tokens to remove\n"
