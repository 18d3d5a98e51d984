"""The lab's admin methods lavacli calls: add and update devices, device types, workers, tags.

Each checks the caller's Django permission (superusers hold them all) and
calls the same admin service as ``lava-server manage``; a refusal is a 400
fault and writes nothing.
"""

from __future__ import annotations

import xmlrpc.client
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ....scheduler.admin_ops import device_types as type_ops
from ....scheduler.admin_ops import devices as device_ops
from ....scheduler.admin_ops import tags as tag_ops
from ....scheduler.admin_ops import workers as worker_ops
from ....scheduler.models import Tag
from ....scheduler.states import DeviceHealth, DeviceState, HealthDenominator, WorkerHealth
from ... import labfiles
from ..registry import Call, Text, method, refusals
from .device_types import visible_device_type
from .devices import visible_device
from .workers import find_worker

Fault = xmlrpc.client.Fault


def _health(enum: Any, name: Any) -> int | None:
    if name in (None, ""):
        return None
    found = {label.upper(): value for value, label in enum.choices}.get(str(name).upper())
    if found is None:
        raise Fault(400, f"Invalid health '{name}'")
    return found


def _text(value: Any) -> str:
    return value.data.decode("utf-8") if hasattr(value, "data") else str(value)


@method("scheduler.devices.add", ["undef", "str", "str", "str", "str", "str", "bool", "str", "str"])
def add_device(
    call: Call,
    hostname: str,
    type_name: str,
    worker_hostname: str,
    user_name: str | None = None,
    group_name: str | None = None,
    public: bool = True,
    health: str | None = None,
    description: str | None = None,
) -> None:
    """Add a device of that type on that worker (Good health, or ``health``)."""
    call.need_perm("add_device")
    with refusals():
        device_ops.add_device(
            str(hostname),
            device_type=str(type_name),
            worker=str(worker_hostname),
            description=description or "",
            physical_user=user_name or None,
            physical_group=group_name or None,
            health=_health(DeviceHealth, health),
        )


@method(
    "scheduler.devices.update",
    ["undef", "str", "str", "str", "str", "bool", "str", "str", "str", "str"],
)
def update_device(
    call: Call,
    hostname: str,
    worker_hostname: str | None = None,
    user_name: str | None = None,
    group_name: str | None = None,
    public: bool = True,
    health: str | None = None,
    description: str | None = None,
    device_type: str | None = None,
    reason: str | None = None,
) -> None:
    """Change a device's worker, health (e.g. MAINTENANCE), description or owners."""
    user = call.need_perm("change_device")
    visible_device(call, hostname)
    if device_type:
        raise Fault(400, "Changing a device's type is not supported: add a new device")
    with refusals():
        device_ops.update_device(
            str(hostname),
            health=_health(DeviceHealth, health),
            worker=worker_hostname or None,
            description=description,
            physical_user=user_name or None,
            physical_group=group_name or None,
            reason=f"{reason or 'devices update'} (by {user.get_username()} over XML-RPC)",
        )


@method("scheduler.devices.delete", ["undef", "str"])
def delete_device(call: Call, hostname: str) -> None:
    """Delete an Idle device (its dictionary file stays, as a record)."""
    call.need_perm("delete_device")
    device = visible_device(call, hostname)
    if device.state != DeviceState.IDLE:
        raise Fault(
            400, f"Device '{hostname}' is {DeviceState(device.state).label}: wait or fail its job"
        )
    device.delete()


@method("scheduler.devices.tags.add", ["undef", "str", "str"])
def add_device_tag(call: Call, hostname: str, name: str) -> None:
    """Tag a device (the tag is created when new)."""
    call.need_perm("change_device")
    visible_device(call, hostname)
    with refusals():
        if not Tag.objects.filter(name=str(name)).exists():
            tag_ops.create_tag(str(name))
        tag_ops.tag_device(str(hostname), [str(name)])


@method("scheduler.devices.tags.delete", ["undef", "str", "str"])
def delete_device_tag(call: Call, hostname: str, name: str) -> None:
    """Take a tag off a device."""
    call.need_perm("change_device")
    visible_device(call, hostname)
    with refusals():
        tag_ops.tag_device(str(hostname), [str(name)], remove=True)


@method("scheduler.device_types.add", ["undef", "str", "str", "bool", "bool", "int", "str"])
def add_device_type(
    call: Call,
    name: str,
    description: str | None = None,
    display: bool = True,
    owners_only: bool = False,
    health_frequency: int = 24,
    health_denominator: str = "hours",
) -> None:
    """Add a device type; upload its template next (device_types.set_template)."""
    call.need_perm("add_devicetype")
    with refusals():
        type_ops.add_device_type(
            str(name),
            health_frequency=int(health_frequency),
            health_denominator=_denominator(health_denominator),
            display=bool(display),
            require_template=False,
            description=_text(description or ""),
        )


def _denominator(value: Any) -> int:
    try:
        return {"hours": HealthDenominator.HOURS, "jobs": HealthDenominator.JOBS}[
            str(value).lower()
        ]
    except KeyError:
        raise Fault(400, f"Invalid health_denominator '{value}': hours or jobs") from None


@method(
    "scheduler.device_types.update",
    ["undef", "str", "str", "bool", "bool", "int", "str", "bool"],
)
def update_device_type(
    call: Call,
    name: str,
    description: str | None = None,
    display: bool | None = None,
    owners_only: bool | None = None,
    health_frequency: int | None = None,
    health_denominator: str | None = None,
    health_disabled: bool | None = None,
) -> None:
    """Change a device type's description, display, health-check frequency or whether
    checks run."""
    call.need_perm("change_devicetype")
    visible_device_type(call, name)
    with refusals():
        type_ops.update_device_type(
            str(name),
            health_frequency=None if health_frequency is None else int(health_frequency),
            health_denominator=None
            if health_denominator is None
            else _denominator(health_denominator),
            display=display,
            disable_health_check=health_disabled,
            description=None if description is None else _text(description),
        )


@contextmanager
def _files() -> Iterator[None]:
    """A missing file is fault 404, refused content fault 400."""
    try:
        yield
    except labfiles.Missing as exc:
        raise Fault(404, str(exc)) from None
    except labfiles.Refused as exc:
        raise Fault(400, str(exc)) from None


@method("scheduler.device_types.get_template", ["str", "str"])
def get_template(call: Call, name: str) -> str:
    """The device type's Jinja2 template."""
    with _files():
        return labfiles.read_template(visible_device_type(call, name))


@method("scheduler.device_types.set_template", ["undef", "str", "str"])
def set_template(call: Call, name: str, template: Text) -> None:
    """Replace the device type's template (in the instance's dispatcher-config)."""
    call.need_perm("change_devicetype")
    with _files():
        labfiles.replace_template(visible_device_type(call, name), _text(template))


@method("scheduler.device_types.get_health_check", ["str", "str"])
def get_health_check(call: Call, name: str) -> str:
    """The device type's health-check job definition."""
    with _files():
        return labfiles.read_health_check(visible_device_type(call, name))


@method("scheduler.device_types.set_health_check", ["undef", "str", "str"])
def set_health_check(call: Call, name: str, config: Text) -> None:
    """Replace the health check, once it passes the submission checks."""
    call.need_perm("change_devicetype")
    with _files():
        # the full schema's remarks are kept with the job when it runs
        labfiles.replace_health_check(visible_device_type(call, name), _text(config))


@method("scheduler.workers.add", ["undef", "str", "str", "bool"])
def add_worker(
    call: Call, hostname: str, description: str | None = None, disabled: bool = False
) -> None:
    """Add a worker (Retired when ``disabled``)."""
    call.need_perm("add_worker")
    health = WorkerHealth.RETIRED if disabled else WorkerHealth.ACTIVE
    with refusals():
        worker_ops.add_worker(str(hostname), description=description or "", health=health)


@method("scheduler.workers.delete", ["undef", "str"])
def delete_worker(call: Call, hostname: str) -> None:
    """Delete a worker that has no devices left."""
    call.need_perm("delete_worker")
    worker = find_worker(hostname)
    if worker.devices.exists():
        raise Fault(400, f"Worker '{hostname}' still has devices: move or delete them first")
    worker.delete()


@method("scheduler.workers.update", ["undef", "str", "str", "str", "int"])
def update_worker(
    call: Call,
    hostname: str,
    description: str | None = None,
    health: str | None = None,
    job_limit: int | None = None,
) -> None:
    """Change a worker's description, health (ACTIVE, MAINTENANCE, RETIRED) or job limit."""
    user = call.need_perm("change_worker")
    with refusals():
        worker_ops.update_worker(
            str(hostname),
            description=description,
            health=_health(WorkerHealth, health),
            job_limit=None if job_limit is None else int(job_limit),
            reason=f"workers update (by {user.get_username()} over XML-RPC)",
        )


def _worker_get(hostname: str, kind: str) -> str:
    with _files():
        return labfiles.read_worker_file(find_worker(hostname), kind)


def _worker_set(call: Call, hostname: str, kind: str, text: Any) -> bool:
    call.need_perm("change_worker")
    with _files():
        labfiles.replace_worker_file(find_worker(hostname), kind, _text(text))
    return True


@method("scheduler.workers.get_config", ["str", "str"])
def get_config(call: Call, hostname: str) -> str:
    """The worker's dispatcher.yaml."""
    return _worker_get(hostname, "config")


@method("scheduler.workers.set_config", ["bool", "str", "str"])
def set_config(call: Call, hostname: str, config: Text) -> bool:
    """Replace the worker's dispatcher.yaml (a YAML mapping)."""
    return _worker_set(call, hostname, "config", config)


@method("scheduler.workers.get_env", ["str", "str"])
def get_env(call: Call, hostname: str) -> str:
    """The worker's env.yaml."""
    return _worker_get(hostname, "env")


@method("scheduler.workers.set_env", ["bool", "str", "str"])
def set_env(call: Call, hostname: str, env: Text) -> bool:
    """Replace the worker's env.yaml (a YAML mapping)."""
    return _worker_set(call, hostname, "env", env)


@method("scheduler.workers.get_env_dut", ["str", "str"])
def get_env_dut(call: Call, hostname: str) -> str:
    """The worker's env-dut.yaml."""
    return _worker_get(hostname, "env-dut")


@method("scheduler.workers.set_env_dut", ["bool", "str", "str"])
def set_env_dut(call: Call, hostname: str, env: Text) -> bool:
    """Replace the worker's env-dut.yaml (a YAML mapping)."""
    return _worker_set(call, hostname, "env-dut", env)


@method("scheduler.tags.add", ["undef", "str", "str"])
def add_tag(call: Call, name: str, description: str | None = None) -> None:
    """Create a tag."""
    call.need_perm("add_tag")
    with refusals():
        tag_ops.create_tag(str(name), description or "")


@method("scheduler.tags.delete", ["undef", "str"])
def delete_tag(call: Call, name: str) -> None:
    """Delete a tag (devices and jobs lose it)."""
    call.need_perm("delete_tag")
    deleted, _ = Tag.objects.filter(name=str(name)).delete()
    if not deleted:
        raise Fault(404, f"Tag '{name}' was not found.")


@method("scheduler.aliases.add", ["undef", "str", "str"])
def add_alias(call: Call, name: str, device_type_name: str) -> None:
    """Give a device type another name that jobs may use."""
    call.need_perm("add_alias")
    visible_device_type(call, device_type_name)
    with refusals():
        type_ops.add_alias(str(name), str(device_type_name))


@method("scheduler.aliases.delete", ["undef", "str"])
def delete_alias(call: Call, name: str) -> None:
    """Remove an alias."""
    call.need_perm("delete_alias")
    with refusals():
        type_ops.remove_alias(str(name))


@method("scheduler.device_types.aliases.list", ["array", "str"])
def list_type_aliases(call: Call, name: str) -> list[str]:
    """The other names jobs may use for a device type."""
    return sorted(visible_device_type(call, name).aliases.values_list("name", flat=True))


@method("scheduler.device_types.aliases.add", ["undef", "str", "str"])
def add_type_alias(call: Call, name: str, alias: str) -> None:
    """Give a device type another name that jobs may use (scheduler.aliases.add)."""
    add_alias(call, alias, name)


@method("scheduler.device_types.aliases.delete", ["undef", "str", "str"])
def delete_type_alias(call: Call, name: str, alias: str) -> None:
    """Take an alias off a device type (one of another type is not found)."""
    call.need_perm("delete_alias")
    if not visible_device_type(call, name).aliases.filter(name=str(alias)).exists():
        raise Fault(404, f"Alias '{alias}' of device-type '{name}' was not found.")
    delete_alias(call, alias)
