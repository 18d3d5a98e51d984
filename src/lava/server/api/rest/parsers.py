"""Request bodies as the REST views get them: JSON within the limits, or plain text.

JSON is checked against `lava.common.limits` (nesting depth, size) once
parsed, and a body nested deeper than Python's own parser can go is the same
clear 400: about 990 nested lists used to be an HTTP 500 and a 200 KB traceback,
for anonymous callers too (``token/``, ``jobs/validate/``).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser, JSONParser

from lava.common.limits import LimitExceeded, check_structure, limit


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing (400) a body nested or sized beyond the limits."""

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(
                f"JSON parse error: the body is nested more than {limit('nesting_depth')} "
                "levels deep (nesting_depth)"
            ) from None
        try:
            check_structure(data, "the JSON body")
        except LimitExceeded as exc:
            raise ParseError(str(exc)) from None
        return data


class PlainTextParser(BaseParser):
    """The body, decoded as UTF-8 (or the request's charset)."""

    media_type = "text/plain"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> str:
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return stream.read().decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"the text body is not {encoding}: {exc}") from None
