"""Sign-in attempts (token/ and the admin's login) are limited per address and per user name."""

from __future__ import annotations

import multiprocessing
import os

import pytest
from django.core.cache import caches
from django.test import Client, RequestFactory

from lava.server import config
from lava.server.config import ConfigurationError
from lava.server.ratelimits import client_address, sign_in_wait

TOKEN = "/api/v0.2/token/"


@pytest.fixture(autouse=True)
def fresh_counters(settings, monkeypatch):
    monkeypatch.setattr(settings.LAVA, "login_rate_per_address", "6/m")
    monkeypatch.setattr(settings.LAVA, "login_rate_per_username", "3/m")
    monkeypatch.setattr(settings.LAVA, "trusted_proxies", [])
    caches["ratelimit"].clear()
    yield
    caches["ratelimit"].clear()


def token(client: Client, username: str, password: str, **extra):
    return client.post(TOKEN, {"username": username, "password": password}, **extra)


def test_every_attempt_counts_per_user_name(client, users) -> None:
    assert token(client, "owner", "owner").status_code == 200  # a success counts too
    assert token(client, "owner", "wrong").status_code == 403
    assert token(client, "owner", "owner").status_code == 200
    refused = token(client, "owner", "owner")
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 65
    assert "Too many sign-in attempts" in refused.json()["detail"]
    assert token(client, "OWNER ", "x").status_code == 429  # the same name, spelled otherwise
    assert token(client, "stranger", "stranger").status_code == 200  # another name


def test_every_attempt_counts_per_address(client, users) -> None:
    for number in range(6):
        assert token(client, f"guess{number}", "x").status_code == 403
    assert token(client, "stranger", "stranger").status_code == 429
    other = {"REMOTE_ADDR": "192.0.2.7"}
    assert token(client, "stranger", "stranger", **other).status_code == 200


def test_the_admin_login_is_limited_too(client, users) -> None:
    for _ in range(3):
        answer = client.post("/admin/login/", {"username": "admin", "password": "wrong"})
        assert answer.status_code == 200  # the form again, with its error
    refused = client.post("/admin/login/", {"username": "admin", "password": "admin"})
    assert refused.status_code == 429 and int(refused["Retry-After"]) >= 1
    assert client.get("/admin/login/").status_code == 200  # showing the form is no attempt


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(settings, monkeypatch) -> None:
    factory = RequestFactory()
    forged = factory.post("/", REMOTE_ADDR="198.51.100.9", HTTP_X_FORWARDED_FOR="203.0.113.1")
    assert client_address(forged) == "198.51.100.9"
    monkeypatch.setattr(settings.LAVA, "trusted_proxies", ["10.0.0.0/8", "127.0.0.1"])
    proxied = factory.post(
        "/", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.1, 10.1.2.3"
    )
    assert client_address(proxied) == "203.0.113.1"  # the last hop no trusted proxy added
    assert client_address(factory.post("/", REMOTE_ADDR="2001:db8::1:2")) == "2001:db8::"
    # a front on gunicorn's unix socket has no address: trusted only when named "unix"
    monkeypatch.setattr(settings.LAVA, "trusted_proxies", ["unix"])
    fronted = factory.post("/", REMOTE_ADDR="", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert client_address(fronted) == "203.0.113.7"
    monkeypatch.setattr(settings.LAVA, "trusted_proxies", [])
    assert client_address(fronted) == "unknown"


def _attempts(count: int) -> None:
    import django

    django.setup()
    from django.db import connections

    connections.close_all()
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.50")
    for _ in range(count):
        sign_in_wait(request, "shared")


def test_processes_share_the_counters(db) -> None:
    """gunicorn runs several processes: an attacker spread over them is counted once."""
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_attempts, args=(2,)) for _ in range(2)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    request = RequestFactory().post("/", REMOTE_ADDR="192.0.2.51")
    assert sign_in_wait(request, "shared") is not None  # 2 + 2 + 1 > 3


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("LAVA_LOGIN_RATE_PER_ADDRESS", "lots", "LOGIN_RATE_PER_ADDRESS must be COUNT/PERIOD"),
        ("LAVA_LOGIN_RATE_PER_USERNAME", "0/m", "LOGIN_RATE_PER_USERNAME must be COUNT/PERIOD"),
        ("LAVA_TRUSTED_PROXIES", "10.0.0.1, proxy.example", "'proxy.example' is not an address"),
    ],
)
def test_bad_settings_are_refused(variable, value, message) -> None:
    with pytest.raises(ConfigurationError, match=message):
        config.load({"LAVA_SETTINGS": os.devnull, variable: value})
