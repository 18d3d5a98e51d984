"""The Jinja2 sandbox device dictionaries and device-type templates render in.

Filters ``shlex_quote``, ``yaml_quote`` and ``qemu_guest_fs_interface`` behave as
LAVA's, so LAVA's own templates render here too. Our templates also use
``as_yaml``, ``as_scalar`` and the ``setting()`` function.
"""

from __future__ import annotations

import ctypes
import functools
import shlex
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from jinja2 import FileSystemLoader, Undefined, pass_context
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import missing

from lava.common import yamlio
from lava.common.yamlio import SafeDumper

X86_ARCHS = ("amd64", "x86_64", "i386")

# The widest line both libyaml and PyYAML accept: never fold a value.
_WIDTH = ctypes.c_uint(-1).value // 2


def _defined(value: Any) -> Any:
    return None if isinstance(value, Undefined) else value


def _flow(obj: Any, **style: Any) -> str:
    # Templates quote the same few scalars over and over (~130 per qemu device):
    # remember those, since each dump costs ~20 us even through libyaml. Only short
    # ones: a job's context values must not live on as cache keys.
    if _small_scalar(obj):
        return _flow_scalar(type(obj), obj, style.get("default_style"))
    return _dump_flow(obj, **style)


_SCALARS = frozenset({str, int, float, bool, type(None)})
_NULLS = frozenset({"", "~", "null", "Null", "NULL"})  # what YAML reads as null
_PARSED_LENGTH = 256  # characters of a string as_scalar reads as YAML: a number is short
_CACHED_LENGTH = 256  # characters of a string, bits of an int


def _small_scalar(obj: Any) -> bool:
    kind = type(obj)
    if kind is str:
        return len(obj) <= _CACHED_LENGTH
    if kind is int:
        return obj.bit_length() <= _CACHED_LENGTH
    return kind in _SCALARS


@functools.lru_cache(maxsize=4096)
def _flow_scalar(kind: type, obj: Any, default_style: str | None) -> str:
    # ``kind`` keeps 1, 1.0 and True apart: they are equal, and hash alike.
    if default_style is None:
        return _dump_flow(obj)
    return _dump_flow(obj, default_style=default_style)


def _dump_flow(obj: Any, **style: Any) -> str:
    text = yaml.dump(
        obj,
        Dumper=SafeDumper,
        default_flow_style=True,
        width=_WIDTH,
        explicit_start=True,
        sort_keys=False,
        **style,
    )
    # "--- value\n" possibly followed by "...\n" for an open-ended plain scalar
    text = text[4:] if text.startswith("--- ") else text[3:]
    if text.endswith("\n...\n"):
        text = text[:-5]
    return text.rstrip("\n")


def yaml_quote(obj: Any) -> str:
    """One-line YAML with every scalar double-quoted (LAVA's ``yaml_quote``)."""
    return _flow(_defined(obj), default_style='"')


def as_yaml(obj: Any) -> str:
    """A value as YAML: strings verbatim (YAML reads their type, as in LAVA's
    templates, so '22' is a number), anything else as a one-line flow value,
    an undefined variable as nothing."""
    if isinstance(obj, Undefined):
        return ""
    if isinstance(obj, str):
        return obj
    return _flow(obj)


def as_scalar(obj: Any) -> str:
    """A value as one YAML scalar: a string YAML reads as a boolean, number or null
    ('false', '22') is typed, any other string quoted, so it cannot add keys or lines."""
    if isinstance(obj, Undefined):
        return ""
    if isinstance(obj, str) and len(obj) <= _PARSED_LENGTH:
        try:
            value = yamlio.load(obj)
        except yamlio.YAMLError:
            value = obj
        if type(value) in (bool, int, float) or obj.strip() in _NULLS:
            return _flow(value)
    if isinstance(obj, str):
        return yaml_quote(obj)
    return _flow(obj)


def qemu_guest_fs_interface(arch: Any, guestfs_interface: Any = None) -> str:
    """Disk interface of the guest test disk: ``ide`` on x86 PCs, ``virtio`` elsewhere."""
    if guestfs_interface and not isinstance(guestfs_interface, Undefined):
        return str(guestfs_interface)
    return "ide" if arch in X86_ARCHS else "virtio"


@pass_context
def setting(context: Context, *names: str, default: Any = None) -> Any:
    """The first of the named variables the dictionary or job context defines."""
    for name in names:
        value = context.resolve_or_missing(name)
        if value is not missing and not isinstance(value, Undefined):
            return value
    return default


def environment(dirs: Sequence[Path | str]) -> SandboxedEnvironment:
    """A sandbox that loads templates from ``dirs``, first match wins."""
    env = SandboxedEnvironment(
        loader=FileSystemLoader([str(d) for d in dirs]),
        autoescape=False,
        trim_blocks=True,
    )
    env.filters["shlex_quote"] = shlex.quote
    env.filters["yaml_quote"] = yaml_quote
    env.filters["qemu_guest_fs_interface"] = qemu_guest_fs_interface
    env.filters["as_yaml"] = as_yaml
    env.filters["as_scalar"] = as_scalar
    env.globals["setting"] = setting
    return env
