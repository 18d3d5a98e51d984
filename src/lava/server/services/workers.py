"""Workers: add, change (health through the transition tables), delete."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Count

from ..scheduler import transitions
from ..scheduler.models import Worker
from ..scheduler.models.worker import new_worker_token
from ..scheduler.states import WorkerHealth, WorkerState
from .actors import Actor
from .errors import Conflict, Invalid
from .names import check_health, check_length, check_name, get_worker


def add_worker(
    actor: Actor,
    hostname: str,
    *,
    description: str = "",
    health: int = WorkerHealth.ACTIVE,
    job_limit: int = 0,
) -> Worker:
    """Create a worker (Offline until it pings); its token is what it authenticates with."""
    actor.require("add_worker")
    check_name("worker", hostname)
    check_health(WorkerHealth, health)
    check_length(Worker, "description", description)
    if Worker.objects.filter(hostname=hostname).exists():
        raise Conflict(f"worker {hostname!r} already exists")
    return Worker.objects.create(
        hostname=hostname, description=description, health=health, job_limit=job_limit
    )


def update_worker(
    actor: Actor,
    hostname: str,
    *,
    description: str | None = None,
    health: int | None = None,
    job_limit: int | None = None,
    new_token: bool = False,
    reason: str | None = None,
) -> Worker:
    """Change what is given; ``new_token`` replaces the token (the old one stops working).

    A health change is logged with ``reason``, signed by the actor.
    """
    actor.require("change_worker")
    if health is not None:
        check_health(WorkerHealth, health)
    if description is not None:
        check_length(Worker, "description", description)
    if job_limit is not None and job_limit < 0:
        raise Invalid(f"job_limit must be 0 (no limit) or more, not {job_limit}")
    with transaction.atomic():
        worker = get_worker(hostname, lock=True)
        if health is not None:
            transitions.set_worker_health(worker, health, actor.signed(reason or "workers update"))
        if description is not None:
            worker.description = description
        if job_limit is not None:
            worker.job_limit = job_limit
        if new_token:
            worker.token = new_worker_token()
        worker.save()
    return worker


def delete_worker(actor: Actor, hostname: str) -> None:
    """Delete a worker that has no devices left (``scheduler.delete_worker``)."""
    actor.require("delete_worker")
    with transaction.atomic():
        worker = get_worker(hostname, lock=True)
        if worker.devices.exists():
            raise Conflict(f"worker {hostname!r} still has devices: move or delete them first")
        worker.delete()


def worker_rows(show_all: bool = False) -> list[dict[str, Any]]:
    """``workers list``: Retired workers only with ``show_all``; Retired devices counted."""
    workers = Worker.objects.annotate(count=Count("devices")).order_by("hostname")
    if not show_all:
        workers = workers.exclude(health=WorkerHealth.RETIRED)
    return [
        {
            "hostname": w.hostname,
            "state": WorkerState(w.state).label,
            "health": WorkerHealth(w.health).label,
            "devices": w.count,
            "job_limit": w.job_limit,
            "last_ping": w.last_ping.isoformat(timespec="seconds") if w.last_ping else None,
            "description": w.description,
        }
        for w in workers
    ]


def worker_details(hostname: str, with_devices: bool = False) -> dict[str, Any]:
    """``workers details``: LAVA's fields, the device list with ``with_devices``."""
    worker = get_worker(hostname)
    devices = worker.devices.order_by("hostname")
    return {
        "hostname": worker.hostname,
        "state": WorkerState(worker.state).label,
        "health": WorkerHealth(worker.health).label,
        "description": worker.description,
        "job_limit": worker.job_limit,
        "last_ping": worker.last_ping.isoformat(timespec="seconds") if worker.last_ping else None,
        "version": worker.version,
        "token": worker.token,
        "devices": [d.hostname for d in devices] if with_devices else devices.count(),
    }
