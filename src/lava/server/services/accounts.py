"""Users, groups and their Django permissions: every change to them (tokens: ``tokens``).

Users need ``auth.add_user`` or ``auth.change_user``, groups ``auth.add_group``
or ``auth.change_group`` (superusers and the console hold them all); only
superusers make, unmake or change superusers. A user who has submitted jobs is
never deleted, whatever asks (XML-RPC, the Django admin): their jobs, results
and logs would go with them. Deactivate them instead.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any, Literal

from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, ProtectedError, QuerySet

from ..scheduler.models import TestJob
from ..scheduler.permissions import CHANGE_JOB_PERMISSION
from .actors import Actor
from .errors import Conflict, Invalid, Missing, Refused
from .names import check_length, check_name, get_group, get_user

# LAVA's app labels, which scripts name (lavacli ... perms add), and ours
APP_LABELS = {"lava_scheduler_app": "scheduler", "lava_results_app": "results"}

# users


def _check_email(email: str) -> None:
    check_length(User, "email", email)
    try:
        validate_email(email)
    except ValidationError:
        raise Invalid(f"{email!r} is not an email address") from None


def _set_names(user: User, first_name: str | None, last_name: str | None) -> None:
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if value is not None:
            setattr(user, field, check_length(User, field, value))


def _check_password(password: str) -> None:
    if not password:
        raise Invalid("the password is empty")


def _superusers_only(actor: Actor, users: QuerySet[User], what: str) -> None:
    """Refused unless the actor is a superuser, when any of ``users`` is one."""
    if not actor.is_superuser and users.filter(is_superuser=True).exists():
        actor.require_superuser(what)


def add_user(
    actor: Actor,
    username: str,
    *,
    email: str = "",
    password: str | None = None,
    staff: bool = False,
    superuser: bool = False,
    first_name: str = "",
    last_name: str = "",
    active: bool = True,
    token_only: bool = False,
) -> tuple[User, str | None]:
    """Create a user (``auth.add_user``; a superuser only by a superuser); without
    ``password`` one is generated and returned (else None).

    ``token_only``: no password at all (the user signs in with API tokens).
    """
    actor.require("auth.add_user")
    if superuser:
        actor.require_superuser("create superusers")
    check_name("user", username)
    if User.objects.filter(username=username).exists():
        raise Conflict(f"user {username!r} already exists")
    if email:
        _check_email(email)
    generated = None
    if password is None and not token_only:
        password = generated = secrets.token_urlsafe(12)
    if not token_only:
        _check_password(password or "")
    user = User(username=username, email=email, is_staff=staff, is_superuser=superuser)
    _set_names(user, first_name, last_name)
    user.is_active = active
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save(force_insert=True)
    except IntegrityError:  # made by someone else since the check
        raise Conflict(f"user {username!r} already exists") from None
    return user, generated


def update_user(
    actor: Actor,
    username: str,
    *,
    email: str | None = None,
    password: str | None = None,
    active: bool | None = None,
    staff: bool | None = None,
    superuser: bool | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
) -> User:
    """Change what is given (``auth.change_user``). Only superusers grant or withdraw
    superuser, or change a superuser (an e-mail address is the way to their password)."""
    actor.require("auth.change_user")
    if superuser is not None:
        actor.require_superuser("grant or withdraw superuser")
    user = get_user(username)
    if user.is_superuser:
        actor.require_superuser("change a superuser")
    _set_names(user, first_name, last_name)
    if email is not None:
        if email:
            _check_email(email)
        user.email = email
    if password is not None:
        _check_password(password)
        user.set_password(password)
    for field, value in (("is_active", active), ("is_staff", staff), ("is_superuser", superuser)):
        if value is not None:
            setattr(user, field, value)
    user.save()
    return user


def removal_refusal(users: QuerySet[User]) -> str | None:
    """Why ``users`` may not be deleted (some submitted jobs: named, at most ten); None if
    they may. The admin asks before its confirmation page, which would list the jobs."""
    submitted = TestJob.objects.filter(submitter=OuterRef("pk"))
    names = sorted(users.filter(Exists(submitted)).values_list("username", flat=True)[:10])
    if not names:
        return None
    who = "user" if len(names) == 1 else "users"
    return (
        f"{who} {', '.join(map(repr, names))} submitted jobs, which would be deleted "
        f"with {'them' if len(names) > 1 else 'the user'} (results and logs too): "
        "deactivate instead"
    )


def check_removable(users: QuerySet[User]) -> None:
    """Conflict if any of ``users`` has submitted jobs, naming them."""
    refusal = removal_refusal(users)
    if refusal is not None:
        raise Conflict(refusal)


def remove_users(actor: Actor, users: QuerySet[User]) -> int:
    """Delete ``users`` (``auth.change_user``), none of them if any has submitted jobs;
    how many were deleted."""
    actor.require("auth.change_user")
    _superusers_only(actor, users, "delete a superuser")
    with transaction.atomic():
        check_removable(users)
        count = users.count()
        try:
            users.delete()
        except ProtectedError:  # a job submitted since the check: TestJob.submitter protects
            check_removable(users)
            raise
    return count


def delete_user(actor: Actor, username: str) -> None:
    """Delete a user who has submitted no job (``auth.change_user``)."""
    actor.require("auth.change_user")
    remove_users(actor, User.objects.filter(pk=get_user(username).pk))


def user_rows(show_all: bool = False) -> list[dict[str, Any]]:
    """``users list``: inactive users only with ``show_all``."""
    users = User.objects.order_by("username")
    if not show_all:
        users = users.filter(is_active=True)
    return [
        {
            "username": u.username,
            "fullname": u.get_full_name(),
            "email": u.email,
            "active": u.is_active,
            "staff": u.is_staff,
            "superuser": u.is_superuser,
        }
        for u in users
    ]


def user_details(username: str) -> dict[str, Any]:
    user = get_user(username)
    return {
        "username": user.username,
        "fullname": user.get_full_name(),
        "email": user.email,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "groups": sorted(g.name for g in user.groups.all()),
        "tokens": user.auth_tokens.count(),
        "last_login": user.last_login.isoformat(timespec="seconds") if user.last_login else None,
        "date_joined": user.date_joined.isoformat(timespec="seconds"),
    }


# groups


def _change_job_permission() -> Permission:
    app_label, codename = CHANGE_JOB_PERMISSION.split(".")
    try:
        return Permission.objects.get(content_type__app_label=app_label, codename=codename)
    except Permission.DoesNotExist:
        raise Invalid(
            f"permission {CHANGE_JOB_PERMISSION} does not exist: run lava-server manage migrate"
        ) from None


def add_group(
    actor: Actor, name: str, *, username: str | None = None, submitting: bool = False
) -> Group:
    """Create a group (``auth.add_group``), optionally with a first member
    (``auth.change_user``) and LAVA's ``--submitting`` right (``auth.change_group``)."""
    actor.require("auth.add_group")
    if username:
        actor.require("auth.change_user")
    if submitting:
        actor.require("auth.change_group")
    check_name("group", name)
    if Group.objects.filter(name=name).exists():
        raise Conflict(f"group {name!r} already exists")
    user = get_user(username) if username else None
    permission = _change_job_permission() if submitting else None
    try:
        with transaction.atomic():
            group = Group.objects.create(name=name)
            _grant(group, user, permission)
    except IntegrityError:  # made by someone else since the check
        raise Conflict(f"group {name!r} already exists") from None
    return group


def update_group(
    actor: Actor,
    name: str,
    *,
    username: str | None = None,
    remove_username: str | None = None,
    submitting: bool | None = None,
) -> Group:
    """Add or remove a member; grant (True) or withdraw (False) the ``--submitting`` right.

    Needs ``auth.change_group``, and ``auth.change_user`` to change who is in it.
    """
    actor.require("auth.change_group")
    if username or remove_username:
        actor.require("auth.change_user")
    group = get_group(name)
    user = get_user(username) if username else None
    gone = get_user(remove_username) if remove_username else None
    if gone is not None and not gone.groups.filter(pk=group.pk).exists():
        raise Missing(f"user {gone.username!r} is not in group {name!r}")
    permission = _change_job_permission() if submitting is not None else None
    with transaction.atomic():
        _grant(group, user, permission if submitting else None)
        if gone is not None:
            group.user_set.remove(gone)
        if submitting is False and permission is not None:
            group.permissions.remove(permission)
    return group


def _grant(group: Group, user: User | None, permission: Permission | None) -> None:
    if user is not None:
        group.user_set.add(user)
    if permission is not None:
        group.permissions.add(permission)


def delete_group(actor: Actor, name: str) -> None:
    """Delete a group (``auth.change_group``): its members stay, their rights through it go."""
    actor.require("auth.change_group")
    get_group(name).delete()


def add_member(actor: Actor, username: str, group: str) -> None:
    """Put a user in a group (``auth.change_user``); one already in it stays."""
    actor.require("auth.change_user")
    get_user(username).groups.add(get_group(group))


def remove_member(actor: Actor, username: str, group: str) -> None:
    """Take a user out of a group (``auth.change_user``); one not in it: no change."""
    actor.require("auth.change_user")
    get_user(username).groups.remove(get_group(group))


def set_groups(actor: Actor, email: str, names: Sequence[str]) -> User:
    """Make the groups of the user with that e-mail address exactly ``names`` (staff only)."""
    caller = actor.need_user()
    if caller is not None and not caller.is_staff:
        raise Refused("Permission denied: only staff may do this.")
    user = User.objects.filter(email=email).first()
    if user is None:
        raise Invalid(f"No user has the e-mail address '{email}'")
    found = Group.objects.filter(name__in=names)
    missing = sorted(set(names) - set(found.values_list("name", flat=True)))
    if missing:
        raise Invalid(f"No such group: {', '.join(missing)}")
    user.groups.set(found)
    return user


def group_rows() -> list[dict[str, Any]]:
    return [
        {
            "name": g.name,
            "users": sorted(u.username for u in g.user_set.all()),
            "permissions": sorted(
                f"{p.content_type.app_label}.{p.codename}" for p in g.permissions.all()
            ),
        }
        for g in Group.objects.prefetch_related("user_set", "permissions__content_type").order_by(
            "name"
        )
    ]


# Django permissions held by a user or a group (auth.users.perms.*, auth.groups.perms.*)

Holder = Literal["user", "group"]


def find_permission(app: str, model: str, codename: str) -> Permission:
    """The permission ``app.model.codename`` (LAVA's app labels too); Missing if none."""
    found = Permission.objects.filter(
        content_type__app_label=APP_LABELS.get(app, app),
        content_type__model=model,
        codename=codename,
    ).first()
    if found is None:
        raise Missing(f"Invalid permission '{app}.{model}.{codename}'")
    return found


def held_permissions(kind: Holder, name: str) -> QuerySet[Permission]:
    """The Django permissions the user or group ``name`` holds itself."""
    return _held(kind, name).select_related("content_type")


def _held(kind: Holder, name: str) -> Any:
    if kind == "user":
        return get_user(name).user_permissions
    return get_group(name).permissions


def grant_permission(
    actor: Actor, kind: Holder, name: str, app: str, model: str, codename: str
) -> None:
    """Give the user or group ``name`` a Django permission (``auth.change_user`` or
    ``auth.change_group``); one held already stays."""
    actor.require(f"auth.change_{kind}")
    held = _held(kind, name)
    held.add(find_permission(app, model, codename))


def revoke_permission(
    actor: Actor, kind: Holder, name: str, app: str, model: str, codename: str
) -> None:
    """Take a Django permission from the user or group ``name``; one not held: no change."""
    actor.require(f"auth.change_{kind}")
    held = _held(kind, name)
    held.remove(find_permission(app, model, codename))
