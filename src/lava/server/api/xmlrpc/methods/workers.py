"""``scheduler.workers.*``: every worker method; changes through the services."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from ....scheduler import permissions
from ....scheduler.models import Worker
from ....scheduler.states import WorkerHealth, WorkerState
from ....services import health_history, labfiles
from ....services import workers as worker_services
from ....services.names import choice, get_worker
from ..registry import Call, Text, method, text
from .devices import history_page

Fault = xmlrpc.client.Fault


@method("scheduler.workers.list", ["array", "bool"])
def list_workers(call: Call, show_all: bool = False) -> list[str]:
    """The workers' hostnames (Retired ones only with show_all)."""
    workers = Worker.objects.order_by("hostname")
    if not show_all:
        workers = workers.exclude(health=WorkerHealth.RETIRED)
    return list(workers.values_list("hostname", flat=True))


@method("scheduler.workers.show", ["struct", "str"])
def show(call: Call, hostname: str) -> dict[str, Any]:
    """A worker's details; its token for superusers only."""
    worker = get_worker(str(hostname))
    devices = permissions.visible_devices(call.user).filter(worker_host=worker)
    answer: dict[str, Any] = {
        "hostname": worker.hostname,
        "description": worker.description,
        "state": WorkerState(worker.state).label,
        "health": WorkerHealth(worker.health).label,
        "devices": list(devices.order_by("hostname").values_list("hostname", flat=True)),
        "last_ping": worker.last_ping,
        "job_limit": worker.job_limit,
        "version": worker.version or None,
        "default_config": True,
        "default_env": True,
        "default_env_dut": True,
    }
    if permissions.is_superuser(call.user):
        answer["token"] = worker.token
    return answer


@method("scheduler.workers.history", ["array", "str", "int", "int"])
def history(call: Call, hostname: str, start: int = 0, limit: int = 50) -> list[dict[str, Any]]:
    """The worker's health changes, newest first (at most 100 a call, from ``start``).

    Each is a struct: ``time``, ``old`` and ``new`` health, ``reason``, ``user`` and
    ``message``, LAVA's "Active → Maintenance (reason)". Its devices' changes are in
    ``scheduler.devices.history``.
    """
    changes = health_history.worker_changes(call.actor, str(hostname))
    return history_page(changes, start, limit)


@method("scheduler.workers.add", ["undef", "str", "str", "bool"])
def add_worker(
    call: Call, hostname: str, description: str | None = None, disabled: bool = False
) -> None:
    """Add a worker (Retired when ``disabled``)."""
    worker_services.add_worker(
        call.actor,
        str(hostname),
        description=description or "",
        health=WorkerHealth.RETIRED if disabled else WorkerHealth.ACTIVE,
    )


@method("scheduler.workers.delete", ["undef", "str"])
def delete_worker(call: Call, hostname: str) -> None:
    """Delete a worker that has no devices left."""
    worker_services.delete_worker(call.actor, str(hostname))


@method("scheduler.workers.update", ["undef", "str", "str", "str", "int"])
def update_worker(
    call: Call,
    hostname: str,
    description: str | None = None,
    health: str | None = None,
    job_limit: int | None = None,
) -> None:
    """Change a worker's description, health (ACTIVE, MAINTENANCE, RETIRED) or job limit."""
    worker_services.update_worker(
        call.actor,
        str(hostname),
        description=description,
        health=None if health in (None, "") else choice(WorkerHealth, health, "health"),
        job_limit=None if job_limit is None else int(job_limit),
    )


def _replace(call: Call, hostname: str, kind: str, content: Text) -> bool:
    labfiles.replace_worker_file(call.actor, str(hostname), kind, text(content))
    return True


@method("scheduler.workers.get_config", ["str", "str"])
def get_config(call: Call, hostname: str) -> str:
    """The worker's dispatcher.yaml."""
    return labfiles.read_worker_file(str(hostname), "config")


@method("scheduler.workers.set_config", ["bool", "str", "str"])
def set_config(call: Call, hostname: str, config: Text) -> bool:
    """Replace the worker's dispatcher.yaml (a YAML mapping)."""
    return _replace(call, hostname, "config", config)


@method("scheduler.workers.get_env", ["str", "str"])
def get_env(call: Call, hostname: str) -> str:
    """The worker's env.yaml."""
    return labfiles.read_worker_file(str(hostname), "env")


@method("scheduler.workers.set_env", ["bool", "str", "str"])
def set_env(call: Call, hostname: str, env: Text) -> bool:
    """Replace the worker's env.yaml (a YAML mapping)."""
    return _replace(call, hostname, "env", env)


@method("scheduler.workers.get_env_dut", ["str", "str"])
def get_env_dut(call: Call, hostname: str) -> str:
    """The worker's env-dut.yaml."""
    return labfiles.read_worker_file(str(hostname), "env-dut")


@method("scheduler.workers.set_env_dut", ["bool", "str", "str"])
def set_env_dut(call: Call, hostname: str, env: Text) -> bool:
    """Replace the worker's env-dut.yaml (a YAML mapping)."""
    return _replace(call, hostname, "env-dut", env)
