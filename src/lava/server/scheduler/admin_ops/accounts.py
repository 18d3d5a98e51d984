"""Users, groups and API tokens, as ``manage users``, ``groups`` and ``tokens`` change them.

A user who has submitted jobs is never deleted, whatever asks (XML-RPC, the
Django admin): their jobs, results and logs would go with them. Deactivate
them instead.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import Group, Permission, User
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Exists, OuterRef, ProtectedError, Q, QuerySet
from django.utils import timezone

from ..models import AuthToken, TestJob
from ..permissions import CHANGE_JOB_PERMISSION
from . import AdminError, check_length, check_name, get_group, get_user

# users


def _check_email(email: str) -> None:
    check_length(User, "email", email)
    try:
        validate_email(email)
    except ValidationError:
        raise AdminError(f"{email!r} is not an email address") from None


def _set_names(user: User, first_name: str | None, last_name: str | None) -> None:
    for field, value in (("first_name", first_name), ("last_name", last_name)):
        if value is not None:
            setattr(user, field, check_length(User, field, value))


def _check_password(password: str) -> None:
    if not password:
        raise AdminError("the password is empty")


def add_user(
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
    """Create a user; without ``password`` one is generated and returned (else None).

    ``token_only``: no password at all (the user signs in with API tokens).
    """
    check_name("user", username)
    if User.objects.filter(username=username).exists():
        raise AdminError(f"user {username!r} already exists")
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
    user.save()
    return user, generated


def update_user(
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
    """Change what is given."""
    user = get_user(username)
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


def check_removable(users: QuerySet[User]) -> None:
    """Refuse (AdminError) if any of ``users`` has submitted jobs, naming them."""
    submitted = TestJob.objects.filter(submitter=OuterRef("pk"))
    names = sorted(users.filter(Exists(submitted)).values_list("username", flat=True)[:10])
    if names:
        who = "user" if len(names) == 1 else "users"
        raise AdminError(
            f"{who} {', '.join(map(repr, names))} submitted jobs, which would be deleted "
            f"with {'them' if len(names) > 1 else 'the user'} (results and logs too): "
            "deactivate instead"
        )


def remove_users(users: QuerySet[User]) -> int:
    """Delete ``users``, none of them if any has submitted jobs; how many were deleted."""
    with transaction.atomic():
        check_removable(users)
        count = users.count()
        try:
            users.delete()
        except ProtectedError:  # a job submitted since the check: TestJob.submitter protects
            check_removable(users)
            raise
    return count


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
        raise AdminError(
            f"permission {CHANGE_JOB_PERMISSION} does not exist: run lava-server manage migrate"
        ) from None


def add_group(name: str, *, username: str | None = None, submitting: bool = False) -> Group:
    """Create a group, optionally with a first member and LAVA's ``--submitting`` right."""
    check_name("group", name)
    if Group.objects.filter(name=name).exists():
        raise AdminError(f"group {name!r} already exists")
    user = get_user(username) if username else None
    permission = _change_job_permission() if submitting else None
    with transaction.atomic():
        group = Group.objects.create(name=name)
        _grant(group, user, permission)
    return group


def update_group(
    name: str,
    *,
    username: str | None = None,
    remove_username: str | None = None,
    submitting: bool | None = None,
) -> Group:
    """Add or remove a member; grant (True) or withdraw (False) the ``--submitting`` right."""
    group = get_group(name)
    user = get_user(username) if username else None
    gone = get_user(remove_username) if remove_username else None
    permission = _change_job_permission() if submitting is not None else None
    with transaction.atomic():
        _grant(group, user, permission if submitting else None)
        if gone is not None:
            if not gone.groups.filter(pk=group.pk).exists():
                raise AdminError(f"user {gone.username!r} is not in group {name!r}")
            group.user_set.remove(gone)
        if submitting is False and permission is not None:
            group.permissions.remove(permission)
    return group


def _grant(group: Group, user: User | None, permission: Permission | None) -> None:
    if user is not None:
        group.user_set.add(user)
    if permission is not None:
        group.permissions.add(permission)


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


# tokens


def add_token(username: str, *, description: str = "", secret: str | None = None) -> AuthToken:
    """A new API token for ``username``; ``secret`` imports a token made elsewhere."""
    user = get_user(username)
    if secret is not None:
        if not secret or len(secret) > 128 or not secret.isprintable() or " " in secret:
            raise AdminError("a token secret is 1 to 128 printable characters without spaces")
        if AuthToken.objects.filter(secret=secret).exists():
            raise AdminError("that token secret is already in use")
        return AuthToken.objects.create(user=user, description=description, secret=secret)
    return AuthToken.objects.create(user=user, description=description)


def token_rows(username: str) -> list[dict[str, Any]]:
    tokens = get_user(username).auth_tokens.order_by("id")
    return [
        {
            "id": t.id,
            "secret": t.secret,
            "description": t.description,
            "created_on": t.created_on.isoformat(timespec="seconds"),
            "last_used_on": t.last_used_on.isoformat(timespec="seconds")
            if t.last_used_on
            else None,
        }
        for t in tokens
    ]


def remove_token(secret: str) -> None:
    deleted, _ = AuthToken.objects.filter(secret=secret).delete()
    if not deleted:
        raise AdminError("no token has that secret")


def unused_tokens(days: int, username: str | None = None) -> QuerySet[AuthToken]:
    """Tokens not used for ``days`` days (never-used ones count from their creation)."""
    if days < 0:
        raise AdminError(f"--days must not be negative, not {days}")
    cutoff = timezone.now() - timedelta(days=days)
    tokens = AuthToken.objects.filter(
        Q(last_used_on__lt=cutoff) | Q(last_used_on__isnull=True, created_on__lt=cutoff)
    )
    if username:
        tokens = tokens.filter(user=get_user(username))
    return tokens.select_related("user").order_by("id")
