"""``/RPC2``: decode the call, find the caller, run the method, encode the answer or the fault.

Every failure reaches the client as an XML-RPC fault with a message saying
what was wrong, never as an HTTP 500: a malformed body (or one with a DTD,
which no client sends) is -32700, an unknown method -32601, parameters of
the wrong number or type, or nested or sized beyond `lava.common.limits`,
-32602, a server bug -32603 (logged as one bounded record). Only
authentication problems are HTTP errors, as in LAVA.
"""

from __future__ import annotations

import logging
import xmlrpc.client
from typing import Any
from xml.parsers import expat
from xml.parsers.expat import ExpatError

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt

from lava.common.limits import LimitExceeded, check_structure

from ...bodies import xmlrpc_body_limit
from ...logformat import describe
from . import methods  # noqa: F401 (registers the methods)
from .auth import basic_caller
from .registry import BAD_PARAMS, INTERNAL, METHODS, PARSE_ERROR, Call, run, xml_text

LOG = logging.getLogger("lava.server.api.xmlrpc")
Fault = xmlrpc.client.Fault


def _xml(body: str, status: int = 200) -> HttpResponse:
    return HttpResponse(body, content_type="text/xml; charset=utf-8", status=status)


def _fault(code: int, message: str) -> HttpResponse:
    fault = Fault(code, xml_text(message))  # a message may quote the caller's input
    return _xml(xmlrpc.client.dumps(fault, methodresponse=True, allow_none=True))


def limit() -> int:
    """The largest request body: a job definition's limit plus room for its XML."""
    return xmlrpc_body_limit(int(settings.LAVA.max_job_size))


def _no_dtd(*_: Any) -> None:
    raise ExpatError("a document type declaration (DTD) is not allowed")


def parse(body: bytes) -> tuple[tuple[Any, ...], str | None]:
    """The parameters and method name of a call; ExpatError or ValueError when malformed.

    xmlrpc.client's own parts, with a DTD refused: entities are not for callers.
    """
    target = xmlrpc.client.Unmarshaller(use_builtin_types=False)
    target.xml(None, None)  # expat decodes: the text reaches the target as str
    parser = expat.ParserCreate(None, None)
    parser.StartDoctypeDeclHandler = _no_dtd
    parser.StartElementHandler = target.start
    parser.EndElementHandler = target.end
    parser.CharacterDataHandler = target.data
    parser.buffer_text = True
    parser.Parse(body, True)
    try:
        return tuple(target.close()), target.getmethodname()
    except xmlrpc.client.Error as exc:  # a methodResponse, or no value at all
        raise ValueError(f"not a methodCall ({exc.__class__.__name__})") from None


def _size(request: HttpRequest) -> int:
    try:
        return int(request.headers.get("Content-Length") or 0)
    except ValueError:
        return 0  # the body read is bounded by Django's DATA_UPLOAD_MAX_MEMORY_SIZE anyway


@csrf_exempt
def rpc2(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        if "text/html" in request.headers.get("Accept", ""):
            return HttpResponseRedirect("/api/help/")  # a browser: the methods' help, as LAVA
        names = "\n".join(sorted(METHODS))
        return HttpResponse(
            f"XML-RPC endpoint: POST calls here (lavacli, xmlrpc.client).\n\n{names}\n",
            content_type="text/plain; charset=utf-8",
        )
    user = basic_caller(request, "LAVA XML-RPC")
    if isinstance(user, HttpResponse):
        return user
    size = _size(request)
    if size > limit():
        return _fault(400, f"Request too large: {size} bytes, at most {limit()}")
    try:
        params, name = parse(request.body)
    except (ExpatError, ValueError, TypeError, IndexError) as exc:
        return _fault(PARSE_ERROR, f"Not an XML-RPC call: {str(exc)[:200]}")
    if not name:
        return _fault(BAD_PARAMS, "Not an XML-RPC call: no methodName")
    try:
        check_structure(params, f"the parameters of {name[:100]}")
    except LimitExceeded as exc:
        return _fault(BAD_PARAMS, str(exc))
    try:
        result = run(name, params, Call(user))
        body = xmlrpc.client.dumps((result,), methodresponse=True, allow_none=True)
    except Fault as fault:
        return _fault(fault.faultCode, fault.faultString)
    except Exception as exc:  # an answer XML-RPC cannot carry (an int over 32 bits, say)
        LOG.error("XML-RPC %s: cannot send the answer: %s", name, describe(exc))
        return _fault(INTERNAL, f"Internal error in {name}: {exc.__class__.__name__}")
    return _xml(body)
