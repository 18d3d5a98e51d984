"""YAML in and out, through libyaml when it is installed.

Safe loading only, and bounded: every document is composed, then its node
graph checked against the nesting and expanded-size limits of
`lava.common.limits`, before any object is built, so aliases and deep nesting
cost a linear walk, never memory or recursion. Dumps are block style
with keys in insertion order so a rendered file reads in the order it was
built.
"""

from __future__ import annotations

from typing import Any

import yaml

try:
    from yaml import CSafeDumper as SafeDumper
    from yaml import CSafeLoader as SafeLoader
except ImportError:  # pragma: no cover - only without libyaml
    from yaml import SafeDumper, SafeLoader  # type: ignore[assignment]

YAMLError = yaml.YAMLError

__all__ = ["SafeDumper", "SafeLoader", "YAMLError", "dump", "load"]


def load(text: str | bytes, where: str = "the YAML document") -> Any:
    """Parse one YAML document with the safe loader; an empty document is None.

    Raises `LimitExceeded` (also a ``YAMLError``) naming ``where`` when the
    document is nested too deeply or too large once its aliases are expanded.
    """
    from lava.common.limits import compose_checked

    loader = SafeLoader(text)
    try:
        node = compose_checked(loader, where)
        return None if node is None else loader.construct_document(node)
    finally:
        loader.dispose()


def dump(obj: Any) -> str:
    """Serialise ``obj`` as block-style YAML, keys in insertion order."""
    return yaml.dump(
        obj,
        Dumper=SafeDumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
    )
