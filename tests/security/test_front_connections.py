"""A refused call cannot break another user's call (the front's kept-alive connections).

The front (nginx) keeps its connections to gunicorn open between requests.
A view that refuses a call before it reads the body (a malformed or unknown
token) left the body on the connection; gunicorn read 64 KiB of it and closed
a connection it had announced as kept alive, and the next request the front
sent on it, whoever it came from, got HTTP 502: 313 of this test's 1,500
small calls, each sent just after a refused call of 100 KB to 1 MB.
`lava.server.bodies.DrainUnreadBody` reads what a view leaves, so every such
connection stays usable (0 of 1,500).
"""

from __future__ import annotations

import collections
import itertools
import time

import pytest
import requests

pytestmark = pytest.mark.slow

ROUNDS = 1500
VERSION_CALL = (
    b"<?xml version='1.0'?><methodCall><methodName>system.version</methodName>"
    b"<params></params></methodCall>"
)


def refused_calls(url: str) -> itertools.cycle:
    """Calls the server refuses before it reads their bodies, 100 KB to 1 MB each."""
    calls = [
        # a Basic header that is not base64: 400
        ("RPC2", {"Authorization": "Basic !!!", "Content-Type": "text/xml"}, 300_000),
        # a well-formed header with a token nobody has: 401
        ("RPC2", {"Authorization": "Basic bm9ib2R5Om5vdGhpbmc="}, 100_000),
        # REST with an unknown token: 401
        ("api/v0.2/jobs/", {"Authorization": "Token nothing"}, 1_000_000),
    ]
    return itertools.cycle([(url + path, headers, b"x" * size) for path, headers, size in calls])


def test_a_call_refused_unread_leaves_the_next_call_whole(security_lab) -> None:
    url = security_lab.url
    attacker, user = requests.Session(), requests.Session()
    answers: collections.Counter[str] = collections.Counter()
    calls = refused_calls(url)
    started = time.monotonic()
    for _ in range(ROUNDS):
        address, headers, body = next(calls)
        refused = attacker.post(address, data=body, headers=headers, timeout=30)
        answers[f"refused call HTTP {refused.status_code}"] += 1
        answer = user.post(
            url + "RPC2", data=VERSION_CALL, headers={"Content-Type": "text/xml"}, timeout=30
        )
        answers[f"user's call HTTP {answer.status_code}"] += 1
    elapsed = time.monotonic() - started
    print(f"\n{ROUNDS} rounds in {elapsed:.0f} s: {dict(sorted(answers.items()))}")
    assert answers["user's call HTTP 200"] == ROUNDS, (
        f"{dict(answers)}\n{security_lab.lab.log_tail(20)}"
    )
    assert not any(key.endswith(("HTTP 502", "HTTP 500")) for key in answers), dict(answers)
