"""Deep or ill-typed input to the APIs: a 400 or fault naming the problem, never a 500 or -32603.

Classes 5 and 7 of issue 11: about 990 nested levels in a JSON body or in
XML-RPC parameters gave HTTP 500 or fault -32603 (some to anonymous callers),
each writing ~200 KB of traceback to the log; XML-RPC parameters of the wrong
type (a string for an int, nil, NaN, odd dateTimes, base64 for a string, huge
ints) gave -32603 instead of -32602.
"""

from __future__ import annotations

import contextlib
import xmlrpc.client
from collections.abc import Iterator

import pytest
import requests

pytestmark = pytest.mark.slow

DEPTH = 990
LOG_GROWTH = 8 * 1024  # what a few access lines and refusals may add to the web log


@contextlib.contextmanager
def quiet_log(security_lab, calls: int = 3) -> Iterator[None]:
    """The web log grows by a few KB at most (an access line a call, no traceback)."""
    path = security_lab.lab.log_file("web")
    before = path.stat().st_size
    yield
    grown = path.read_bytes()[before:]
    assert len(grown) < LOG_GROWTH + 300 * calls, grown[-2000:]
    assert b"Traceback" not in grown and b"RecursionError" not in grown, grown[-2000:]


def job_count(security_lab) -> int:
    return security_lab.lab.query(
        "from lava.server.scheduler.models import TestJob\nprint(TestJob.objects.count())"
    )


def xml_call(name: str, value: str) -> str:
    return (
        f"<?xml version='1.0'?><methodCall><methodName>{name}</methodName>"
        f"<params><param><value>{value}</value></param></params></methodCall>"
    )


def rpc_post(security_lab, body: str, user: str | None = "mallory") -> xmlrpc.client.Fault:
    headers = {"Content-Type": "text/xml"}
    if user:
        headers["Authorization"] = security_lab.basic(user)
    answer = requests.post(
        security_lab.url + "RPC2", data=body.encode(), headers=headers, timeout=60
    )
    assert answer.status_code == 200, answer.text[:300]
    with pytest.raises(xmlrpc.client.Fault) as fault:
        xmlrpc.client.loads(answer.content)
    return fault.value


def test_deep_json_is_a_400_naming_the_limit(security_lab) -> None:
    deep = "[" * DEPTH + "]" * DEPTH
    jobs = job_count(security_lab)
    with quiet_log(security_lab):
        for user, path in [(None, "token/"), (None, "jobs/validate/"), ("mallory", "jobs/")]:
            answer = security_lab.rest(user).post(
                f"{security_lab.url}api/v0.2/{path}",
                data=f'{{"username": {deep}, "definition": {deep}}}',
                headers={"Content-Type": "application/json"},
                timeout=60,
            )
            assert answer.status_code == 400, (path, answer.status_code, answer.text[:300])
            assert "nesting_depth" in answer.json()["detail"], answer.text
    assert job_count(security_lab) == jobs
    security_lab.assert_runs_jobs()


def test_deep_xmlrpc_parameters_are_a_fault_naming_the_limit(security_lab) -> None:
    deep = "<array><data><value>" * DEPTH + "</value></data></array>" * DEPTH
    jobs = job_count(security_lab)
    with quiet_log(security_lab):
        for name, user in [
            ("scheduler.jobs.submit", "mallory"),
            ("system.multicall", "mallory"),
            ("scheduler.jobs.validate", None),
        ]:
            fault = rpc_post(security_lab, xml_call(name, deep), user)
            assert fault.faultCode == -32602, fault
            assert "nesting_depth" in fault.faultString and name in fault.faultString
        # deep YAML inside a well-formed call: refused by the bounded YAML reader
        definition = "job_name: deep\nx: " + "[" * DEPTH + "]" * DEPTH + "\n"
        with pytest.raises(xmlrpc.client.Fault) as refused:
            security_lab.submit(definition)
        assert refused.value.faultCode == 400 and "nesting_depth" in refused.value.faultString
    assert job_count(security_lab) == jobs
    security_lab.assert_runs_jobs()


BAD = {
    "string": "<string>not a number</string>",
    "nil": "<nil/>",
    "nan": "<double>nan</double>",
    "odd dateTime": "<dateTime.iso8601>yesterday-ish</dateTime.iso8601>",
    "base64": "<base64>aGVsbG8=</base64>",
    "huge int": f"<i8>{2**80}</i8>",
    "struct": "<struct><member><name>a</name><value><int>1</int></value></member></struct>",
}
# methods that would make jobs from a good value elsewhere: the server tests cover them
MAKES_JOBS = {
    "scheduler.jobs.submit",
    "scheduler.submit_job",
    "scheduler.jobs.resubmit",
    "scheduler.resubmit_job",
}


def test_wrong_parameter_types_are_invalid_params(security_lab) -> None:
    proxy = security_lab.rpc("mallory")
    for name, value, words in [
        ("scheduler.jobs.show", BAD["string"], "parameter 1 (job_id) must be an int"),
        ("scheduler.jobs.show", BAD["huge int"], "(job_id) must be an int"),
        ("scheduler.jobs.validate", BAD["base64"], "(definition) must be a string, not base64"),
        ("scheduler.devices.show", BAD["odd dateTime"], "must be a string, not a dateTime"),
        ("system.methodHelp", BAD["nil"], "(name) must be a string, not nil"),
        ("scheduler.jobs.cancel", BAD["nan"], "(job_id) must be an int or a string"),
    ]:
        fault = rpc_post(security_lab, xml_call(name, value))
        assert fault.faultCode == -32602 and words in fault.faultString, (name, fault)
    internal = []
    names = proxy.system.listMethods()
    with quiet_log(security_lab, calls=len(names) * len(BAD)):
        for name in names:
            if name in MAKES_JOBS:
                continue
            for label, value in BAD.items():
                fault = rpc_post_or_answer(security_lab, xml_call(name, value))
                if fault is not None and fault.faultCode == -32603:
                    internal.append((name, label, fault.faultString))
    assert not internal
    security_lab.assert_runs_jobs()


def rpc_post_or_answer(security_lab, body: str) -> xmlrpc.client.Fault | None:
    answer = requests.post(
        security_lab.url + "RPC2",
        data=body.encode(),
        headers={"Content-Type": "text/xml", "Authorization": security_lab.basic("mallory")},
        timeout=60,
    )
    assert answer.status_code == 200, answer.text[:300]
    try:
        xmlrpc.client.loads(answer.content)
    except xmlrpc.client.Fault as fault:
        return fault
    return None
