"""Render a device dictionary into the device configuration the dispatcher reads.

A dictionary is a Jinja2 file that ``{% extends 'TYPE.jinja2' %}`` and sets
variables. It renders in a sandbox together with the job's ``context`` (so a
job can pick ``arch``, ``memory``, ...) into YAML. Device-type templates are
searched in ``$LAVA_DEVICE_TYPES``, then the admin's ``/etc`` overrides, then
the templates we ship.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from itertools import islice
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes

from lava.common import yamlio
from lava.common.digestcache import DigestCache, digest
from lava.common.jinja import environment
from lava.common.limits import LimitExceeded, limit

ETC_DEVICE_TYPES = Path("/etc/lava-server/dispatcher-config/device-types")
# src/lava/common/device.py -> the checkout's share/device-types
SOURCE_DEVICE_TYPES = Path(__file__).resolve().parents[3] / "share" / "device-types"
SHOWN_LINE = 200  # characters of a rendered line quoted in an error
RENDER_BATCH = 64  # template chunks joined between two checks of the device_size limit


class DeviceDictionaryError(ValueError):
    """A device dictionary cannot be rendered into a device configuration."""


def command_list(value: Any) -> tuple[str, ...]:
    """A command of the rendered `commands` block: LAVA takes one string or a list of
    them (run one after the other); empty entries are no command."""
    if value is None or value == "":
        return ()
    if isinstance(value, (list, tuple)):
        return tuple(str(v) for v in value if v is not None and str(v) != "")
    return (str(value),)


def template_dirs() -> list[Path]:
    """Directories searched for device-type templates, first match wins."""
    dirs = [Path(d) for d in os.environ.get("LAVA_DEVICE_TYPES", "").split(":") if d]
    dirs.append(ETC_DEVICE_TYPES)
    if SOURCE_DEVICE_TYPES.is_dir():
        dirs.append(SOURCE_DEVICE_TYPES)
    dirs.append(Path(sys.prefix) / "share" / "lava" / "device-types")
    return dirs


@functools.lru_cache(maxsize=16)
def _environment(dirs: tuple[str, ...]) -> jinja2.Environment:
    # Kept so templates compile once; Jinja reloads a template whose file changed.
    return environment(dirs)


# (template directories, digest of a dictionary's text) -> the compiled dictionary: compiling
# costs more than rendering, and a scheduler pass renders each dictionary many times
_COMPILED = DigestCache(4096)


def _compiled(dirs: tuple[str, ...], text: str) -> jinja2.Template:
    key = (dirs, digest(text))
    template = _COMPILED.get(key)
    if template is None:
        template = _environment(dirs).from_string(text)
        _COMPILED.put(key, template)
    return template


def _source(dictionary: str | Path) -> tuple[str, Path | None]:
    """The dictionary's text and, when it was given as a file, its path."""
    if isinstance(dictionary, str) and ("\n" in dictionary or "{" in dictionary):
        return dictionary, None
    path = Path(dictionary)
    try:
        return path.read_text(encoding="utf-8"), path
    except OSError as exc:
        raise DeviceDictionaryError(
            f"cannot read device dictionary {path}: {exc.strerror}"
        ) from None


def _where(path: Path | None, exc: jinja2.TemplateSyntaxError) -> str:
    name = exc.filename or exc.name or (str(path) if path else "device dictionary")
    return f"{name}, line {exc.lineno}"


def device_type_of(dictionary: str | Path) -> str | None:
    """The template a dictionary extends, without ``.jinja2`` (LAVA's device type)."""
    return _extends(*_source(dictionary))


def _extends(text: str, path: Path | None) -> str | None:
    try:
        tree = jinja2.Environment().parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise DeviceDictionaryError(f"{_where(path, exc)}: {exc.message}") from None
    extends = tree.find(nodes.Extends)
    if extends is None or not isinstance(extends.template, nodes.Const):
        return None
    return str(extends.template.value).removesuffix(".jinja2")


def _render(
    dictionary: str | Path,
    context: Mapping[str, Any] | None,
    hostname: str | None,
    device_type: str | None,
    dirs: Sequence[Path] | None,
) -> tuple[str, dict[str, Any]]:
    text, path = _source(dictionary)
    search = list(template_dirs() if dirs is None else dirs)
    if path is not None:
        search.insert(0, path.parent)
        if hostname is None:
            hostname = path.name.removesuffix(".jinja2")
    where = str(path) if path else "device dictionary"
    dirs = tuple(str(d) for d in search)
    variables: dict[str, Any] = dict(context or {})
    if hostname is not None:
        variables["scheduled_device_name"] = hostname
    if device_type is None:
        device_type = _extends(text, path)
    if device_type is not None:
        variables["scheduled_device_type"] = device_type
    try:
        rendered = _bounded(_compiled(dirs, text).generate(variables), where)
    except jinja2.TemplateNotFound as exc:
        raise DeviceDictionaryError(
            f"{where}: device-type template {exc.name!r} not found in "
            + ", ".join(str(d) for d in search)
        ) from None
    except jinja2.TemplateSyntaxError as exc:
        raise DeviceDictionaryError(f"{_where(path, exc)}: {exc.message}") from None
    except jinja2.TemplateError as exc:
        raise DeviceDictionaryError(f"{where}: rendering failed: {exc}") from None
    except RecursionError:
        raise DeviceDictionaryError(f"{where}: templates extend each other in a loop") from None
    except LimitExceeded as exc:
        raise DeviceDictionaryError(str(exc)) from None
    except Exception as exc:  # a dictionary is user input: any failure is its error
        raise DeviceDictionaryError(f"{where}: rendering failed: {exc!r}") from None
    try:
        data = yamlio.load(rendered)
    except yamlio.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        detail = problem
        if mark is not None:
            lines = rendered.splitlines()
            text_line = lines[mark.line] if mark.line < len(lines) else ""
            shown = text_line.strip()[:SHOWN_LINE]  # a context value may make a long line
            detail = f"{problem} at line {mark.line + 1} of the output: {shown!r}"
        raise DeviceDictionaryError(
            f"{where}: the rendered device configuration is not valid YAML ({detail}); "
            "quote values containing ': ' or '#' in the dictionary"
        ) from None
    if not isinstance(data, dict):
        raise DeviceDictionaryError(
            f"{where}: the rendered device configuration is not a YAML mapping "
            f"(got {type(data).__name__}); does the dictionary extend a device-type template?"
        )
    return rendered, data


def _bounded(chunks: Iterator[str], where: str) -> str:
    """The rendered text, refused as soon as it grows past ``device_size``: a job's context
    repeated by a template must not cost the server memory."""
    most = limit("device_size")
    size = 0
    parts = []
    # joined a batch at a time (a render is thousands of chunks); a chunk is one
    # template expression's output, so the text never runs far past the limit
    while batch := "".join(islice(chunks, RENDER_BATCH)):
        size += len(batch)
        if size > most:
            raise LimitExceeded(
                "device_size",
                where,
                "the device configuration rendered with this context is too large",
            )
        parts.append(batch)
    return "".join(parts)


def render_device(
    dictionary: str | Path,
    context: Mapping[str, Any] | None = None,
    *,
    hostname: str | None = None,
    device_type: str | None = None,
    dirs: Sequence[Path] | None = None,
) -> str:
    """Render a dictionary (a path, or its text) with a job's ``context`` to YAML text.

    ``hostname`` defaults to the file name, ``device_type`` to the template the
    dictionary extends; ``dirs`` replaces template_dirs().
    """
    return _render(dictionary, context, hostname, device_type, dirs)[0]


def load_device(
    dictionary: str | Path,
    context: Mapping[str, Any] | None = None,
    *,
    hostname: str | None = None,
    device_type: str | None = None,
    dirs: Sequence[Path] | None = None,
) -> dict[str, Any]:
    """Like render_device, parsed: the device configuration as a dict."""
    return _render(dictionary, context, hostname, device_type, dirs)[1]


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m lava.common.device``: print the device configuration of a dictionary."""
    parser = argparse.ArgumentParser(
        prog="python -m lava.common.device",
        description="Render a device dictionary into the device YAML the dispatcher reads.",
    )
    parser.add_argument("dictionary", type=Path, help="device dictionary (.jinja2)")
    parser.add_argument("--job", type=Path, help="job definition whose `context` to apply")
    parser.add_argument("--hostname", help="device name [the dictionary's file name]")
    parser.add_argument("--device-type", help="device type [the template it extends]")
    parser.add_argument(
        "--template-dir",
        type=Path,
        action="append",
        default=[],
        help="search this directory for device-type templates first (repeatable)",
    )
    options = parser.parse_args(argv)
    context: Mapping[str, Any] | None = None
    try:
        if options.job is not None:
            job = yamlio.load(options.job.read_text(encoding="utf-8"))
            if not isinstance(job, dict):
                raise DeviceDictionaryError(f"{options.job}: not a job definition (a mapping)")
            context = job.get("context") or {}
            if not isinstance(context, dict):
                raise DeviceDictionaryError(f"{options.job}: `context` must be a mapping")
        text = render_device(
            options.dictionary,
            context,
            hostname=options.hostname,
            device_type=options.device_type,
            dirs=[*options.template_dir, *template_dirs()],
        )
    except (DeviceDictionaryError, OSError, yamlio.YAMLError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
