from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from .job import TestJob


class HealthChange(models.Model):
    """One change of a device's or a worker's health, with its signed reason.

    LAVA keeps these as Django admin log entries; here they have a table of
    their own, so a device's health history is one indexed read at any size.
    ``reason`` carries who asked: "a new cable (by alice over web)".
    """

    DEVICE = "device"
    WORKER = "worker"
    KINDS = ((DEVICE, "device"), (WORKER, "worker"))

    kind = models.CharField(max_length=8, choices=KINDS)
    name = models.CharField(max_length=200)  # the device's or worker's hostname
    time = models.DateTimeField(default=timezone.now)
    old = models.CharField(max_length=16)  # health labels: "Good", "Maintenance", ...
    new = models.CharField(max_length=16)
    reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ("-time", "-id")
        indexes = (models.Index(fields=["kind", "name", "-time"], name="healthchange_object"),)

    def __str__(self) -> str:
        return f"{self.kind} {self.name}: {self.old} -> {self.new} ({self.reason})"

    @property
    def message(self) -> str:
        """LAVA's change message: "Good → Bad (health check 12 incomplete)"."""
        change = f"{self.old} \N{RIGHTWARDS ARROW} {self.new}"
        return f"{change} ({self.reason})" if self.reason else change


class FavoriteJob(models.Model):
    """A job a user marked as a favourite (``/scheduler/favorite-jobs``)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="favorite_jobs"
    )
    job = models.ForeignKey(TestJob, on_delete=models.CASCADE, related_name="favorites")

    class Meta:
        constraints = (models.UniqueConstraint(fields=["user", "job"], name="favoritejob_once"),)

    def __str__(self) -> str:
        return f"job {self.job_id}, a favourite of {self.user}"
