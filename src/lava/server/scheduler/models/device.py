from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

from ..states import DeviceHealth, DeviceState
from .devicetype import DeviceType
from .tag import Tag
from .worker import Worker


class Device(models.Model):
    """One board; its configuration is the dictionary file ``devices/HOSTNAME.jinja2``."""

    hostname = models.CharField(primary_key=True, max_length=200)
    device_type = models.ForeignKey(DeviceType, on_delete=models.PROTECT, related_name="devices")
    device_version = models.CharField(max_length=200, blank=True, default="")
    physical_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    physical_group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.SET_NULL)
    description = models.TextField(blank=True, default="")
    tags = models.ManyToManyField(Tag, blank=True, related_name="devices")
    state = models.IntegerField(choices=DeviceState.choices, default=DeviceState.IDLE)
    health = models.IntegerField(choices=DeviceHealth.choices, default=DeviceHealth.MAINTENANCE)
    last_health_report_job = models.OneToOneField(
        "TestJob", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    worker_host = models.ForeignKey(
        Worker, null=True, blank=True, on_delete=models.SET_NULL, related_name="devices"
    )
    is_synced = models.BooleanField(default=False)

    class Meta:
        ordering = ("hostname",)
        indexes = (models.Index(fields=["state", "health"], name="device_state_health"),)

    def __str__(self) -> str:
        return self.hostname
