"""``POST /api/v0.2/token/``: a username and password in, the user's API token out."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed, Throttled, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ...ratelimits import sign_in_wait
from ...services import Actor, tokens

CREDENTIALS = {"username": serializers.CharField(), "password": serializers.CharField()}


class TokenView(APIView):
    """The user's oldest token, or a new one when they have none (as LAVA does).

    Attempts are rate-limited per client address and per user name (429, Retry-After).
    """

    permission_classes = (AllowAny,)
    authentication_classes = ()

    @extend_schema(
        request=inline_serializer(
            "Credentials",
            {"username": serializers.CharField(), "password": serializers.CharField()},
        ),
        responses=inline_serializer("Token", {"token": serializers.CharField()}),
    )
    def post(self, request: Request) -> Response:
        data = request.data if hasattr(request.data, "get") else {}
        username, password = data.get("username"), data.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise ValidationError({"detail": "username and password are required"})
        wait = sign_in_wait(request, username)
        if wait is not None:  # refused before the password is hashed
            raise Throttled(wait, f"Too many sign-in attempts: try again in {wait} s.")
        user = authenticate(request, username=username, password=password)
        if user is None or not user.is_active:
            raise AuthenticationFailed("Invalid username or password")
        token = tokens.issue_token(Actor(user, "REST"), "made by POST /api/v0.2/token/")
        return Response({"token": token.secret})
