"""API tokens: who a token belongs to, the one rule every API signs callers in with, and
every change to tokens.

XML-RPC takes ``USER:TOKEN`` (HTTP Basic), REST ``Token <secret>``; both ask
``token_of``. An inactive user's tokens do not work. Each use is noted on the
token (``last_used_on``, for admins pruning unused ones), at most once a minute.
The console makes and removes anyone's tokens; a user, only their own.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from ..scheduler.models import AuthToken
from .actors import Actor
from .errors import Conflict, Invalid, Limit, Missing, Refused
from .names import check_length, get_user, whole_number
from .token_query import find_token

# last_used_on is a hint for admins: refreshing it once a minute spares a write per call
LAST_USED_PRECISION = datetime.timedelta(minutes=1)


def token_of(secret: str, username: str | None = None) -> AuthToken | None:
    """The active user's token with this secret (and, when given, this user name); None if
    there is none. Notes the use."""
    token = find_token(secret, username)
    if token is None:
        return None
    now = timezone.now()
    if token.last_used_on is None or now - token.last_used_on > LAST_USED_PRECISION:
        AuthToken.objects.filter(pk=token.pk).update(last_used_on=now)
    return token


def _own_tokens(actor: Actor) -> QuerySet[AuthToken]:
    """The tokens ``actor`` may remove: every one at the console or for a superuser (a
    leaked token must go at once), else their own."""
    user = actor.need_user()
    if user is None or user.is_superuser:
        return AuthToken.objects.all()
    return AuthToken.objects.filter(user=user)


def add_token(
    actor: Actor, username: str, *, description: str = "", secret: str | None = None
) -> AuthToken:
    """A new API token for ``username`` (the console, or that user themself);
    ``secret`` imports a token made elsewhere."""
    caller = actor.need_user()
    if caller is not None and caller.get_username() != username:
        raise Refused(
            f"Permission denied: tokens of {username!r} are made by them or at the console."
        )
    user = get_user(username)
    check_length(AuthToken, "description", description)
    if secret is not None:
        if not secret or len(secret) > 128 or not secret.isprintable() or " " in secret:
            raise Invalid("a token secret is 1 to 128 printable characters without spaces")
        if AuthToken.objects.filter(secret=secret).exists():
            raise Conflict("that token secret is already in use")
        return AuthToken.objects.create(user=user, description=description, secret=secret)
    return AuthToken.objects.create(user=user, description=description)


def issue_token(actor: Actor, description: str) -> AuthToken:
    """The signed-in user's oldest token, or a new one when they have none (as LAVA's
    ``POST /api/v0.2/token/`` does)."""
    user = actor.need_user()
    if user is None:
        raise Invalid("the console has no tokens of its own: name a user (tokens add --user)")
    if not user.is_active:
        raise Refused(f"user {user.get_username()!r} is not active", login=True)
    with transaction.atomic():
        mine = AuthToken.objects.filter(user=user).order_by("created_on", "id")
        token = mine.select_for_update().first()
        if token is None:
            token = AuthToken.objects.create(user=user, description=description)
    return token


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


def remove_token(actor: Actor, secret: str) -> None:
    """Remove the token with that secret (the console: any; a user: their own)."""
    deleted, _ = _own_tokens(actor).filter(secret=secret).delete()
    if not deleted:
        raise Missing("no token has that secret")


def remove_tokens(actor: Actor, ids: Iterable[int]) -> int:
    """Remove the tokens with these ids (the console: any; a user: their own), all or
    none: Missing naming those not found; how many were removed."""
    wanted = sorted(set(ids))
    tokens = _own_tokens(actor).filter(pk__in=wanted)
    with transaction.atomic():
        found = set(tokens.select_for_update().values_list("pk", flat=True))
        missing = [pk for pk in wanted if pk not in found]
        if missing:
            raise Missing(f"no such token: {', '.join(map(str, missing[:10]))}")
        tokens.delete()
    return len(found)


def unused_tokens(days: int, username: str | None = None) -> QuerySet[AuthToken]:
    """Tokens not used for ``days`` days (never-used ones count from their creation)."""
    if days < 0:
        raise Invalid(f"--days must not be negative, not {days}")
    cutoff = timezone.now() - datetime.timedelta(days=days)
    tokens = AuthToken.objects.filter(
        Q(last_used_on__lt=cutoff) | Q(last_used_on__isnull=True, created_on__lt=cutoff)
    )
    if username:
        tokens = tokens.filter(user=get_user(username))
    return tokens.select_related("user").order_by("id")


# The web page's tokens: each user sees and removes only their own, superusers too (the
# admin and ``manage tokens`` remove anyone's); a token of someone else reads as missing.
DESCRIPTION_MAX = 1000


def _mine(actor: Actor) -> QuerySet[AuthToken]:
    user = actor.need_user()
    if user is None:
        raise Invalid("the console has no tokens of its own: name a user (tokens add --user)")
    return AuthToken.objects.filter(user=user)


def my_tokens(actor: Actor) -> list[AuthToken]:
    """The actor's own tokens, least recently used first and never used last (LAVA's
    order on every database)."""
    return list(
        _mine(actor)
        .only("id", "description", "created_on", "last_used_on")
        .order_by(F("last_used_on").asc(nulls_last=True), "id")
    )


def my_token(actor: Actor, token_id: object) -> AuthToken:
    """The actor's own token numbered ``token_id``; Missing for anyone else's or none."""
    number = whole_number(token_id)
    token = None if number is None else _mine(actor).filter(pk=number).first()
    if token is None:
        raise Missing(f"Token '{str(token_id)[:40]}' was not found.")
    return token


def make_my_token(actor: Actor, description: object) -> AuthToken:
    """A new token for the signed-in actor, described by ``description``."""
    user = actor.need_user()
    if user is None:
        raise Invalid("the console has no tokens of its own: name a user (tokens add --user)")
    if not isinstance(description, str):
        raise Invalid("a token description is text")
    description = description.strip()
    if len(description) > DESCRIPTION_MAX:
        raise Limit(f"description is {len(description)} characters long: at most {DESCRIPTION_MAX}")
    if not description.isprintable():
        raise Invalid("a token description is one line of printable characters")
    return add_token(actor, user.get_username(), description=description)


def remove_my_token(actor: Actor, token_id: object) -> None:
    """Remove the actor's own token numbered ``token_id`` (Missing for anyone else's)."""
    my_token(actor, token_id).delete()


def remove_my_unused_tokens(actor: Actor) -> int:
    """Remove the actor's tokens never used (as LAVA's delete_unused); how many went."""
    deleted, _ = _mine(actor).filter(last_used_on__isnull=True).delete()
    return deleted
