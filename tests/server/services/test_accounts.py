"""``services.accounts``: who may change users, groups, permissions and tokens, and that a
refusal stores nothing."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission, User

from lava.server.scheduler.models import AuthToken, TestJob
from lava.server.services import Actor, Conflict, Invalid, Missing, Refused, accounts, tokens

CONSOLE = Actor.console()


def actor(user: User) -> Actor:
    return Actor(User.objects.get(pk=user.pk), "test")  # fresh: no cached permissions


def grant(user: User, *codenames: str) -> Actor:
    user.user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    return actor(user)


# users


def test_adding_a_user_needs_add_user_and_a_superuser_needs_a_superuser(users) -> None:
    with pytest.raises(Refused, match=r"auth\.add_user is needed"):
        accounts.add_user(actor(users["stranger"]), "ann")
    clerk = grant(users["owner"], "add_user")
    with pytest.raises(Refused, match="only superusers may create superusers"):
        accounts.add_user(clerk, "boss", superuser=True)
    assert not User.objects.filter(username__in=["ann", "boss"]).exists()
    accounts.add_user(clerk, "ann", staff=True)
    accounts.add_user(actor(users["admin"]), "boss", superuser=True)
    with pytest.raises(Conflict, match="user 'ann' already exists"):
        accounts.add_user(CONSOLE, "ann")


def test_only_superusers_change_superusers(users) -> None:
    clerk = grant(users["owner"], "change_user")
    with pytest.raises(Refused, match="only superusers may grant or withdraw superuser"):
        accounts.update_user(clerk, "stranger", superuser=True)
    with pytest.raises(Refused, match="only superusers may change a superuser"):
        accounts.update_user(clerk, "admin", email="mine@example.com")
    with pytest.raises(Refused, match="only superusers may delete a superuser"):
        accounts.delete_user(clerk, "admin")
    admin = User.objects.get(username="admin")
    assert (admin.email, admin.is_superuser) == ("admin@example.com", True)
    accounts.update_user(clerk, "stranger", email="s@example.com", active=False)
    assert not User.objects.get(username="stranger").is_active
    accounts.update_user(actor(users["admin"]), "stranger", superuser=True)
    assert User.objects.get(username="stranger").is_superuser


def test_a_user_who_submitted_jobs_is_kept(users) -> None:
    TestJob.objects.create(submitter=users["stranger"], definition="x")
    with pytest.raises(Conflict, match=r"user 'stranger' submitted jobs.*deactivate instead"):
        accounts.delete_user(CONSOLE, "stranger")
    with pytest.raises(Refused, match=r"auth\.change_user is needed"):
        accounts.delete_user(actor(users["stranger"]), "owner")
    both = User.objects.filter(username__in=["owner", "stranger"])
    with pytest.raises(Conflict):
        accounts.remove_users(CONSOLE, both)
    assert both.count() == 2
    accounts.delete_user(CONSOLE, "owner")
    with pytest.raises(Missing, match="user 'owner' does not exist"):
        accounts.delete_user(CONSOLE, "owner")


# groups and members


def test_groups_need_the_group_rights(users) -> None:
    with pytest.raises(Refused, match=r"auth\.add_group is needed"):
        accounts.add_group(actor(users["owner"]), "ops")
    maker = grant(users["owner"], "add_group")
    with pytest.raises(Refused, match=r"auth\.change_group is needed"):
        accounts.add_group(maker, "ops", submitting=True)
    with pytest.raises(Refused, match=r"auth\.change_user is needed"):
        accounts.add_group(maker, "ops", username="stranger")
    assert not Group.objects.filter(name="ops").exists()
    accounts.add_group(maker, "ops")
    with pytest.raises(Conflict, match="group 'ops' already exists"):
        accounts.add_group(maker, "ops")
    with pytest.raises(Refused, match=r"auth\.change_group is needed"):
        accounts.delete_group(maker, "ops")
    accounts.delete_group(CONSOLE, "ops")
    with pytest.raises(Missing, match="group 'ops' does not exist"):
        accounts.delete_group(CONSOLE, "ops")


def test_members(users) -> None:
    with pytest.raises(Refused, match=r"auth\.change_user is needed"):
        accounts.add_member(actor(users["stranger"]), "stranger", "lab")
    assert not users["stranger"].groups.exists()
    clerk = actor(users["admin"])  # a superuser holds every right
    accounts.add_member(clerk, "stranger", "lab")
    accounts.add_member(clerk, "stranger", "lab")  # already in it: no change
    assert list(users["stranger"].groups.values_list("name", flat=True)) == ["lab"]
    with pytest.raises(Missing, match="group 'ghosts' does not exist"):
        accounts.add_member(clerk, "stranger", "ghosts")
    accounts.remove_member(clerk, "stranger", "lab")
    accounts.remove_member(clerk, "stranger", "lab")  # not in it: no change
    assert not users["stranger"].groups.exists()
    with pytest.raises(Missing, match="user 'stranger' is not in group 'lab'"):
        accounts.update_group(CONSOLE, "lab", remove_username="stranger")


def test_set_groups_is_for_staff(users) -> None:
    Group.objects.create(name="ops")
    with pytest.raises(Refused, match="only staff may do this"):
        accounts.set_groups(actor(users["owner"]), "stranger@example.com", ["lab"])
    with pytest.raises(Refused, match="Authentication"):
        accounts.set_groups(Actor(AnonymousUser(), "test"), "stranger@example.com", ["lab"])
    with pytest.raises(Invalid, match="No such group: ghosts"):
        accounts.set_groups(CONSOLE, "stranger@example.com", ["lab", "ghosts"])
    with pytest.raises(Invalid, match=r"No user has the e-mail address 'x@example\.com'"):
        accounts.set_groups(CONSOLE, "x@example.com", [])
    assert not users["stranger"].groups.exists()
    accounts.set_groups(actor(users["admin"]), "stranger@example.com", ["lab", "ops"])
    assert sorted(users["stranger"].groups.values_list("name", flat=True)) == ["lab", "ops"]


# Django permissions


def test_permissions_by_lava_app_label(users) -> None:
    with pytest.raises(Refused, match=r"auth\.change_group is needed"):
        accounts.grant_permission(
            actor(users["owner"]), "group", "lab", "scheduler", "device", "change_device"
        )
    accounts.grant_permission(
        CONSOLE, "group", "lab", "lava_scheduler_app", "device", "change_device"
    )
    assert actor(users["owner"]).user.has_perm("scheduler.change_device")
    with pytest.raises(Missing, match=r"Invalid permission 'scheduler\.device\.fly_device'"):
        accounts.grant_permission(CONSOLE, "user", "owner", "scheduler", "device", "fly_device")
    accounts.revoke_permission(CONSOLE, "group", "lab", "scheduler", "device", "change_device")
    assert not actor(users["owner"]).user.has_perm("scheduler.change_device")


# tokens


def test_tokens_are_made_at_the_console_or_by_their_owner(users) -> None:
    tokens.add_token(CONSOLE, "owner", secret="from-the-console")
    mine = tokens.add_token(actor(users["owner"]), "owner", description="ci")
    assert (mine.user.username, mine.description) == ("owner", "ci")
    with pytest.raises(Refused, match="tokens of 'owner' are made by them or at the console"):
        tokens.add_token(actor(users["admin"]), "owner")
    assert AuthToken.objects.count() == 2


def test_a_user_removes_only_their_own_tokens(users) -> None:
    theirs = tokens.add_token(CONSOLE, "stranger")
    mine = tokens.add_token(CONSOLE, "owner")
    owner = actor(users["owner"])
    with pytest.raises(Missing, match="no token has that secret"):
        tokens.remove_token(owner, theirs.secret)
    with pytest.raises(Missing, match=f"no such token: {theirs.pk}"):
        tokens.remove_tokens(owner, [mine.pk, theirs.pk])
    assert AuthToken.objects.count() == 2  # all or none
    tokens.remove_token(owner, mine.secret)
    assert tokens.remove_tokens(CONSOLE, [theirs.pk]) == 1
    assert not AuthToken.objects.exists()


def test_issue_token_gives_the_oldest_or_a_new_one(users) -> None:
    owner = actor(users["owner"])
    first = tokens.issue_token(owner, "made by a test")
    assert first.description == "made by a test"
    tokens.add_token(CONSOLE, "owner")
    assert tokens.issue_token(owner, "again").pk == first.pk
    with pytest.raises(Invalid, match="the console has no tokens"):
        tokens.issue_token(CONSOLE, "x")
    users["stranger"].is_active = False
    users["stranger"].save()
    with pytest.raises(Refused, match="not active"):
        tokens.issue_token(actor(users["stranger"]), "x")
    assert not AuthToken.objects.filter(user=users["stranger"]).exists()
