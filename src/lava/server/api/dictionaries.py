"""A device's dictionary for the APIs: read it (or what it renders to), replace it after a check."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User

from lava.common import yamlio
from lava.common.device import device_type_of, load_device
from lava.common.joblimits import checked_context
from lava.common.limits import LimitExceeded, RefusedValue

from ..scheduler import dispatcher_config
from ..scheduler.admin_ops import AdminError
from ..scheduler.admin_ops.devices import validate_dictionary
from ..scheduler.models import Device


class Missing(LookupError):
    """The device has no dictionary."""


class Refused(ValueError):
    """The dictionary, or the context it is rendered with, does not render."""


class NeedsLogin(PermissionError):
    """Rendering with a caller's context is for signed-in users."""


def read(
    device: Device,
    render: bool = False,
    context: str | None = None,
    user: User | AnonymousUser | None = None,
) -> str:
    """The Jinja2 dictionary, or with ``render`` the device configuration for a job context.

    ``context`` is YAML text of the context variables, as LAVA reads it; only
    a signed-in ``user`` (None: anonymous) may give one, and it obeys the job
    context's limits.
    The rendered configuration obeys ``device_size``.
    """
    text = dispatcher_config.read_device_dictionary(device.hostname)
    if text is None:
        raise Missing(f"Device '{device.hostname}' has no device dictionary")
    if not render:
        return text
    variables = caller_context(context, user)
    try:
        return dispatcher_config.render(device.hostname, device.device_type_id, variables)
    except dispatcher_config.DeviceDictionaryError as exc:
        raise Refused(f"Device '{device.hostname}': {exc}") from None


def caller_context(text: str | None, user: User | AnonymousUser | None) -> dict[str, Any]:
    """The context variables a caller asks to render with: a YAML mapping within the limits."""
    if text is None:
        return {}
    if not isinstance(text, str):
        raise Refused(f"context: must be YAML text, not {type(text).__name__}")
    if not text.strip():
        return {}
    if user is None or not user.is_authenticated:
        raise NeedsLogin("rendering with a context needs authentication (a user and a token)")
    try:
        return checked_context(yamlio.load(text, "context"))
    except (LimitExceeded, RefusedValue) as exc:
        raise Refused(str(exc)) from None
    except yamlio.YAMLError as exc:
        raise Refused(f"context: not valid YAML: {exc}") from None


def replace(device: Device, text: str) -> None:
    """Store a new dictionary, once it renders for this device's type; nothing stored otherwise."""
    try:
        validate_dictionary(text, device.hostname, device.device_type)
    except AdminError as exc:
        raise Refused(str(exc)) from None
    dispatcher_config.write_device_dictionary(device.hostname, text)


def check(text: str) -> None:
    """Whether a dictionary, of no device yet, extends a template and renders to a device."""
    if not text.strip():
        raise Refused("the device dictionary is empty")
    try:
        # without a '{' there is no extends (and lava.common would take the text for a path)
        extends = device_type_of(text) if "{" in text else None
        if extends is None:
            raise Refused("the device dictionary does not extend a device-type template")
        load_device(
            text,
            hostname="device",
            device_type=extends,
            dirs=[settings.LAVA.devices_dir, *dispatcher_config.search_dirs()],
        )
    except dispatcher_config.DeviceDictionaryError as exc:
        raise Refused(f"the device dictionary does not render: {exc}") from None
