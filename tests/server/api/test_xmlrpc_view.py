"""``/RPC2``: authentication, faults for every kind of bad call, and the system namespace."""

from __future__ import annotations

import base64
import xmlrpc.client

import pytest
from rpc_helpers import URL, basic, rpc

import lava
from lava.server.scheduler.models import AuthToken


def test_system_version_whoami_api(client, tokens) -> None:
    assert rpc(client, "system.version") == lava.__version__
    assert rpc(client, "system.api_version") == 2
    assert rpc(client, "system.whoami") is None
    assert rpc(client, "system.whoami", auth=tokens["owner"]) == "owner"


def test_introspection(client) -> None:
    names = rpc(client, "system.listMethods")
    assert {"system.version", "scheduler.jobs.submit", "scheduler.jobs.logs"} <= set(names)
    assert "lavacli" in rpc(client, "system.methodHelp", "system.version")
    assert rpc(client, "system.methodSignature", "scheduler.jobs.show") == [["struct", "int"]]
    answers = rpc(
        client,
        "system.multicall",
        [{"methodName": "system.version", "params": []}, {"methodName": "nope", "params": []}],
    )
    assert answers[0] == [lava.__version__]
    assert answers[1]["faultCode"] == -32601


@pytest.mark.parametrize(
    ("header", "status"),
    [
        ("Bearer abc", 400),
        ("Basic !!!", 400),
        ("Basic " + base64.b64encode(b"no-colon").decode(), 400),
        ("Basic " + base64.b64encode(b"owner:wrong").decode(), 401),
        ("Basic " + base64.b64encode(b"ghost:" + b"a" * 128).decode(), 401),
    ],
)
def test_bad_credentials_are_http_errors(client, tokens, header, status) -> None:
    body = xmlrpc.client.dumps((), "system.whoami")
    answer = client.post(URL, body, content_type="text/xml", HTTP_AUTHORIZATION=header)
    assert answer.status_code == status
    if status == 401:
        assert answer["WWW-Authenticate"].startswith("Basic")


def test_another_users_token_does_not_work(client, users) -> None:
    secret = AuthToken.objects.create(user=users["owner"]).secret
    body = xmlrpc.client.dumps((), "system.whoami")
    answer = client.post(URL, body, content_type="text/xml", **basic("stranger", secret))
    assert answer.status_code == 401


def test_inactive_user_is_refused(client, users) -> None:
    secret = AuthToken.objects.create(user=users["owner"]).secret
    users["owner"].is_active = False
    users["owner"].save()
    body = xmlrpc.client.dumps((), "system.whoami")
    answer = client.post(URL, body, content_type="text/xml", **basic("owner", secret))
    assert answer.status_code == 401


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not xml at all", -32700),
        (b"<?xml version='1.0'?><methodCall><methodName>x", -32700),
        (xmlrpc.client.dumps((), "no.such.method").encode(), -32601),
        (xmlrpc.client.dumps((1, 2, 3), "system.version").encode(), -32602),
        (xmlrpc.client.dumps((), "system.methodHelp").encode(), -32602),
    ],
)
def test_bad_calls_are_faults_not_500(client, db, body, code) -> None:
    answer = client.post(URL, body, content_type="text/xml")
    assert answer.status_code == 200
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc.client.loads(answer.content)
    assert fault.value.faultCode == code


def test_oversized_request_is_a_fault(client, db, settings, monkeypatch) -> None:
    monkeypatch.setattr(settings.LAVA, "max_job_size", 1000)
    body = xmlrpc.client.dumps(("x" * 200_000,), "scheduler.jobs.submit")
    answer = client.post(URL, body, content_type="text/xml")
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc.client.loads(answer.content)
    assert fault.value.faultCode == 400 and "too large" in fault.value.faultString


def test_get_lists_the_methods(client, db) -> None:
    answer = client.get(URL)
    assert answer.status_code == 200 and b"system.version" in answer.content


def test_answers_stay_xml_whatever_the_text_holds(client, tokens, users) -> None:
    from lava.server.scheduler.models import TestJob

    # a submitter's job name with an escape character (a terminal colour), and a fault quoting it
    job = TestJob.objects.create(
        submitter=users["owner"], definition="x", description="red \x1b[31m\x07 \ufffe"
    )
    shown = rpc(client, "scheduler.jobs.show", job.id, auth=tokens["owner"])
    assert shown["description"] == "red \\x1b[31m\\x07 \\ufffe"
    # YAML's own escape: the key the refusal quotes is an escape character
    definition = 'job_name: x\n"\\x1b": 1\n'
    with pytest.raises(xmlrpc.client.Fault) as refused:
        rpc(client, "scheduler.jobs.submit", definition, auth=tokens["owner"])
    assert "\x1b" not in refused.value.faultString
