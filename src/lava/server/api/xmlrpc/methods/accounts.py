"""``auth.*``: users, groups and their Django permissions, as lavacli's users and groups commands
drive them. Changes go through ``services.accounts``, which decides who may make them; the
reads need the matching ``auth.view_*`` permission (superusers hold them all).

A user who submitted jobs is not deleted (their jobs would go with them): deactivate them.
"""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import Group, User

from ....services import accounts
from ....services.accounts import Holder
from ..registry import Call, method, utc

Fault = xmlrpc.client.Fault


def _user(username: Any) -> User:
    found = User.objects.filter(username=str(username)).first()
    if found is None:
        raise Fault(404, f"User '{username}' was not found.")
    return found


def _group(name: Any) -> Group:
    found = Group.objects.filter(name=str(name)).first()
    if found is None:
        raise Fault(404, f"Group '{name}' was not found.")
    return found


def _names(permissions: Any) -> list[str]:
    return sorted(
        f"{p.content_type.app_label}.{p.content_type.model}.{p.codename}"
        for p in permissions.select_related("content_type")
    )


def _rows(permissions: Any) -> list[dict[str, str]]:
    return [
        {"app": p.content_type.app_label, "model": p.content_type.model, "codename": p.codename}
        for p in permissions.select_related("content_type").order_by(
            "content_type__app_label", "codename"
        )
    ]


@method("auth.users.add", ["undef", "str", "str", "str", "str", "bool", "bool", "bool", "bool"])
def add_user(
    call: Call,
    username: str,
    first_name: str | None = None,
    last_name: str | None = None,
    email: str | None = None,
    is_active: bool = True,
    is_staff: bool = False,
    is_superuser: bool = False,
    ldap: bool = False,
) -> None:
    """Create a user (who signs in with an API token; no password is set)."""
    if ldap:
        raise Fault(400, "Bad request: authentication via LDAP is not configured.")
    accounts.add_user(
        call.actor,
        str(username),
        email=email or "",
        staff=is_staff,
        superuser=is_superuser,
        first_name=first_name or "",
        last_name=last_name or "",
        active=is_active,
        token_only=True,
    )


@method("auth.users.update", ["undef", "str", "str", "str", "str", "bool", "bool", "bool"])
def update_user(
    call: Call,
    username: str,
    first_name: str | None = None,
    last_name: str | None = None,
    email: str | None = None,
    is_active: bool | None = None,
    is_staff: bool | None = None,
    is_superuser: bool | None = None,
) -> None:
    """Change what is given of a user."""
    accounts.update_user(
        call.actor,
        str(username),
        email=email,
        active=is_active,
        staff=is_staff,
        superuser=is_superuser,
        first_name=first_name,
        last_name=last_name,
    )


@method("auth.users.delete", ["undef", "str"])
def delete_user(call: Call, username: str) -> None:
    """Delete a user who has submitted no job (deactivate the others: auth.users.update
    with is_active false)."""
    accounts.delete_user(call.actor, str(username))


@method("auth.users.list", ["array"])
def list_users(call: Call) -> list[dict[str, Any]]:
    """Every user: names and flags."""
    call.need_perm("auth.view_user")
    return [
        {
            "username": u.username,
            "last_name": u.last_name,
            "first_name": u.first_name,
            "is_superuser": u.is_superuser,
            "is_staff": u.is_staff,
            "is_active": u.is_active,
        }
        for u in User.objects.order_by("username")
    ]


@method("auth.users.show", ["struct", "str"])
def show_user(call: Call, username: str) -> dict[str, Any]:
    """A user's details, groups and own permissions (``app.model.codename``)."""
    call.need_perm("auth.view_user")
    user = _user(username)
    return {
        "date_joined": utc(user.date_joined),
        "email": user.email,
        "first_name": user.first_name,
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "permissions": _names(user.user_permissions.all()),
        "id": user.id,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "last_login": utc(user.last_login),
        "last_name": user.last_name,
        "username": user.username,
    }


@method("auth.users.groups.add", ["undef", "str", "str"])
def add_user_group(call: Call, username: str, group: str) -> None:
    """Put a user in a group."""
    accounts.add_member(call.actor, str(username), str(group))


@method("auth.users.groups.list", ["array", "str"])
def list_user_groups(call: Call, username: str) -> list[str]:
    """The groups a user is in."""
    call.need_perm("auth.view_user")
    return sorted(_user(username).groups.values_list("name", flat=True))


@method("auth.users.groups.delete", ["undef", "str", "str"])
def delete_user_group(call: Call, username: str, group: str) -> None:
    """Take a user out of a group."""
    accounts.remove_member(call.actor, str(username), str(group))


@method("auth.groups.add", ["undef", "str"])
def add_group(call: Call, name: str) -> None:
    """Create a group."""
    accounts.add_group(call.actor, str(name))


@method("auth.groups.delete", ["undef", "str"])
def delete_group(call: Call, name: str) -> None:
    """Delete a group (its members stay; their rights through it go)."""
    accounts.delete_group(call.actor, str(name))


@method("auth.groups.list", ["array"])
def list_groups(call: Call) -> list[str]:
    """Every group's name."""
    call.need_perm("auth.view_group")
    return list(Group.objects.order_by("name").values_list("name", flat=True))


@method("auth.groups.show", ["struct", "str"])
def show_group(call: Call, name: str) -> dict[str, Any]:
    """A group's members and permissions."""
    call.need_perm("auth.view_group")
    group = _group(name)
    return {
        "id": group.id,
        "name": group.name,
        "permissions": _names(group.permissions.all()),
        "users": sorted(group.user_set.values_list("username", flat=True)),
    }


def _register_perms(kind: Holder, find: Callable[[Any], Any], held: Callable[[Any], Any]) -> None:
    """``auth.<kind>s.perms.add|list|delete``: the Django permissions a user or group holds."""

    def add(call: Call, name: str, app: str, model: str, codename: str) -> None:
        accounts.grant_permission(call.actor, kind, str(name), str(app), str(model), str(codename))

    def listing(call: Call, name: str) -> list[dict[str, str]]:
        call.need_perm(f"auth.view_{kind}")
        return _rows(held(find(name)).all())

    def delete(call: Call, name: str, app: str, model: str, codename: str) -> None:
        accounts.revoke_permission(call.actor, kind, str(name), str(app), str(model), str(codename))

    add.__doc__ = f"Grant a {kind} a permission, e.g. ``lava_scheduler_app device change_device``."
    listing.__doc__ = f"The permissions a {kind} holds itself (app, model, codename)."
    delete.__doc__ = f"Withdraw a permission from a {kind}."
    method(f"auth.{kind}s.perms.add", ["undef", "str", "str", "str", "str"])(add)
    method(f"auth.{kind}s.perms.list", ["array", "str"])(listing)
    method(f"auth.{kind}s.perms.delete", ["undef", "str", "str", "str", "str"])(delete)


_register_perms("user", _user, lambda user: user.user_permissions)
_register_perms("group", _group, lambda group: group.permissions)
