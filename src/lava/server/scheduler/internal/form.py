"""The worker's form bodies parsed at C speed: a log batch is ~165 KB of ``%XX`` escapes.

Django parses ``application/x-www-form-urlencoded`` with ``urllib.parse``,
which decodes each ``%XX`` in a Python loop: 14 ms for a 1,000-line batch,
more than everything else the server does with it. Here ``binascii`` decodes
the escapes in C (under 1 ms), giving the same text. A body this cannot read
exactly as Django would (not ASCII, a ``%`` without two hex digits, too many
fields) is left to Django.
"""

from __future__ import annotations

import binascii
from urllib.parse import unquote_plus

from django.conf import settings
from django.http import HttpRequest, QueryDict

FORM = "application/x-www-form-urlencoded"
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

    Reads the body (``RequestDataTooBig`` past ``DATA_UPLOAD_MAX_MEMORY_SIZE``).
    """
    if request.method != "POST" or request.content_type != FORM:
        return
    if request.encoding is not None and request.encoding.lower() != "utf-8":
        return  # Django refuses it
    form = parse(request.body)
    if form is not None:
        request.POST = form
