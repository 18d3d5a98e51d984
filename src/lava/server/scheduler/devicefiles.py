"""The scheduler's cached view of the dispatcher-config files.

A pass looks at every idle device: which template its dictionary extends
(and so which health check it has), and whether it renders with a job's
``context``. Reading and rendering a thousand dictionaries each pass would
cost seconds, so results are kept per process and keyed by the files' stat
stamps: an edited dictionary or template is seen at the next pass.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from lava.common import yamlio
from lava.common.device import device_type_of

from . import dispatcher_config
from .dispatcher_config import DeviceDictionaryError

# (mtime_ns, size, inode) of a file, or None when it does not exist
Stamp = tuple[int, int, int] | None


def _stamp(path: Path) -> Stamp:
    try:
        st = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return None
    return (st.st_mtime_ns, st.st_size, st.st_ino)


def _templates_stamp(dirs: list[Path]) -> tuple[Any, ...]:
    """One stamp for every template a dictionary may extend or include."""
    stamps: list[Any] = []
    for directory in dirs:
        try:
            with os.scandir(directory) as entries:
                for entry in entries:
                    if entry.name.endswith(".jinja2"):
                        st = entry.stat()
                        stamps.append((entry.path, st.st_mtime_ns, st.st_size))
        except (FileNotFoundError, NotADirectoryError):
            continue
    return tuple(sorted(stamps))


@functools.lru_cache(maxsize=8192)
def _extends(path: str, stamp: Stamp) -> str | None:
    del stamp  # part of the cache key only
    return device_type_of(Path(path))


@functools.lru_cache(maxsize=8192)
def _render_error(
    hostname: str,
    device_type: str,
    context_json: str,
    root: str,
    stamp: Stamp,
    templates: tuple[Any, ...],
) -> str | None:
    del root, stamp, templates  # part of the cache key only
    try:
        dispatcher_config.render(hostname, device_type, json.loads(context_json))
    except DeviceDictionaryError as exc:
        return str(exc)
    return None


@functools.lru_cache(maxsize=64)
def _health_check(path: str, stamp: Stamp) -> HealthCheckFile:
    del stamp  # part of the cache key only
    text = Path(path).read_text(encoding="utf-8")
    try:
        data = yamlio.load(text)
    except yamlio.YAMLError as exc:
        raise DeviceDictionaryError(f"health check {path} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise DeviceDictionaryError(f"health check {path} is not a job definition (a mapping)")
    context = data.get("context") or {}
    if not isinstance(context, dict):
        raise DeviceDictionaryError(f"health check {path}: `context` must be a mapping")
    return HealthCheckFile(
        path=Path(path), text=text, job_name=str(data.get("job_name") or ""), context=context
    )


@functools.lru_cache(maxsize=16384)
def job_context(definition: str) -> dict[str, Any]:
    """The ``context`` mapping of a job definition ({} when it has none or it is not a mapping)."""
    if "context" not in definition:  # the common case, without parsing the YAML
        return {}
    try:
        data = yamlio.load(definition)
    except yamlio.YAMLError:
        return {}
    context = data.get("context") if isinstance(data, dict) else None
    return context if isinstance(context, dict) else {}


def context_key(context: dict[str, Any]) -> str:
    """A stable text form of a context, for cache keys."""
    return json.dumps(context, sort_keys=True, default=str)


@dataclass(frozen=True)
class HealthCheckFile:
    """A health-check job definition as read from ``health-checks/NAME.yaml``."""

    path: Path
    text: str
    job_name: str
    context: dict[str, Any]


class DeviceFiles:
    """Dictionaries, templates and health checks as one scheduler pass sees them."""

    def __init__(self) -> None:
        self._root = str(settings.LAVA.dispatcher_config_dir)
        self._templates = _templates_stamp(dispatcher_config.search_dirs())
        self._stamps: dict[str, Stamp] = {}
        self._health_checks: dict[str, Path | None] = {}

    def _dictionary(self, hostname: str) -> tuple[Path, Stamp]:
        path = dispatcher_config.device_dictionary_path(hostname)
        if hostname not in self._stamps:
            self._stamps[hostname] = _stamp(path)
        return path, self._stamps[hostname]

    def extends(self, hostname: str) -> str | None:
        """The template the device's dictionary extends; None without a dictionary.

        Raises DeviceDictionaryError when the dictionary does not parse.
        """
        path, stamp = self._dictionary(hostname)
        if stamp is None:
            return None
        return _extends(str(path), stamp)

    def health_check_path(self, hostname: str) -> Path | None:
        """The device's health-check file, if there is one (may raise DeviceDictionaryError)."""
        name = self.extends(hostname)
        if not name:
            return None
        if name not in self._health_checks:
            path = dispatcher_config.health_check_file(name)
            self._health_checks[name] = path if path.is_file() else None
        return self._health_checks[name]

    def health_check(self, path: Path) -> HealthCheckFile:
        """The parsed health-check file (raises DeviceDictionaryError when it is not a job)."""
        try:
            return _health_check(str(path), _stamp(path))
        except OSError as exc:
            raise DeviceDictionaryError(f"cannot read health check {path}: {exc}") from None

    def render_error(
        self, hostname: str, device_type: str, context: dict[str, Any] | None = None
    ) -> str | None:
        """Why the device's dictionary does not render with ``context``; None when it does."""
        _, stamp = self._dictionary(hostname)
        return _render_error(
            hostname,
            device_type,
            context_key(context or {}),
            self._root,
            stamp,
            self._templates,
        )
