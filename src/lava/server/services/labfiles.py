"""The lab's files: device-type templates, health checks, worker files; read and replaced.

Each replacement is checked first and written atomically, so bad input gets
a clear refusal and the file in place stays as it was.
"""

from __future__ import annotations

import jinja2
from django.conf import settings

from lava.common import yamlio

from ..scheduler import dispatcher_config
from . import device_types as type_ops
from .actors import Actor
from .errors import Invalid, Limit, Missing
from .names import get_device_type, get_worker

# the API's names of a worker's files (LAVA's REST ``env``/``config``, XML-RPC's ``env_dut``)
WORKER_FILES = {"config": "dispatcher.yaml", "env": "env.yaml", "env-dut": "env-dut.yaml"}


def _limit(text: str, what: str) -> None:
    limit = settings.LAVA.max_job_size
    if len(text.encode("utf-8", errors="surrogatepass")) > limit:
        raise Limit(f"{what} is over the size limit of {limit} bytes")


def read_template(actor: Actor, name: str) -> str:
    """The Jinja2 template a device type the actor may see renders with (the instance's,
    else the shipped one)."""
    device_type = get_device_type(name, actor=actor)
    path = dispatcher_config.device_type_template(device_type.name)
    if path is None:
        raise Missing(f"Device-type '{device_type.name}' template was not found.")
    return path.read_text(encoding="utf-8")


def replace_template(actor: Actor, name: str, text: str) -> None:
    """Install the instance's own template for the type, once it parses as Jinja2."""
    actor.require("change_devicetype")
    device_type = get_device_type(name, actor=actor)
    _limit(text, "the template")
    try:
        jinja2.Environment().parse(text)
    except jinja2.TemplateSyntaxError as exc:
        raise Invalid(
            f"template of '{device_type.name}', line {exc.lineno}: {exc.message}"
        ) from None
    path = settings.LAVA.device_types_dir / f"{device_type.name}.jinja2"
    dispatcher_config.write_atomic(path, text)


def read_health_check(actor: Actor, name: str) -> str:
    """The health-check job definition of a device type the actor may see."""
    device_type = get_device_type(name, actor=actor)
    path = dispatcher_config.health_check_file(device_type.name)
    if not path.is_file():
        raise Missing(f"Device-type '{device_type.name}' health check was not found.")
    return path.read_text(encoding="utf-8")


def replace_health_check(actor: Actor, name: str, text: str) -> list[str]:
    """Install a health check once it passes the submission checks; the full schema's remarks."""
    return type_ops.update_device_type(actor, name, health_check=text)


def _file_name(kind: str) -> str:
    try:
        return WORKER_FILES[kind]
    except KeyError:
        raise Missing(f"no worker file {kind!r}: one of {', '.join(WORKER_FILES)}") from None


def read_worker_file(hostname: str, kind: str) -> str:
    """The worker's ``config`` (dispatcher.yaml), ``env`` or ``env-dut`` as its jobs get it."""
    worker = get_worker(hostname)
    text = dispatcher_config.read_worker_file(worker.hostname, _file_name(kind))
    if not text:
        raise Missing(f"Worker '{worker.hostname}' does not have a '{_file_name(kind)}' file")
    return text


def replace_worker_file(actor: Actor, hostname: str, kind: str, text: str) -> None:
    """Write the worker's own file (``scheduler.change_worker``), once it is a YAML mapping
    (or empty)."""
    actor.require("change_worker")
    worker = get_worker(hostname)
    name = _file_name(kind)
    _limit(text, name)
    try:
        data = yamlio.load(text)
    except yamlio.YAMLError as exc:
        raise Invalid(f"{name} of worker '{worker.hostname}' is not valid YAML: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise Invalid(f"{name} of worker '{worker.hostname}' must be a mapping of settings")
    dispatcher_config.write_atomic(dispatcher_config.worker_file(worker.hostname, name), text)
