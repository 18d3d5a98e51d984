"""YAML in and out, through libyaml when it is installed.

Safe loading only; dumps are block style with keys in insertion order so a
rendered file reads in the order it was built.
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


def load(text: str | bytes) -> Any:
    """Parse one YAML document with the safe loader; an empty document is None."""
    return yaml.load(text, Loader=SafeLoader)


def dump(obj: Any) -> str:
    """Serialise ``obj`` as block-style YAML, keys in insertion order."""
    return yaml.dump(
        obj,
        Dumper=SafeDumper,
        default_flow_style=False,
        sort_keys=False,
        allow_unicode=True,
    )
