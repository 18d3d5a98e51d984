"""The scheduler's cached view of the dispatcher-config files.

A pass looks at every idle device: which template its dictionary extends
(and so which health check it has), and whether it renders with a job's
``context``. Reading and rendering a thousand dictionaries each pass would
cost seconds, so results are kept per process and keyed by the files' stat
stamps: an edited dictionary or template is seen at the next pass. Jobs'
definitions and contexts key the caches by digest, and only contexts within
their limit are rendered: what a submitter sends never lives on in memory.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from lava.common import yamlio
from lava.common.device import device_type_of
from lava.common.digestcache import DigestCache, digest
from lava.common.joblimits import check_context, checked_context
from lava.common.limits import LimitExceeded, RefusedValue

from . import dispatcher_config
from .dispatcher_config import DeviceDictionaryError
from .reasons import short

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


class JobContextError(DeviceDictionaryError):
    """A job's definition or ``context`` cannot be used to render a device (says why).

    A DeviceDictionaryError too: whoever renders a job's device reports it the same way.
    """


MISSING = object()
# definition digest -> context digest
_CONTEXTS = DigestCache(16384)
# (device, context digest, files) -> rendering error or None
_RENDERS = DigestCache(8192)
# context digest -> the context, within context_size (so at most 16 MiB for all of them)
_PARSED = DigestCache(1024)
# (device, context digest, files) -> the rendered configuration, for the worker API: a
# render costs ~15 ms and a device runs the same few contexts job after job
_RENDERED = DigestCache(64)
RENDERED_CACHE_MAX = 256 * 1024  # bigger renders are not kept (64 of them: 16 MiB at most)


def context_digest(context: Mapping[str, Any]) -> bytes:
    """The digest of a context within the ``context_size`` limit; JobContextError otherwise."""
    try:
        check_context(context)
        return digest(json.dumps(context, sort_keys=True, default=str))
    except (LimitExceeded, TypeError, ValueError) as exc:
        raise JobContextError(f"the job's context cannot be used: {exc}") from None


EMPTY = context_digest({})


def _render_error(hostname: str, device_type: str, context: Mapping[str, Any]) -> str | None:
    try:
        dispatcher_config.render(hostname, device_type, context)
    except DeviceDictionaryError as exc:
        return short(str(exc))
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


def job_context(definition: str) -> dict[str, Any]:
    """The ``context`` mapping of a job definition ({} when it has none), within its limit.

    Raises JobContextError when the definition does not parse or its context
    is not a mapping or is over the ``context_size`` limit.
    """
    if "context" not in definition:  # the common case, without parsing the YAML
        return {}
    try:
        data = yamlio.load(definition, "the job definition")
    except Exception as exc:  # stored by an older version: any failure is the job's
        raise JobContextError(f"the job definition cannot be read: {short(str(exc))}") from None
    try:
        return checked_context(data.get("context") if isinstance(data, dict) else None)
    except (LimitExceeded, RefusedValue) as exc:
        raise JobContextError(str(exc)) from None


def _context_digest(definition: str) -> tuple[bytes, dict[str, Any] | None]:
    """The digest of a job's context (EMPTY without one), kept per definition, and the
    context itself when this call had to parse it (else None: see `_context`).

    Raises JobContextError when the definition or its context cannot be used.
    """
    if "context" not in definition:  # the common case, without parsing the YAML
        return EMPTY, {}
    known = digest(definition)
    found = _CONTEXTS.get(known)
    if found is not None:
        return found, None
    context = job_context(definition)
    found = context_digest(context) if context else EMPTY
    _CONTEXTS.put(known, found)
    return found, context


def _context(found: bytes, context: dict[str, Any] | None, definition: str) -> dict[str, Any]:
    """The context of digest ``found``: ``context`` when the caller has it, else the one
    kept (a context renders on many devices: parsed once, not once per device)."""
    if context is None:
        context = _PARSED.get(found)
    if context is None:
        context = job_context(definition)
    _PARSED.put(found, context)
    return context


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
        # one digest, not a tuple of every template's stamp to hash at each lookup
        self._templates = digest(repr(_templates_stamp(dispatcher_config.search_dirs())))
        self._dictionaries: dict[str, tuple[Path, Stamp]] = {}
        self._health_checks: dict[str, Path | None] = {}

    def _dictionary(self, hostname: str) -> tuple[Path, Stamp]:
        # asked twice per job and device in a pass: the path and its stamp, once each
        found = self._dictionaries.get(hostname)
        if found is None:
            path = dispatcher_config.device_dictionary_path(hostname)
            found = self._dictionaries[hostname] = (path, _stamp(path))
        return found

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

    def _key(self, hostname: str, device_type: str, context: bytes) -> tuple[Any, ...]:
        _, stamp = self._dictionary(hostname)
        return (hostname, device_type, context, self._root, stamp, self._templates)

    def render_error(
        self, hostname: str, device_type: str, context: Mapping[str, Any] | None = None
    ) -> str | None:
        """Why the device's dictionary does not render with ``context``; None when it does."""
        try:
            key = self._key(hostname, device_type, context_digest(context) if context else EMPTY)
        except JobContextError as exc:
            return str(exc)
        found = _RENDERS.get(key, MISSING)
        if found is MISSING:
            found = _render_error(hostname, device_type, context or {})
            _RENDERS.put(key, found)
        return found

    def job_render_error(self, hostname: str, device_type: str, definition: str) -> str | None:
        """Why the device does not render with a job's context; None when it does.

        Raises JobContextError when the definition or its context cannot be used.
        """
        found, context = _context_digest(definition)
        key = self._key(hostname, device_type, found)
        error = _RENDERS.get(key, MISSING)
        if error is MISSING:
            error = _render_error(hostname, device_type, _context(found, context, definition))
            _RENDERS.put(key, error)
        return error

    def rendered(self, hostname: str, device_type: str, definition: str) -> str:
        """The device configuration rendered with a job's context (the worker's device.yaml).

        Kept while the dictionary and every template are unchanged. Raises
        JobContextError for an unusable context, DeviceDictionaryError as `render`.
        """
        found, context = _context_digest(definition)
        key = self._key(hostname, device_type, found)
        text = _RENDERED.get(key)
        if text is None:
            context = _context(found, context, definition)
            text = dispatcher_config.render(hostname, device_type, context)
            if len(text) <= RENDERED_CACHE_MAX:
                _RENDERED.put(key, text)
        return text
