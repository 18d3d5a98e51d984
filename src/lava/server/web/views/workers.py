"""Workers (/scheduler/allworkers, worker/<hostname>) and their health.

Workers are public, as in LAVA; the devices a worker page lists are only
those the user may see.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Count
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.views.decorators.http import require_GET, require_POST

from lava.server.scheduler import permissions
from lava.server.scheduler.models import Worker
from lava.server.scheduler.states import WorkerHealth
from lava.server.services import Missing
from lava.server.services import workers as worker_ops

from ..access import actor
from . import labreads
from .healthform import health_and_reason

CHANGE_WORKER = "scheduler.change_worker"
LARGEST = 1000  # workers on the list page


def _worker(hostname: str) -> Worker:
    labreads.plain_name("worker", hostname)
    found = Worker.objects.filter(hostname=hostname).first()
    if found is None:
        raise Missing(f"worker {hostname!r} does not exist")
    return found


@require_GET
def all_workers(request: HttpRequest) -> HttpResponse:
    """Every worker with its number of devices the user may see."""
    visible = permissions.visible_devices(request.user)
    counts = dict(
        visible.values("worker_host").annotate(n=Count("pk")).values_list("worker_host", "n")
    )
    workers = list(Worker.objects.order_by("hostname")[:LARGEST])
    for worker in workers:
        worker.device_count = counts.get(worker.hostname, 0)
    return render(request, "web/workers/workers.html", {"workers": workers})


@require_GET
def worker(request: HttpRequest, hostname: str) -> HttpResponse:
    """A worker: state, health, last ping, version, job limit, its devices and health history."""
    found = _worker(hostname)
    devices = permissions.visible_devices(request.user).filter(worker_host=found)
    rows, next_key = labreads.device_rows(devices)
    changes = labreads.history("worker", [found.hostname], limit=labreads.RECENT)
    context = {
        "worker": found,
        "rows": rows,
        "more_devices": bool(next_key),
        "changes": changes,
        "reason": changes[0].reason if changes else "",
        "can_change": request.user.is_authenticated and request.user.has_perm(CHANGE_WORKER),
        "healths": WorkerHealth.choices,
    }
    return render(request, "web/workers/worker.html", context)


@require_POST
def worker_health(request: HttpRequest, hostname: str) -> HttpResponse:
    """POST ``health`` and ``reason``: the change is signed "(by NAME over web)"."""
    who = actor(request)
    found = _worker(hostname)
    who.require("change_worker")  # refused before the form is read
    health, reason = health_and_reason(request, WorkerHealth)
    worker_ops.update_worker(who, found.hostname, health=health, reason=reason or "web page")
    messages.success(request, f"{found.hostname}: health set to {WorkerHealth(health).label}.")
    return HttpResponseRedirect(reverse("web:worker", args=[found.hostname]))


urlpatterns: list[URLPattern] = [
    path("scheduler/allworkers", all_workers, name="allworkers"),
    path("scheduler/worker/<str:hostname>", worker, name="worker"),
    path("scheduler/worker/<str:hostname>/health", worker_health, name="worker_health"),
]
