"""``POST /api/v0.2/token/``: a username and password in, the user's API token out."""

from __future__ import annotations

from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import AuthenticationFailed, ValidationError
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ...scheduler.models import AuthToken

CREDENTIALS = {"username": serializers.CharField(), "password": serializers.CharField()}


class TokenView(APIView):
    """The user's oldest token, or a new one when they have none (as LAVA does)."""

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
        user = authenticate(request, username=username, password=password)
        if user is None or not user.is_active:
            raise AuthenticationFailed("Invalid username or password")
        token = AuthToken.objects.filter(user=user).order_by("created_on", "id").first()
        if token is None:
            token = AuthToken.objects.create(user=user, description="made by POST /api/v0.2/token/")
        return Response({"token": token.secret})
