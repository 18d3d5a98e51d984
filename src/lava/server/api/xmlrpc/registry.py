"""The table of XML-RPC methods, and what a method gets to know about its caller.

A method is a plain function registered under its dotted name with
`method`; its first argument is the `Call` (who is calling), the rest are the
XML-RPC parameters, checked against the function's type hints before it
runs (`params`). It raises `Fault` with LAVA's HTTP-like codes (400, 401,
403, 404) for the caller's mistakes; anything else is a server bug.
"""

from __future__ import annotations

import contextlib
import datetime
import functools
import inspect
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from xmlrpc.client import Binary, Fault

from django.contrib.auth.models import AnonymousUser, User

from .params import Param, WrongType, check, params_of

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

    def need_user(self) -> User:
        """The user, or LAVA's 401 fault for a method that needs one."""
        if not self.user.is_authenticated:
            raise Fault(401, "Authentication with user and token required for this API.")
        return self.user  # type: ignore[return-value]

    def need_perm(self, codename: str) -> User:
        """The user, if they hold ``scheduler.<codename>`` (or ``app.codename``); else 403.

        Superusers hold every permission.
        """
        user = self.need_user()
        if not user.has_perm(codename if "." in codename else f"scheduler.{codename}"):
            raise Fault(403, f"Permission denied: {codename} is needed for this.")
        return user

    def need_superuser(self) -> User:
        user = self.need_user()
        if not user.is_superuser:
            raise Fault(403, "Permission denied: only superusers may do this.")
        return user


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


@contextlib.contextmanager
def refusals() -> Iterator[None]:
    """An admin service's refusal (AdminError: nothing written) as a 400 fault."""
    from ...scheduler.admin_ops import AdminError

    try:
        yield
    except AdminError as exc:
        raise Fault(400, str(exc)) from None


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
