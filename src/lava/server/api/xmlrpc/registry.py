"""The table of XML-RPC methods, and what a method gets to know about its caller.

A method is a plain function registered under its dotted name with
`method`; its first argument is the `Call` (who is calling), the rest are the
XML-RPC parameters, checked against the function's type hints before it
runs (`params`). It raises `Fault` with LAVA's HTTP-like codes (400, 401,
403, 404) for the caller's mistakes, or lets a service's refusal through
(`fault` translates it); anything else is a server bug.
"""

from __future__ import annotations

import datetime
import functools
import inspect
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from xmlrpc.client import Binary, Fault

from django.contrib.auth.models import AnonymousUser, User
from django.db import DataError

from ...logformat import describe
from ...services import Actor, Missing, Refused, ServiceError
from .params import Param, WrongType, check, params_of

LOG = logging.getLogger("lava.server.api.xmlrpc")
PARSE_ERROR, NO_METHOD, BAD_PARAMS, INTERNAL = -32700, -32601, -32602, -32603

Function = Callable[..., Any]
# text a client may send as a string or as base64 (lavacli does both for files)
Text = str | Binary


@dataclass
class Call:
    """The caller: a signed-in user (by token) or anonymous."""

    user: User | AnonymousUser

    @property
    def signed_in(self) -> bool:
        return bool(self.user.is_authenticated)

    @property
    def actor(self) -> Actor:
        """The caller as the services know them."""
        return Actor(self.user, "XML-RPC")

    def need_user(self) -> User:
        """The user, or LAVA's 401 fault for a method that needs one."""
        self.actor.need_user()
        return self.user  # type: ignore[return-value]

    def need_perm(self, codename: str) -> User:
        """The user, if they hold ``scheduler.<codename>`` (or ``app.codename``); else 403.

        Superusers hold every permission.
        """
        self.actor.require(codename)
        return self.user  # type: ignore[return-value]

    def need_superuser(self) -> User:
        self.actor.require_superuser()
        return self.user  # type: ignore[return-value]


@dataclass
class Method:
    name: str
    function: Function
    signature: list[str]

    @property
    def help(self) -> str:
        return inspect.getdoc(self.function) or ""

    @functools.cached_property
    def params(self) -> list[Param]:
        """The declared parameters, read once from the function's type hints."""
        return params_of(self.function)

    @functools.cached_property
    def _signature(self) -> inspect.Signature:
        return inspect.signature(self.function)

    def arguments(self, values: tuple[Any, ...]) -> tuple[Any, ...]:
        """The values converted to the declared types; fault -32602 naming the first misfit."""
        try:
            self._signature.bind(None, *values)
        except TypeError as exc:
            raise Fault(BAD_PARAMS, f"{self.name}: {exc}") from None
        try:
            return check(self.name, self.params, values)
        except WrongType as exc:
            raise Fault(BAD_PARAMS, str(exc)) from None


METHODS: dict[str, Method] = {}


def method(
    name: str, signature: Iterable[str] = ("undef",), aliases: Iterable[str] = ()
) -> Callable[[Function], Function]:
    """Register ``function`` as the XML-RPC method ``name`` (and LAVA's older ``aliases``)."""

    def register(function: Function) -> Function:
        for each in (name, *aliases):
            if each in METHODS:
                raise ValueError(f"XML-RPC method {each} registered twice")
            METHODS[each] = Method(each, function, list(signature))
        return function

    return register


def text(value: Text) -> str:
    """A `Text` parameter as a string (lavacli sends files as base64)."""
    return value.data.decode("utf-8") if isinstance(value, Binary) else str(value)


def fault(refusal: ServiceError) -> Fault:
    """A service's refusal as LAVA's fault: 404 missing, 401 or 403 refused, 400 otherwise."""
    if isinstance(refusal, Missing):
        return Fault(404, str(refusal))
    if isinstance(refusal, Refused):
        return Fault(401 if refusal.login else 403, str(refusal))
    return Fault(400, str(refusal))


def run(name: str, params: tuple[Any, ...], call: Call) -> Any:
    """Run one method for this caller; a `Fault` for anything that goes wrong."""
    found = METHODS.get(name)
    if found is None:
        raise Fault(NO_METHOD, f"Unknown method {name[:100]!r}: system.listMethods lists them")
    arguments = found.arguments(params)
    try:
        return plain(found.function(call, *arguments))
    except Fault:
        raise
    except ServiceError as exc:  # the one place a service's refusal becomes a fault
        raise fault(exc) from None
    except (OverflowError, DataError) as exc:  # a number or string the database cannot take
        raise Fault(400, f"A value is out of range for the database: {exc}") from None
    except Exception as exc:
        LOG.error("XML-RPC %s failed: %s", name, describe(exc))
        raise Fault(INTERNAL, f"Internal error in {name}: {exc.__class__.__name__}") from exc


def utc(value: datetime.datetime | None) -> datetime.datetime | None:
    """A naive UTC datetime, which XML-RPC's dateTime carries (it has no time zone)."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(datetime.UTC).replace(tzinfo=None)
    return value


# What XML 1.0 cannot carry, even escaped: control characters but tab and line ends,
# surrogates, U+FFFE and U+FFFF.
NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with each character XML cannot carry written as ``\\xNN`` (or ``\\uNNNN``).

    A submitter's string (a job's name, a fault quoting their input) holding an
    escape character would otherwise make the whole answer unreadable.
    """
    return NOT_XML.sub(_escaped, text)


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def plain(value: Any) -> Any:
    """A value XML-RPC can carry: datetimes in UTC, mappings with string keys, tuples as
    lists, text without characters XML cannot carry."""
    if isinstance(value, str):
        return xml_text(value)
    if isinstance(value, datetime.datetime):
        return utc(value)
    if isinstance(value, Mapping):
        return {xml_text(str(key)): plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value
