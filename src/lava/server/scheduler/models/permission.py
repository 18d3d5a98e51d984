"""Per-group permissions on device types and devices, as LAVA names them.

A device type (or device) with no ``view`` rows is visible to everyone; with
some, only to members of those groups (and superusers). ``submit`` works the
same way for who may submit jobs to it.
"""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.db import models

from .device import Device
from .devicetype import DeviceType

PERMISSIONS = [("view", "view"), ("submit", "submit"), ("change", "change")]


class GroupDeviceTypePermission(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE)
    devicetype = models.ForeignKey(DeviceType, on_delete=models.CASCADE, related_name="permissions")
    permission = models.CharField(max_length=16, choices=PERMISSIONS)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=["devicetype", "permission", "group"], name="devicetype_permission_uniq"
            ),
        )

    def __str__(self) -> str:
        return f"{self.group} may {self.permission} device type {self.devicetype_id}"


class GroupDevicePermission(models.Model):
    group = models.ForeignKey(Group, on_delete=models.CASCADE)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="permissions")
    permission = models.CharField(max_length=16, choices=PERMISSIONS)

    class Meta:
        constraints = (
            models.UniqueConstraint(
                fields=["device", "permission", "group"], name="device_permission_uniq"
            ),
        )

    def __str__(self) -> str:
        return f"{self.group} may {self.permission} device {self.device_id}"
