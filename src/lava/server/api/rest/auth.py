"""``Authorization: Token <secret>``: the same AuthToken secrets XML-RPC takes as USER:TOKEN."""

from __future__ import annotations

from typing import Any

from rest_framework import authentication, exceptions

from ...scheduler.models import AuthToken
from ...services.tokens import token_of


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
        token = token_of(secret)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token")
        return token.user, token

    def authenticate_header(self, request: Any) -> str:
        return self.keyword
