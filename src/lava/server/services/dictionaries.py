"""Reading a device's dictionary, or the configuration it renders to for a job's context.

Replacing one is ``devices.set_dictionary``: every write to a device lives there.
"""

from __future__ import annotations

from typing import Any

from lava.common import yamlio
from lava.common.joblimits import checked_context
from lava.common.limits import LimitExceeded, RefusedValue

from ..scheduler import dispatcher_config
from ..scheduler.models import Device
from .actors import Actor
from .errors import Invalid, Limit, Missing, Refused
from .names import get_device


def read(actor: Actor, hostname: str, render: bool = False, context: str | None = None) -> str:
    """The Jinja2 dictionary, or with ``render`` the device configuration for a job context.

    The device must be one the actor may see. ``context`` is YAML text of the
    context variables, as LAVA reads it; only a signed-in actor may give one,
    and it obeys the job context's limits. The rendered configuration obeys
    ``device_size``.
    """
    device = readable_device(actor, hostname)
    text = dispatcher_config.read_device_dictionary(device.hostname)
    if text is None:
        raise Missing(f"device {device.hostname!r} has no device dictionary")
    if not render:
        return text
    variables = caller_context(actor, context)
    try:
        return dispatcher_config.render(device.hostname, device.device_type_id, variables)
    except dispatcher_config.DeviceDictionaryError as exc:
        raise Invalid(f"device {device.hostname!r}: {exc}") from None


def configuration(actor: Actor, hostname: str) -> dict[str, Any] | None:
    """The device configuration the dictionary renders to with no job context, parsed;
    None when the device has no dictionary. Invalid when it does not render."""
    device = readable_device(actor, hostname)
    if dispatcher_config.read_device_dictionary(device.hostname) is None:
        return None
    try:
        return dispatcher_config.load(device.hostname, device.device_type_id)
    except dispatcher_config.DeviceDictionaryError as exc:
        raise Invalid(f"device {device.hostname!r}: {exc}") from None


def readable_device(actor: Actor, hostname: str) -> Device:
    """The device whose dictionary ``actor`` asks for: whoever may see a device may read its
    dictionary (a hidden one is Missing, as a missing one)."""
    return get_device(hostname, actor=actor)


def caller_context(actor: Actor, text: str | None) -> dict[str, Any]:
    """The context variables a caller asks to render with: a YAML mapping within the limits."""
    if text is None:
        return {}
    if not isinstance(text, str):
        raise Invalid(f"context: must be YAML text, not {type(text).__name__}")
    if not text.strip():
        return {}
    if not actor.signed_in:
        raise Refused(
            "rendering with a context needs authentication (a user and a token)", login=True
        )
    try:
        return checked_context(yamlio.load(text, "context"))
    except LimitExceeded as exc:
        raise Limit(str(exc)) from None
    except RefusedValue as exc:
        raise Invalid(str(exc)) from None
    except yamlio.YAMLError as exc:
        raise Invalid(f"context: not valid YAML: {exc}") from None
