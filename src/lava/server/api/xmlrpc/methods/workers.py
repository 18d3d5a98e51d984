"""``scheduler.workers.*``: the lab's workers."""

from __future__ import annotations

import xmlrpc.client
from typing import Any

from ....scheduler import permissions
from ....scheduler.models import Worker
from ....scheduler.states import WorkerHealth, WorkerState
from ..registry import Call, method

Fault = xmlrpc.client.Fault


def find_worker(hostname: Any) -> Worker:
    """The worker, or fault 404."""
    worker = Worker.objects.filter(hostname=str(hostname)).first()
    if worker is None:
        raise Fault(404, f"Worker '{hostname}' was not found.")
    return worker


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
    worker = find_worker(hostname)
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
