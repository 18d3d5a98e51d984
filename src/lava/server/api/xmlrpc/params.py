"""XML-RPC parameters checked against a method's type hints before the method runs.

Each registered function declares its parameters (``job_id: int``,
``name: str``, ``context: str | None = None``, ``names: list[str]``); a value of
another type is a -32602 fault naming the parameter and the type it should
have, instead of an error deep inside the method. The rules follow what
clients send:

* ``int``: an integer within 64 bits, or a string of digits (lavacli sends job
  ids as typed on its command line); a boolean is not an int;
* ``bool``: a boolean, or the integer 0 or 1;
* ``str``: a string (base64 is not one: methods that take either say ``Any``);
* nil only where the hint allows None, or for a parameter with a default,
  which then gets its default (lavacli sends nil for options not given);
* ``list[X]``/``dict[str, X]``: an array/struct whose items are each an X;
* ``Any``: anything (the method checks it itself).
"""

from __future__ import annotations

import inspect
import re
import types
import typing
import xmlrpc.client
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

INT_RANGE = range(-(2**63), 2**63)  # what the databases store; larger is never an id or a count
DIGITS = re.compile(r"[+-]?[0-9]{1,18}")


class WrongType(TypeError):
    """A value does not have the declared type."""


def _kind(value: Any) -> str:
    """The XML-RPC type of a value as decoded, for messages."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an int" if value in INT_RANGE else "an int out of the 64-bit range"
    if isinstance(value, float):
        return f"a double ({value!r})"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list | tuple):
        return "an array"
    if isinstance(value, dict):
        return "a struct"
    return {"DateTime": "a dateTime", "Binary": "base64"}.get(type(value).__name__, "a value")


def expected(hint: Any) -> str:
    """What a hint asks for, in XML-RPC's words."""
    if hint is Any:
        return "any value"
    args = typing.get_args(hint)
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join("nil" if arg is type(None) else expected(arg) for arg in args)
    if typing.get_origin(hint) is list:
        return f"an array of {expected(args[0]).split(' ', 1)[-1]}s" if args else "an array"
    if hint is dict or typing.get_origin(hint) is dict:
        return "a struct"
    names = {
        int: "an int",
        bool: "a boolean",
        str: "a string",
        float: "a double",
        xmlrpc.client.Binary: "base64",
    }
    return names.get(hint, getattr(hint, "__name__", str(hint)))


def convert(value: Any, hint: Any) -> Any:
    """``value`` as the hint's type (see the module's rules), or WrongType."""
    if hint is Any:
        return value
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is not type(None):
                try:
                    return convert(value, arg)
                except WrongType:
                    continue
        raise WrongType(hint)
    if origin is list:
        if not isinstance(value, list):
            raise WrongType(hint)
        (item,) = typing.get_args(hint) or (Any,)
        return [convert(each, item) for each in value]
    if hint is dict or origin is dict:
        if not isinstance(value, dict):
            raise WrongType(hint)
        _, item = typing.get_args(hint) or (str, Any)
        return {key: convert(each, item) for key, each in value.items()}
    if hint is int:
        if isinstance(value, str) and DIGITS.fullmatch(value.strip()):
            return int(value)
        if type(value) is int and value in INT_RANGE:
            return value
        raise WrongType(hint)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if type(value) is int and value in (0, 1):
            return bool(value)
        raise WrongType(hint)
    if isinstance(hint, type) and not isinstance(value, hint):
        raise WrongType(hint)
    return value


@dataclass(frozen=True)
class Param:
    """One parameter of a method: its name, hint and default (``inspect.Parameter.empty``)."""

    name: str
    hint: Any
    default: Any


def params_of(function: Callable[..., Any]) -> list[Param]:
    """The XML-RPC parameters of a method (all but the first, the `Call`), with their hints."""
    hints = typing.get_type_hints(function)
    found = list(inspect.signature(function).parameters.values())[1:]
    return [Param(each.name, hints.get(each.name, Any), each.default) for each in found]


def check(name: str, declared: list[Param], values: tuple[Any, ...]) -> tuple[Any, ...]:
    """``values`` converted to the declared types; WrongType with the fault's message if not.

    The number of values is checked by the caller (it binds the signature).
    """
    out = []
    for position, (param, value) in enumerate(zip(declared, values, strict=False), 1):
        if value is None and param.default is not inspect.Parameter.empty:
            try:
                out.append(convert(value, param.hint))
            except WrongType:
                out.append(param.default)  # nil: "not given"
            continue
        try:
            out.append(convert(value, param.hint))
        except WrongType:
            raise WrongType(
                f"{name}: parameter {position} ({param.name}) must be {expected(param.hint)}, "
                f"not {_kind(value)}"
            ) from None
    return tuple(out)
