"""API token pages: each user sees, makes and deletes only their own tokens."""

from __future__ import annotations

import datetime
import re

import pytest
from django.test import Client
from django.utils import timezone

from lava.server.scheduler.models import AuthToken

LIST = "/api/tokens/"


def message(answer) -> str:
    """The error page's message."""
    return re.search(r'id="error-message">(.*?)</p>', answer.content.decode()).group(1)


@pytest.fixture
def owner(client, users) -> Client:
    client.force_login(users["owner"])
    return client


def test_anonymous_is_sent_to_sign_in(client, db) -> None:
    for answer in (client.get(LIST), client.post(LIST + "create/", {"description": "x"})):
        assert answer.status_code == 302
        assert answer["Location"].startswith("/accounts/login/?next=")
    assert not AuthToken.objects.exists()


def test_create_shows_the_secret_once(owner, users) -> None:
    answer = owner.post(LIST + "create/", {"description": "CI of project X"})
    assert answer.status_code == 302 and answer["Location"] == LIST
    token = AuthToken.objects.get(user=users["owner"])
    assert token.description == "CI of project X"
    first = owner.get(LIST)
    assert token.secret in first.content.decode()
    assert "no-store" in first["Cache-Control"] or "no-cache" in first["Cache-Control"]
    again = owner.get(LIST).content.decode()
    assert token.secret not in again and "CI of project X" in again


def test_the_owner_can_ask_for_the_secret(owner, users) -> None:
    token = AuthToken.objects.create(user=users["owner"], description="mine")
    url = f"{LIST}{token.pk}/secret/"
    assert owner.get(url).status_code == 405  # only on purpose: a POST with the CSRF token
    answer = owner.post(url)
    assert answer.status_code == 200 and answer.json()["secret"] == token.secret
    assert "no-store" in answer["Cache-Control"]


def test_the_list_is_sorted_by_last_use_and_holds_no_secret(owner, users) -> None:
    now = timezone.now()
    never = AuthToken.objects.create(user=users["owner"], description="never used")
    recent = AuthToken.objects.create(user=users["owner"], description="used today")
    old = AuthToken.objects.create(user=users["owner"], description="used last year")
    AuthToken.objects.filter(pk=recent.pk).update(last_used_on=now)
    AuthToken.objects.filter(pk=old.pk).update(last_used_on=now - datetime.timedelta(days=365))
    body = owner.get(LIST).content.decode()
    assert body.index("used last year") < body.index("used today") < body.index("never used")
    for token in (never, recent, old):
        assert token.secret not in body
    assert "Delete the 1 token never used" in body


def test_a_stranger_sees_and_touches_none_of_them(client, users) -> None:
    token = AuthToken.objects.create(user=users["owner"], description="owner's")
    client.force_login(users["stranger"])
    body = client.get(LIST).content.decode()
    assert "owner&#x27;s" not in body and "owner's" not in body and token.secret not in body
    missing = client.post(f"{LIST}987654/delete/")
    theirs = client.post(f"{LIST}{token.pk}/delete/")
    assert theirs.status_code == missing.status_code == 404
    assert message(theirs).replace(str(token.pk), "N") == message(missing).replace("987654", "N")
    assert client.post(f"{LIST}{token.pk}/secret/").status_code == 404
    assert AuthToken.objects.filter(pk=token.pk).exists()


def test_even_a_superuser_page_shows_only_their_own(client, users) -> None:
    token = AuthToken.objects.create(user=users["owner"], description="owner's")
    client.force_login(users["admin"])
    assert "owner&#x27;s" not in client.get(LIST).content.decode()
    assert client.post(f"{LIST}{token.pk}/secret/").status_code == 404
    assert client.post(f"{LIST}{token.pk}/delete/").status_code == 404


def test_delete_own_token(owner, users) -> None:
    token = AuthToken.objects.create(user=users["owner"], description="mine")
    assert owner.get(f"{LIST}{token.pk}/delete/").status_code == 405  # POST only
    answer = owner.post(f"{LIST}{token.pk}/delete/")
    assert answer.status_code == 302 and answer["Location"] == LIST
    assert not AuthToken.objects.filter(pk=token.pk).exists()
    assert "Token deleted." in owner.get(LIST).content.decode()


def test_delete_unused(owner, users) -> None:
    AuthToken.objects.create(user=users["owner"], description="unused")
    used = AuthToken.objects.create(user=users["owner"], description="used")
    AuthToken.objects.filter(pk=used.pk).update(last_used_on=timezone.now())
    theirs = AuthToken.objects.create(user=users["stranger"], description="stranger's unused")
    assert owner.post(LIST + "delete_unused/").status_code == 302
    assert list(AuthToken.objects.filter(user=users["owner"])) == [used]
    assert AuthToken.objects.filter(pk=theirs.pk).exists()


def test_forms_need_the_csrf_token(users) -> None:
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(users["owner"])
    assert strict.post(LIST + "create/", {"description": "x"}).status_code == 403
    assert not AuthToken.objects.exists()


@pytest.mark.parametrize("bad", ["abc", "-1", "1" * 30, "٣", "1.5", "x" * 5000])
def test_bad_ids_read_as_missing(owner, bad) -> None:
    assert owner.post(f"{LIST}{bad}/delete/").status_code == 404
    assert owner.post(f"{LIST}{bad}/secret/").status_code == 404


def test_a_nul_in_an_id_is_a_bad_request(owner) -> None:
    assert owner.post(f"{LIST}1%00/delete/").status_code == 400


def test_bad_descriptions_are_refused(owner, users) -> None:
    assert owner.post(LIST + "create/", {"description": "x" * 1001}).status_code == 413
    assert owner.post(LIST + "create/", {"description": "two\nlines"}).status_code == 400
    assert not AuthToken.objects.exists()
    assert owner.post(LIST + "create/", {}).status_code == 302  # no description is fine


def test_a_token_made_here_works_for_the_api(owner, users) -> None:
    owner.post(LIST + "create/", {"description": "api"})
    secret = AuthToken.objects.get(user=users["owner"]).secret
    rest = Client(HTTP_AUTHORIZATION=f"Token {secret}")
    assert rest.get("/api/v0.2/jobs/").status_code == 200
