"""The ``command`` action: run one of the device's ``user_commands`` by name."""

from __future__ import annotations

from voluptuous import Required

from .common import Spec, action_keys


def command() -> Spec:
    return {**action_keys(), Required("name"): str}
