"""The top level of a job definition: identity, timeouts, visibility, context, actions."""

from __future__ import annotations

from voluptuous import All, Any, Length, Optional, Range, Required

from .checks import cross_checks
from .common import Spec, context, timeout
from .notify import notify
from .protocols import protocols

ACTION_KINDS = ("deploy", "boot", "test", "command")
PRIORITY_NAMES = ("high", "medium", "low")


def name(max_length: int = 200) -> All:
    return All(str, Length(min=1, max=max_length))


def timeouts() -> Spec:
    """Job-wide timeouts; only ``job`` is required."""
    return {
        Required("job"): timeout(),
        Optional("action"): timeout(),
        Optional("actions"): {str: timeout()},
        Optional("connection"): timeout(),
        Optional("connections"): {str: timeout()},
        Optional("queue"): timeout(),
    }


def visibility() -> Any:
    return Any("public", "personal", {Optional("group"): [str]})


def top_level(context_variables: tuple[str, ...]) -> Spec:
    """Keys of the job mapping itself, before the cross-field checks."""
    return {
        Required("job_name"): name(),
        # optional here: a multinode job names device types per role instead
        Optional("device_type"): name(),
        Optional("device"): name(),
        Optional("worker"): name(),
        Required("timeouts"): timeouts(),
        Required("visibility"): visibility(),
        Optional("context"): context(context_variables),
        Optional("metadata"): {str: object},
        Optional("priority"): Any(*PRIORITY_NAMES, Range(min=0, max=100)),
        Optional("tags"): [str],
        Optional("secrets"): {str: str},
        Optional("environment"): dict,
        Optional("protocols"): protocols(context_variables),
        Optional("notify"): notify(),
        Optional("reboot_to_fastboot"): bool,
        # Each action body is checked on its own later, by the schema its kind selects.
        Required("actions"): [{Any(*ACTION_KINDS): dict}],
    }


def job(context_variables: tuple[str, ...]) -> All:
    """The whole top level: key schema first, then checks that span several keys."""
    return All(top_level(context_variables), cross_checks)
