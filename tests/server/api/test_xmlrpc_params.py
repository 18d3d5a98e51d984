"""XML-RPC parameters of the wrong type are -32602 naming the parameter, never -32603.

The check is derived from each method's type hints (``api/xmlrpc/params.py``);
the table test below calls every registered method with a wrong value in
every position, as a superuser (who gets furthest into each method) and
anonymously.
"""

from __future__ import annotations

import inspect
import xmlrpc.client
from typing import Any

import pytest
from rpc_helpers import URL

from lava.server.api.xmlrpc import view  # noqa: F401 (registers every method)
from lava.server.api.xmlrpc.params import INT_RANGE, WrongType, convert, expected
from lava.server.api.xmlrpc.registry import METHODS

H = "<?xml version='1.0'?><methodCall><methodName>{}</methodName><params>{}</params></methodCall>"

# raw XML values: what a hostile or careless client sends, type by type
BAD_VALUES = {
    "string": "<string>not a number</string>",
    "nil": "<nil/>",
    "nan": "<double>nan</double>",
    "infinity": "<double>inf</double>",
    "dateTime": "<dateTime.iso8601>not a date</dateTime.iso8601>",
    "dateTime_ok": "<dateTime.iso8601>20260101T10:00:00</dateTime.iso8601>",
    "base64": "<base64>aGVsbG8=</base64>",
    "huge_int": f"<i8>{2**70}</i8>",
    "negative": "<int>-1</int>",
    "boolean": "<boolean>1</boolean>",
    "array": "<array><data><value><int>1</int></value></data></array>",
    "struct": "<struct><member><name>a</name><value><int>1</int></value></member></struct>",
    "empty_string": "<string></string>",
}

# a plausible value for the positions not under test
GOOD = {int: "<int>1</int>", bool: "<boolean>0</boolean>", str: "<string>qemu</string>"}


def _good(hint: Any) -> str:
    for kind, value in GOOD.items():
        try:
            convert({int: 1, bool: False, str: "qemu"}[kind], hint)
        except WrongType:
            continue
        return value
    return "<array><data></data></array>"


def _call(client, name: str, values: list[str], auth: dict[str, str]) -> Any:
    body = H.format(name, "".join(f"<param><value>{v}</value></param>" for v in values))
    answer = client.post(URL, body, content_type="text/xml", **auth)
    assert answer.status_code == 200, (name, values, answer.status_code, answer.content[:300])
    try:
        return xmlrpc.client.loads(answer.content)[0][0]
    except xmlrpc.client.Fault as fault:
        return fault


def _calls() -> list[tuple[str, int, str]]:
    cases = []
    for name, found in sorted(METHODS.items()):
        if name == "system.multicall":
            continue  # its calls are each checked as calls of their own, below
        for position in range(len(found.params)):
            cases.extend((name, position, bad) for bad in BAD_VALUES)
    return cases


def test_every_method_with_wrong_types_is_never_an_internal_error(client, lab, tokens) -> None:
    internal = []
    calls = _calls()
    assert len(calls) > 1000
    for name, position, bad in calls:
        params = METHODS[name].params
        values = [_good(p.hint) for p in params[: position + 1]]
        values[position] = BAD_VALUES[bad]
        for auth in (tokens["admin"], {}):
            answer = _call(client, name, values, auth)
            if isinstance(answer, xmlrpc.client.Fault) and answer.faultCode == -32603:
                internal.append((name, position, bad, answer.faultString))
    assert not internal


@pytest.mark.parametrize(
    ("name", "values", "message"),
    [
        ("scheduler.jobs.show", ["<string>abc</string>"], "parameter 1 (job_id) must be an int"),
        ("scheduler.jobs.logs", ["<int>1</int>", "<nil/>", "<double>nan</double>"], "(end)"),
        ("scheduler.jobs.validate", ["<base64>aGVsbG8=</base64>"], "not base64"),
        (
            "scheduler.devices.show",
            ["<dateTime.iso8601>x</dateTime.iso8601>"],
            "(hostname) must be a string, not a dateTime",
        ),
        ("scheduler.jobs.show", [f"<i8>{2**64}</i8>"], "not an int out of the 64-bit range"),
        (
            "system.user_can_view_jobs",
            ["<array><data><value><nil/></value></data></array>"],
            "array of ints",
        ),
        ("system.methodHelp", ["<nil/>"], "(name) must be a string, not nil"),
    ],
)
def test_a_wrong_type_names_the_parameter_and_the_type(client, lab, name, values, message) -> None:
    fault = _call(client, name, values, {})
    assert isinstance(fault, xmlrpc.client.Fault) and fault.faultCode == -32602, fault
    assert name in fault.faultString and message in fault.faultString


def test_lavacli_forms_are_accepted(client, lab, tokens) -> None:
    """Job ids as strings, nil for options not given, 0/1 for booleans."""
    assert (
        _call(
            client,
            "scheduler.jobs.list",
            [
                "<string>RUNNING</string>",
                "<nil/>",
                "<int>0</int>",
                "<int>100</int>",
                "<nil/>",
                "<boolean>0</boolean>",
                "<int>5</int>",
            ],
            {},
        )
        == []
    )
    fault = _call(client, "scheduler.jobs.show", ["<string>12</string>"], {})
    assert fault.faultCode == 404  # looked up as job 12
    assert isinstance(_call(client, "scheduler.devices.list", ["<int>1</int>"], {}), list)


def test_multicall_checks_each_call(client, lab) -> None:
    calls = (
        "<array><data><value><struct>"
        "<member><name>methodName</name><value><string>scheduler.jobs.show</string></value></member>"
        "<member><name>params</name><value><array><data><value><nil/></value></data></array></value>"
        "</member></struct></value></data></array>"
    )
    (answer,) = _call(client, "system.multicall", [calls], {})
    assert answer["faultCode"] == -32602 and "(job_id)" in answer["faultString"]


def test_conversions() -> None:
    assert convert("12", int) == 12
    assert convert(" -3", int) == -3
    assert convert(1, bool) is True
    assert convert(None, int | None) is None
    assert convert(["1", 2], list[int]) == [1, 2]
    for value, hint in [
        (True, int),
        (2**63, int),
        ("1e3", int),
        (2, bool),
        (b"x", str),
        ("x", list[str]),
    ]:
        with pytest.raises(WrongType):
            convert(value, hint)
    assert INT_RANGE.stop == 2**63
    assert expected(list[str] | None) == "an array of strings or nil"


def test_every_method_declares_every_parameter() -> None:
    """A parameter without a hint would go unchecked: each must have one (Any says so)."""
    for name, found in METHODS.items():
        hints = inspect.get_annotations(found.function)
        for param in found.params:
            assert param.name in hints, f"{name}: parameter {param.name} has no type hint"
