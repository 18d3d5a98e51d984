"""Shared by the API tests: a Django test client, and an XML-RPC Basic token per user."""

from __future__ import annotations

import pytest
from django.test import Client
from rpc_helpers import basic

from lava.server.scheduler.models import AuthToken


@pytest.fixture
def client() -> Client:
    return Client(HTTP_HOST="localhost")


@pytest.fixture
def tokens(users) -> dict[str, dict[str, str]]:
    """``admin``, ``owner`` and ``stranger``, each with a token, as Basic headers."""
    return {
        name: basic(name, AuthToken.objects.create(user=user).secret)
        for name, user in users.items()
    }


@pytest.fixture
def rest_auth(users) -> dict[str, dict[str, str]]:
    """``admin``, ``owner`` and ``stranger``, each with a token, as REST ``Token`` headers."""
    return {
        name: {"HTTP_AUTHORIZATION": f"Token {AuthToken.objects.create(user=user).secret}"}
        for name, user in users.items()
    }
