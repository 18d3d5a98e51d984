"""``POST /api/v0.2/token/``: a username and password in, the user's oldest token out."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.test import Client

from lava.server.scheduler.models import AuthToken

TOKEN = "/api/v0.2/token/"


@pytest.fixture(autouse=True)
def fresh_counters():
    caches["ratelimit"].clear()  # sign-in attempts are counted across tests otherwise
    yield
    caches["ratelimit"].clear()


def token(client: Client, username: str, password: str):
    return client.post(TOKEN, {"username": username, "password": password})


def test_a_token_is_made_once_then_the_oldest_is_given(client, users) -> None:
    first = token(client, "owner", "owner")
    assert first.status_code == 200
    made = AuthToken.objects.get(user=users["owner"])
    assert (first.json()["token"], made.description) == (
        made.secret,
        "made by POST /api/v0.2/token/",
    )
    AuthToken.objects.create(user=users["owner"], description="newer")
    assert token(client, "owner", "owner").json()["token"] == made.secret


def test_wrong_or_inactive_users_get_no_token(client, users) -> None:
    assert token(client, "owner", "wrong").status_code == 403
    users["stranger"].is_active = False
    users["stranger"].save()
    assert token(client, "stranger", "stranger").status_code == 403
    assert not AuthToken.objects.exists()
