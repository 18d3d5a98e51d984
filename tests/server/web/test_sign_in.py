"""Sign-in and sign-out pages: Django's views, the admin's rate limit, safe ``next`` only."""

from __future__ import annotations

import pytest
from django.core.cache import caches

LOGIN = "/accounts/login/"
LOGOUT = "/accounts/logout/"


@pytest.fixture(autouse=True)
def fresh_counters(settings, monkeypatch):
    monkeypatch.setattr(settings.LAVA, "login_rate_per_address", "6/m")
    monkeypatch.setattr(settings.LAVA, "login_rate_per_username", "3/m")
    monkeypatch.setattr(settings.LAVA, "trusted_proxies", [])
    caches["ratelimit"].clear()
    yield
    caches["ratelimit"].clear()


def sign_in(client, username, password, **extra):
    return client.post(LOGIN, {"username": username, "password": password, **extra})


def test_the_page_shows_a_form_with_csrf(client, users) -> None:
    page = client.get(LOGIN + "?next=/scheduler/myjobs")
    assert page.status_code == 200
    body = page.content.decode()
    assert 'name="csrfmiddlewaretoken"' in body and 'name="password"' in body
    assert 'name="next" value="/scheduler/myjobs"' in body
    assert "Content-Security-Policy" in page.headers


def test_success_signs_in_and_follows_next(client, users) -> None:
    answer = sign_in(client, "owner", "owner", next="/scheduler/myjobs")
    assert answer.status_code == 302 and answer["Location"] == "/scheduler/myjobs"
    assert client.session["_auth_user_id"] == str(users["owner"].pk)


def test_success_without_next_goes_home(client, users) -> None:
    answer = sign_in(client, "owner", "owner")
    assert answer.status_code == 302 and answer["Location"] == "/"


def test_failure_shows_the_form_and_a_message(client, users) -> None:
    answer = sign_in(client, "owner", "wrong")
    assert answer.status_code == 200
    body = answer.content.decode()
    assert "Sign-in failed" in body and "alert-danger" in body
    assert "_auth_user_id" not in client.session


def test_an_inactive_user_cannot_sign_in(client, users) -> None:
    users["stranger"].is_active = False
    users["stranger"].save()
    assert sign_in(client, "stranger", "stranger").status_code == 200
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",
        "//evil.example/path",
        "http:///evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        " https://evil.example",
    ],
)
def test_next_off_the_site_is_refused(client, users, target) -> None:
    answer = sign_in(client, "owner", "owner", next=target)
    assert answer.status_code == 302
    assert answer["Location"] == "/"
    # and the form does not carry it either
    page = client.get(LOGIN, {"next": target})
    assert "evil.example" not in page.content.decode().split("<form", 1)[1]


def test_attempts_are_rate_limited_like_the_admin(client, users) -> None:
    for _ in range(3):
        assert sign_in(client, "admin", "wrong").status_code == 200
    refused = sign_in(client, "admin", "admin")
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert "_auth_user_id" not in client.session
    assert client.get(LOGIN).status_code == 200  # showing the form is no attempt


def test_the_limit_is_shared_with_the_admin_login(client, users) -> None:
    for _ in range(3):
        client.post("/admin/login/", {"username": "owner", "password": "wrong"})
    assert sign_in(client, "owner", "owner").status_code == 429


def test_logout_is_post_only(client, users) -> None:
    client.force_login(users["owner"])
    assert client.get(LOGOUT).status_code == 405
    assert "_auth_user_id" in client.session
    answer = client.post(LOGOUT)
    assert answer.status_code == 302 and answer["Location"] == "/"
    assert "_auth_user_id" not in client.session


def test_logout_needs_the_csrf_token(users) -> None:
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(users["owner"])
    assert strict.post(LOGOUT).status_code == 403
    assert "_auth_user_id" in strict.session


def test_hostile_input_is_answered_without_error(client, users) -> None:
    long_name = "a" * 100_000
    assert sign_in(client, long_name, "x").status_code in (200, 429)
    assert client.get(LOGIN, {"next": "/" + "x" * 10_000}).status_code == 200
    assert client.get(LOGIN, {"next": "/\x00"}).status_code in (200, 400)
