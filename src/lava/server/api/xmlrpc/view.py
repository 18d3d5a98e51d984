"""``/RPC2``: decode the call, find the caller, run the method, encode the answer or the fault.

Every failure reaches the client as an XML-RPC fault with a message saying
what was wrong, never as an HTTP 500: a malformed body is -32700, an unknown
method -32601, wrong parameters -32602, a server bug -32603 (logged with its
traceback). Only authentication problems are HTTP errors, as in LAVA.
"""

from __future__ import annotations

import logging
import xmlrpc.client
from typing import Any
from xml.parsers.expat import ExpatError

from django.conf import settings
from django.db import DataError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from . import methods  # noqa: F401 (registers the methods)
from .auth import BadAuthorization, UnknownToken, caller
from .registry import BAD_PARAMS, INTERNAL, METHODS, NO_METHOD, PARSE_ERROR, Call, plain

LOG = logging.getLogger("lava.server.api.xmlrpc")
Fault = xmlrpc.client.Fault


def _xml(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, content_type="text/xml; charset=utf-8", status=status)


def _fault(code: int, message: str) -> HttpResponse:
    return _xml(xmlrpc.client.dumps(Fault(code, message), methodresponse=True, allow_none=True))


def limit() -> int:
    """The largest request body: a job definition's limit plus room for its XML."""
    return int(settings.LAVA.max_job_size) * 2 + 64 * 1024


def run(name: str, params: tuple[Any, ...], call: Call) -> Any:
    """Run one method for this caller; a `Fault` for anything that goes wrong."""
    found = METHODS.get(name)
    if found is None:
        raise Fault(NO_METHOD, f"Unknown method {name!r}: system.listMethods lists them")
    found.check_arguments(params)
    try:
        return plain(found.function(call, *params))
    except Fault:
        raise
    except (OverflowError, DataError) as exc:  # a number or string the database cannot take
        raise Fault(400, f"A value is out of range for the database: {exc}") from None
    except Exception as exc:
        LOG.exception("XML-RPC %s failed", name)
        raise Fault(INTERNAL, f"Internal error in {name}: {exc.__class__.__name__}") from exc


@csrf_exempt
def rpc2(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        names = "\n".join(sorted(METHODS))
        return HttpResponse(
            f"XML-RPC endpoint: POST calls here (lavacli, xmlrpc.client).\n\n{names}\n",
            content_type="text/plain; charset=utf-8",
        )
    try:
        user = caller(request)
    except BadAuthorization as exc:
        return HttpResponse(f"{exc}\n", status=400, content_type="text/plain")
    except UnknownToken as exc:
        answer = HttpResponse(f"{exc}\n", status=401, content_type="text/plain")
        answer["WWW-Authenticate"] = 'Basic realm="LAVA XML-RPC"'
        return answer
    size = int(request.headers.get("Content-Length") or 0)
    if size > limit():
        return _fault(400, f"Request too large: {size} bytes, at most {limit()}")
    try:
        params, name = xmlrpc.client.loads(request.body, use_builtin_types=False)
    except (ExpatError, ValueError, TypeError, IndexError) as exc:
        return _fault(PARSE_ERROR, f"Not an XML-RPC call: {exc}")
    if not name:
        return _fault(BAD_PARAMS, "Not an XML-RPC call: no methodName")
    try:
        result = run(name, params, Call(user))
        body = xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True)
    except Fault as fault:
        return _fault(fault.faultCode, fault.faultString)
    return _xml(body)
