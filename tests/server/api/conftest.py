"""Shared by the API tests: a Django test client, and an XML-RPC Basic token per user."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from rpc_helpers import basic

from lava.server.scheduler.models import AuthToken
from tests.support.probes import Who


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


@pytest.fixture
def people(users) -> dict[str, Who]:
    """Owner and stranger are staff who may view jobs, results and devices in the admin."""
    codenames = ("view_testjob", "view_testsuite", "view_testcase", "view_device")
    codenames += ("view_devicetype", "view_alias")
    for name in ("owner", "stranger"):
        users[name].is_staff = True
        users[name].save()
        users[name].user_permissions.add(*Permission.objects.filter(codename__in=codenames))
    who = {"anonymous": Who("anonymous", {}, {}, None)}
    for name, user in users.items():
        secret = AuthToken.objects.create(user=user).secret
        who[name] = Who(name, basic(name, secret), {"HTTP_AUTHORIZATION": f"Token {secret}"}, user)
    return who
