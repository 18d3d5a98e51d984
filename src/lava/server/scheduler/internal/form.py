"""The worker's bodies parsed at C speed: urlencoded forms, and log batches sent as JSON.

Django parses ``application/x-www-form-urlencoded`` with ``urllib.parse``,
which decodes each ``%XX`` in a Python loop: 14 ms for a 1,000-line batch,
more than everything else the server does with it. Here ``binascii`` decodes
the escapes in C (under 1 ms), giving the same text. A body this cannot read
exactly as Django would (not ASCII, a ``%`` without two hex digits, too many
fields) is left to Django.

The worker sends its log batches as a JSON object, ``{"index": N, "lines":
"..."}``: encoding a form costs its sender ~5 ms a batch in ``urllib``'s
Python quoting, JSON ~1 ms in C, and the body is a quarter smaller. The log
endpoint takes both; a JSON body is held to the same size limit as a form
(``DATA_UPLOAD_MAX_MEMORY_SIZE``) and must be an object of those two fields.
"""

from __future__ import annotations

import binascii
import json
from urllib.parse import unquote_plus

from django.conf import settings
from django.http import HttpRequest, QueryDict

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
LOG_FIELDS = ("index", "lines")
# "+" is a space; "%XX" becomes quoted-printable's "=XX", which binascii decodes in C
_TO_QP = bytes.maketrans(b"+%", b" =")


def unquote_plus_bytes(raw: bytes) -> bytes | None:
    """``raw`` with ``+`` as space and ``%XX`` decoded, as ``urllib`` does; None when unsure.

    Quoted-printable also reads ``=`` before a line end, and keeps an ``=``
    not followed by two hex digits: with no ``=``, CR or LF in ``raw``, the
    output is 2 bytes shorter per ``%`` exactly when every ``%`` was an escape.
    """
    if b"=" in raw or b"\n" in raw or b"\r" in raw:
        return None
    data = binascii.a2b_qp(raw.translate(_TO_QP))
    return data if len(data) == len(raw) - 2 * raw.count(b"%") else None


def parse(body: bytes) -> QueryDict | None:
    """The fields of an urlencoded ``body`` as ``request.POST`` would hold them, or None."""
    if not body.isascii():
        return None
    limit = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS
    if limit is not None and body.count(b"&") + 1 > limit:
        return None  # Django refuses it (TooManyFieldsSent): let it
    form = QueryDict(mutable=True)
    for field in body.split(b"&"):
        if not field:
            continue
        name, _, raw = field.partition(b"=")
        value = unquote_plus_bytes(raw)
        if value is None:
            return None
        form.appendlist(unquote_plus(name.decode("ascii")), value.decode("utf-8", "replace"))
    form._mutable = False
    return form


def read_form(request: HttpRequest) -> None:
    """Give ``request.POST`` the fields of an urlencoded POST body, parsed fast when it can.

    Reads the body of a form or JSON POST (``RequestDataTooBig`` past
    ``DATA_UPLOAD_MAX_MEMORY_SIZE``); a JSON body is left to `log_batch`.
    """
    if request.method != "POST" or request.content_type not in (FORM, JSON):
        return
    body = request.body  # read here, JSON too: one answer for a body too big
    if request.content_type == JSON:
        return
    if request.encoding is not None and request.encoding.lower() != "utf-8":
        return  # Django refuses it
    form = parse(body)
    if form is not None:
        request.POST = form


class BodyError(ValueError):
    """A JSON body that is not an object of a log batch's fields, with the right types (400)."""


def log_batch(request: HttpRequest) -> tuple[str, str]:
    """The ``index`` and ``lines`` of a log batch, from a JSON body or the form ("" when
    absent, as a form field); BodyError for a JSON body that is not such an object."""
    if request.content_type != JSON:
        return request.POST.get("index", ""), request.POST.get("lines", "")
    fields = _json_object(request.body)
    unknown = sorted(set(fields) - set(LOG_FIELDS))
    if unknown:
        names = ", ".join(repr(name[:40]) for name in unknown[:5])
        raise BodyError(f"Invalid JSON body: unknown field {names} (fields: index, lines)")
    index = fields.get("index", "")
    if type(index) is int:  # not a bool, a float or a list: those are no line number
        index = str(index)
    if not isinstance(index, str):
        raise BodyError(f"Invalid 'index': a whole number, not {_kind(index)}")
    lines = fields.get("lines", "")
    if not isinstance(lines, str):
        raise BodyError(f"Invalid 'lines': a string of log lines, not {_kind(lines)}")
    return index, lines


def _json_object(body: bytes) -> dict[str, object]:
    try:
        fields = json.loads(body)
    except RecursionError:
        raise BodyError("Invalid JSON body: nested too deep") from None
    except ValueError as exc:  # broken JSON, or not UTF-8 (UnicodeDecodeError)
        raise BodyError(f"Invalid JSON body: {str(exc)[:200]}") from None
    if not isinstance(fields, dict):
        raise BodyError(f"Invalid JSON body: an object with index and lines, not {_kind(fields)}")
    return fields


_KINDS = {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}
_KINDS |= {int: "a number", float: "a number", type(None): "null"}


def _kind(value: object) -> str:
    """The JSON name of a parsed value's type, for a message."""
    return _KINDS.get(type(value), type(value).__name__)
