"""The dispatcher-config directory in LAVA's layout, and rendering a device from it.

``<dispatcher-config>/devices/HOST.jinja2``        a device's dictionary
``<dispatcher-config>/device-types/TYPE.jinja2``   the admin's template overrides
``<dispatcher-config>/health-checks/TYPE.yaml``    the health check of a type
``<dispatcher-config>/../dispatcher.d/WORKER/``    a worker's dispatcher.yaml, env.yaml,
                                                   env-dut.yaml (``dispatcher.d/WORKER.yaml``
                                                   and ``dispatcher.d/env*.yaml`` as defaults)

Templates are looked up in the instance's device-types directory first, then
where ``lava.common.device`` finds the ones we ship.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from django.conf import settings

from lava.common.device import (
    DeviceDictionaryError,
    device_type_of,
    load_device,
    render_device,
    template_dirs,
)
from lava.common.private import write_atomic

__all__ = [
    "DeviceDictionaryError",
    "device_dictionary_path",
    "device_type_template",
    "extends",
    "health_check_file",
    "health_check_path",
    "load",
    "read_device_dictionary",
    "read_worker_file",
    "render",
    "search_dirs",
    "worker_file",
    "write_atomic",
    "write_device_dictionary",
]


def root() -> Path:
    return settings.LAVA.dispatcher_config_dir


def search_dirs() -> list[Path]:
    """Template directories, first match wins: the instance's, then the shipped ones."""
    own = settings.LAVA.device_types_dir
    return [own, *(d for d in template_dirs() if d != own)]


def device_dictionary_path(hostname: str) -> Path:
    return settings.LAVA.devices_dir / f"{hostname}.jinja2"


def read_device_dictionary(hostname: str) -> str | None:
    """The dictionary's text, or None when the device has none yet."""
    try:
        return device_dictionary_path(hostname).read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


def write_device_dictionary(hostname: str, text: str) -> Path:
    """Store a dictionary atomically (a reader never sees half a file)."""
    return write_atomic(device_dictionary_path(hostname), text)


def device_type_template(name: str) -> Path | None:
    """The template file a device type renders with, or None when there is none."""
    for directory in search_dirs():
        candidate = directory / f"{name}.jinja2"
        if candidate.is_file():
            return candidate
    return None


def extends(hostname: str) -> str | None:
    """The template a device's dictionary extends (without ``.jinja2``); None if no dictionary."""
    text = read_device_dictionary(hostname)
    if text is None:
        return None
    return device_type_of(text)


def health_check_file(name: str) -> Path:
    """Where the health check of device type (or extended template) ``name`` lives."""
    return settings.LAVA.health_checks_dir / f"{name}.yaml"


def health_check_path(hostname: str) -> Path | None:
    """The health-check job of a device (named after what its dictionary extends), if any."""
    name = extends(hostname)
    if not name:
        return None
    path = health_check_file(name)
    return path if path.is_file() else None


WORKER_FILES = ("dispatcher.yaml", "env.yaml", "env-dut.yaml")


def _workers_dir() -> Path:
    return root().parent / "dispatcher.d"


def worker_file(worker: str, name: str) -> Path:
    """Where a worker's own ``dispatcher.yaml``, ``env.yaml`` or ``env-dut.yaml`` is written."""
    if name not in WORKER_FILES:
        raise ValueError(f"not a worker file: {name!r} (one of {', '.join(WORKER_FILES)})")
    return _workers_dir() / worker / name


def read_worker_file(worker: str, name: str) -> str:
    """A worker's ``dispatcher.yaml``, ``env.yaml`` or ``env-dut.yaml`` as its jobs get it.

    The worker's own file, else the default (``dispatcher.d/WORKER.yaml``,
    ``dispatcher.d/env.yaml``...); empty when there is neither.
    """
    base = _workers_dir()
    default = base / f"{worker}.yaml" if name == "dispatcher.yaml" else base / name
    for path in (worker_file(worker, name), default):
        if path.is_file():
            return path.read_text(encoding="utf-8")
    return ""


def render(
    hostname: str, device_type: str | None = None, context: Mapping[str, Any] | None = None
) -> str:
    """The device configuration (YAML text) the dispatcher reads, for a job's ``context``."""
    path = _dictionary_file(hostname)
    return render_device(
        path, context, hostname=hostname, device_type=device_type, dirs=search_dirs()
    )


def load(
    hostname: str, device_type: str | None = None, context: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """Like ``render``, parsed: the device configuration as a mapping."""
    path = _dictionary_file(hostname)
    return load_device(
        path, context, hostname=hostname, device_type=device_type, dirs=search_dirs()
    )


def _dictionary_file(hostname: str) -> Path:
    path = device_dictionary_path(hostname)
    if not path.is_file():
        raise DeviceDictionaryError(f"device {hostname} has no device dictionary ({path})")
    return path
