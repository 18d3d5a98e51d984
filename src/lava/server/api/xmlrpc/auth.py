"""Who calls ``/RPC2``: HTTP Basic ``USER:TOKEN`` (lavacli puts it in the URL), else anonymous."""

from __future__ import annotations

import base64
import binascii

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest, HttpResponse

from ...services.tokens import token_of


class BadAuthorization(ValueError):
    """The Authorization header cannot be read (HTTP 400)."""


class UnknownToken(PermissionError):
    """No active user has this token (HTTP 401)."""


def caller(request: HttpRequest) -> User | AnonymousUser:
    """The user the request's Basic credentials name; anonymous without any."""
    header = request.headers.get("Authorization", "")
    if not header:
        return request.user if getattr(request, "user", None) else AnonymousUser()
    username, secret = basic_credentials(header)
    token = token_of(secret, username)
    if token is None:
        # not echoing the user name: a client that swapped the two would see its token
        raise UnknownToken("no such user and token (send USER:TOKEN)")
    return token.user


def basic_credentials(header: str) -> tuple[str, str]:
    """USER and TOKEN from an ``Authorization: Basic`` header; BadAuthorization if unreadable."""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        raise BadAuthorization("the Authorization header must be Basic USER:TOKEN")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise BadAuthorization(
            "the Authorization header is not valid base64 of USER:TOKEN"
        ) from None
    username, colon, secret = decoded.partition(":")
    if not colon or not username or not secret:
        raise BadAuthorization("the Authorization header must hold USER:TOKEN")
    return username, secret


def basic_caller(request: HttpRequest, realm: str) -> User | AnonymousUser | HttpResponse:
    """``caller``, or the plain-text answer to credentials that do not name one:
    400 for a header that cannot be read, 401 (with a Basic challenge for ``realm``)
    for an unknown user and token."""
    try:
        return caller(request)
    except BadAuthorization as exc:
        return HttpResponse(f"{exc}\n", status=400, content_type="text/plain; charset=utf-8")
    except UnknownToken as exc:
        answer = HttpResponse(f"{exc}\n", status=401, content_type="text/plain; charset=utf-8")
        answer["WWW-Authenticate"] = f'Basic realm="{realm}"'
        return answer
