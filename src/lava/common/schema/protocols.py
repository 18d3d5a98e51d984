"""Top-level ``protocols``: ``lava-multinode`` roles and the ``lava-xnbd`` server."""

from __future__ import annotations

from voluptuous import Any, Optional, Range, Required

from .common import Spec, context, timeout


def device_role(context_variables: tuple[str, ...]) -> Spec:
    """A multinode role filled by ``count`` devices of one type."""
    return {
        Required("device_type"): str,
        Required("count"): Range(min=0),
        Optional("device"): str,
        Optional("worker"): str,
        Optional("context"): context(context_variables),
        Optional("tags"): [str],
        Optional("environment"): dict,
        Optional("essential"): bool,
        Optional("timeout"): timeout(),
    }


def connection_role(context_variables: tuple[str, ...]) -> Spec:
    """A multinode role reached over a connection from another role's device (ssh guests)."""
    return {
        Required("connection"): str,
        Required("count"): Range(min=0),
        Required("expect_role"): str,
        Required("host_role"): str,
        Optional("essential"): bool,
        Optional("request"): str,
        Optional("tags"): [str],
        Optional("timeout"): timeout(),
        Optional("context"): context(context_variables),
    }


def protocols(context_variables: tuple[str, ...]) -> Spec:
    """Schema of the top-level ``protocols`` mapping."""
    return {
        Optional("lava-multinode"): {
            Required("roles"): {
                str: Any(device_role(context_variables), connection_role(context_variables))
            },
            Optional("timeout"): timeout(),
        },
        Optional("lava-xnbd"): {
            Required("port"): Any("auto", int),
            Optional("timeout"): timeout(),
        },
    }
