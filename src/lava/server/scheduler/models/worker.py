from __future__ import annotations

import secrets

from django.db import models

from ..states import WorkerHealth, WorkerState


def new_worker_token() -> str:
    return secrets.token_hex(16)


class Worker(models.Model):
    """A host that runs the dispatcher for the devices wired to it."""

    hostname = models.CharField(primary_key=True, max_length=200)
    description = models.TextField(blank=True, default="")
    state = models.IntegerField(choices=WorkerState.choices, default=WorkerState.OFFLINE)
    health = models.IntegerField(choices=WorkerHealth.choices, default=WorkerHealth.ACTIVE)
    last_ping = models.DateTimeField(null=True, blank=True)
    job_limit = models.PositiveIntegerField(default=0)  # 0: as many as it has devices
    version = models.CharField(max_length=50, blank=True, default="")
    token = models.CharField(max_length=32, default=new_worker_token)

    class Meta:
        ordering = ("hostname",)

    def __str__(self) -> str:
        return self.hostname
