"""``Authorization: Token <secret>``: the same AuthToken secrets XML-RPC takes as USER:TOKEN."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import authentication, exceptions

from ...scheduler.models import AuthToken
from ..xmlrpc.auth import LAST_USED_PRECISION


class TokenAuthentication(authentication.BaseAuthentication):
    """A token from ``lava-server manage tokens add``; an inactive user's tokens do not work."""

    keyword = "Token"

    def authenticate(self, request: Any) -> tuple[Any, AuthToken] | None:
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Invalid token header: use 'Token <secret>'")
        try:
            secret = header[1].decode()
        except UnicodeError:
            raise exceptions.AuthenticationFailed("Invalid token header") from None
        token = (
            AuthToken.objects.select_related("user")
            .filter(secret=secret, user__is_active=True)
            .first()
        )
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token")
        now = timezone.now()
        if token.last_used_on is None or now - token.last_used_on > LAST_USED_PRECISION:
            AuthToken.objects.filter(pk=token.pk).update(last_used_on=now)
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return self.keyword
