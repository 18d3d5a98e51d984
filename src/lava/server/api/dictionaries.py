"""A device's dictionary for the APIs: read it (or what it renders to), replace it after a check."""

from __future__ import annotations

from django.conf import settings

from lava.common.device import device_type_of, load_device

from ..scheduler import dispatcher_config
from ..scheduler.admin_ops import AdminError
from ..scheduler.admin_ops.devices import validate_dictionary
from ..scheduler.devicefiles import job_context
from ..scheduler.models import Device


class Missing(LookupError):
    """The device has no dictionary."""


class Refused(ValueError):
    """The dictionary, or the context it is rendered with, does not render."""


def read(device: Device, render: bool = False, context: str | None = None) -> str:
    """The Jinja2 dictionary, or with ``render`` the device configuration for that job context."""
    text = dispatcher_config.read_device_dictionary(device.hostname)
    if text is None:
        raise Missing(f"Device '{device.hostname}' has no device dictionary")
    if not render:
        return text
    try:
        return dispatcher_config.render(
            device.hostname, device.device_type_id, job_context(context or "{}")
        )
    except dispatcher_config.DeviceDictionaryError as exc:
        raise Refused(f"Device '{device.hostname}': {exc}") from None


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
