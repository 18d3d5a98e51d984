"""A device's or a worker's health history: each change, from what, to what, why and by whom.

Read by the APIs and the pages alike, newest first. A device's history is
for whoever may see the device (a hidden one is Missing, as one that does
not exist); a worker's for everyone, as workers are. A change nobody signed
is the lab's own (a health check's result, an unusable configuration) and
is LAVA's ``lava-health``'s, as in LAVA's admin log.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from ..scheduler.healthcheck import HEALTH_USER
from ..scheduler.models import HealthChange
from .actors import Actor, signer
from .names import get_device, get_worker


def device_changes(actor: Actor, hostname: str) -> QuerySet[HealthChange]:
    """The device's health changes, newest first; Missing when the actor may not see it."""
    device = get_device(hostname, actor=actor)
    return _changes(HealthChange.DEVICE, device.hostname)


def worker_changes(actor: Actor, hostname: str) -> QuerySet[HealthChange]:
    """The worker's own health changes (Active, Maintenance, Retired), newest first."""
    worker = get_worker(hostname)
    return _changes(HealthChange.WORKER, worker.hostname)


def _changes(kind: str, name: str) -> QuerySet[HealthChange]:
    # the (kind, name, -time) index serves this order
    return HealthChange.objects.filter(kind=kind, name=name).order_by("-time", "-id")


def as_row(change: HealthChange) -> dict[str, Any]:
    """One change as the APIs give it; ``message`` is LAVA's "Good → Bad (reason)"."""
    return {
        "time": change.time,
        "old": change.old,
        "new": change.new,
        "reason": change.reason,
        "message": change.message,
        "user": signer(change.reason) or HEALTH_USER,
    }
