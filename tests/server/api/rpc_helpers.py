"""Helpers of the API tests: the Basic header lavacli sends, and an XML-RPC call through Django."""

from __future__ import annotations

import base64
import xmlrpc.client
from typing import Any

from django.test import Client

URL = "/RPC2"


def basic(username: str, secret: str) -> dict[str, str]:
    """The Authorization header lavacli sends for ``USER:TOKEN``."""
    encoded = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"HTTP_AUTHORIZATION": f"Basic {encoded}"}


def rpc(client: Client, name: str, *params: Any, auth: dict[str, str] | None = None) -> Any:
    """Call ``name`` like lavacli does; the result, or the Fault raised."""
    body = xmlrpc.client.dumps(params, name, allow_none=True)
    answer = client.post(URL, body, content_type="text/xml", **(auth or {}))
    assert answer.status_code == 200, answer.content
    (result,), _ = xmlrpc.client.loads(answer.content, use_builtin_types=True)
    return result


def refused(client: Client, name: str, *params: Any, auth: dict[str, str] | None = None) -> int:
    """The fault code ``name`` answers with; fails the test if it answers instead."""
    try:
        rpc(client, name, *params, auth=auth)
    except xmlrpc.client.Fault as fault:
        return fault.faultCode
    raise AssertionError(f"{name}{params} answered instead of refusing")
