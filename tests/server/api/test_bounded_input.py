"""Deep or oversized input to either API is a 400 or a fault naming the limit, never a 500.

About 990 nested lists in a JSON body or in XML-RPC parameters used to be an
HTTP 500 or fault -32603 (anonymous callers included), each writing ~200 KB
of traceback to the log.
"""

from __future__ import annotations

import logging
import xmlrpc.client

import pytest
from django.test import Client
from rpc_helpers import URL

from lava.server.scheduler.models import TestJob

BASE = "/api/v0.2"
DEEP_JSON = "[" * 990 + "]" * 990
SHALLOW_TOO_DEEP = "[" * 60 + "]" * 60  # within Python's parser, over nesting_depth


def deep_call(name: str, depth: int = 990) -> str:
    value = "<value><array><data>" * depth + "</data></array></value>" * depth
    return (
        f"<?xml version='1.0'?><methodCall><methodName>{name}</methodName>"
        f"<params><param>{value}</param></params></methodCall>"
    )


@pytest.fixture
def client() -> Client:
    # a server error must show as a 500 here, as a real client gets it
    return Client(HTTP_HOST="localhost", raise_request_exception=False)


@pytest.mark.parametrize("path", ["token/", "jobs/validate/", "jobs/validate_testdef/"])
@pytest.mark.parametrize("body", [DEEP_JSON, SHALLOW_TOO_DEEP])
def test_deep_json_anonymous_is_a_400_naming_the_limit(client, db, path, body) -> None:
    answer = client.post(
        f"{BASE}/{path}",
        f'{{"username": {body}, "definition": {body}}}',
        content_type="application/json",
    )
    assert answer.status_code == 400, answer.content[:300]
    assert "nesting_depth" in answer.json()["detail"]


def test_deep_json_submission_stores_nothing(client, lab, rest_auth) -> None:
    answer = client.post(
        f"{BASE}/jobs/",
        f'{{"definition": {DEEP_JSON}}}',
        content_type="application/json",
        **rest_auth["owner"],
    )
    assert answer.status_code == 400 and "nesting_depth" in answer.json()["detail"]
    assert not TestJob.objects.exists()


@pytest.mark.parametrize("path", ["jobs/validate/", "jobs/validate_testdef/"])
def test_deep_yaml_to_validate_names_the_limit(client, db, path) -> None:
    answer = client.post(f"{BASE}/{path}", {"definition": "x: " + DEEP_JSON})
    assert answer.status_code == 200
    assert "nesting_depth" in answer.json()["message"] and "invalid" in answer.json()["message"]


@pytest.mark.parametrize(
    "name", ["scheduler.jobs.submit", "system.multicall", "scheduler.jobs.validate"]
)
@pytest.mark.parametrize("depth", [990, 5000, 60])
def test_deep_xmlrpc_parameters_are_a_fault_naming_the_limit(
    client, lab, tokens, name, depth
) -> None:
    answer = client.post(URL, deep_call(name, depth), content_type="text/xml", **tokens["owner"])
    assert answer.status_code == 200
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc.client.loads(answer.content)
    assert fault.value.faultCode == -32602
    assert "nesting_depth" in fault.value.faultString and name in fault.value.faultString
    assert not TestJob.objects.exists()


@pytest.mark.parametrize(
    "body",
    [
        b"<foo/>",  # no methodCall: xmlrpc.client raised its own ResponseError (a 500)
        b"<methodCall><methodName>system.version</methodName></methodCall>",  # no declaration
        b"<?xml version='1.0'?><methodResponse><params><param><value><int>1</int></value>"
        b"</param></params></methodResponse>",
        b"<?xml version='1.0'?><methodResponse><fault><value><struct><member><name>faultCode"
        b"</name><value><int>1</int></value></member><member><name>faultString</name><value>"
        b"<string>x</string></value></member></struct></value></fault></methodResponse>",
        b"<?xml version='1.0'?><!DOCTYPE m [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;'>]>"
        b"<methodCall><methodName>system.methodHelp</methodName><params><param><value>"
        b"<string>&b;</string></value></param></params></methodCall>",
        b"<?xml version='1.0'?><methodCall><methodName>system.methodHelp</methodName><params>"
        b"<param><value><int>" + b"9" * 5000 + b"</int></value></param></params></methodCall>",
    ],
)
def test_odd_bodies_are_faults(client, db, body) -> None:
    answer = client.post(URL, body, content_type="text/xml", HTTP_CONTENT_LENGTH="x")
    assert answer.status_code == 200, answer.content[:300]
    try:
        xmlrpc.client.loads(answer.content)
    except xmlrpc.client.Fault as fault:
        assert fault.faultCode in (-32700, -32602), fault
    else:  # the call without an XML declaration is a real call
        assert b"system.version" in body


def _recurse(*_: object) -> None:
    _recurse()


def _formatted(caplog: pytest.LogCaptureFixture, logger: str) -> str:
    """The record ``logger`` wrote, as the server's log handler writes it."""
    (record,) = [r for r in caplog.records if r.name.startswith(logger)]
    return logging.getLogger(logger).handlers[0].format(record)


def test_an_xmlrpc_bug_logs_one_bounded_record(client, db, caplog, monkeypatch) -> None:
    """A bug deep in a recursion: one short record (type, message, last frames)."""
    from lava.server.api.xmlrpc.view import METHODS

    monkeypatch.setattr(METHODS["system.version"], "function", _recurse)
    caplog.set_level(logging.ERROR)
    answer = client.post(URL, xmlrpc.client.dumps((), "system.version"), content_type="text/xml")
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc.client.loads(answer.content)
    assert fault.value.faultCode == -32603
    text = _formatted(caplog, "lava")
    assert "RecursionError" in text and "in _recurse" in text and len(text) < 4000


def test_a_rest_server_error_logs_one_bounded_record(client, db, caplog, monkeypatch) -> None:
    from lava.server.api.rest import system

    monkeypatch.setattr(system, "Response", _recurse)
    caplog.set_level(logging.ERROR)
    assert client.get(f"{BASE}/system/version/").status_code == 500
    text = _formatted(caplog, "django.request")
    assert "RecursionError" in text and "in _recurse" in text and len(text) < 4000
